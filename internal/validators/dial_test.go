package validators

import (
	"context"
	"testing"
	"time"

	"github.com/quay-tools/config-editor/internal/testenv"
)

// A driver's own deadline (go-smtp sets five minutes per command, pgx
// clears it to zero) does not hold a connection past the probe's deadline,
// and cannot undo the interruption once the probe's context is done.
func TestBoundConnDeadlinesStayWithinTheProbe(t *testing.T) {
	addr := testenv.Blackhole(t)
	read := func(t *testing.T, ctx context.Context, set func(c interface{ SetDeadline(time.Time) error })) error {
		t.Helper()
		conn, err := dialerFor(ctx)(ctx, "tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		set(conn)
		done := make(chan error, 1)
		go func() {
			_, err := conn.Read(make([]byte, 1))
			done <- err
		}()
		select {
		case err := <-done:
			return err
		case <-time.After(time.Minute): // a liveness guard, not a timing
			t.Fatal("the read outlived the probe's deadline by a minute")
			return nil
		}
	}
	t.Run("a later deadline ends at the probe's", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		err := read(t, ctx, func(c interface{ SetDeadline(time.Time) error }) { _ = c.SetDeadline(time.Now().Add(time.Hour)) })
		if !isTimeout(err) {
			t.Fatalf("want a timeout, got %v", err)
		}
	})
	t.Run("no deadline is the probe's", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		err := read(t, ctx, func(c interface{ SetDeadline(time.Time) error }) { _ = c.SetDeadline(time.Time{}) })
		if !isTimeout(err) {
			t.Fatalf("want a timeout, got %v", err)
		}
	})
	t.Run("after cancellation every deadline is past", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
		err := read(t, ctx, func(c interface{ SetDeadline(time.Time) error }) {
			cancel()
			time.Sleep(10 * time.Millisecond) // let the interruption land first
			_ = c.SetDeadline(time.Now().Add(time.Hour))
		})
		if !isTimeout(err) {
			t.Fatalf("want a timeout, got %v", err)
		}
	})
}
