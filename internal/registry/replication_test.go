package registry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"

	storagedriver "github.com/distribution/distribution/v3/registry/storage/driver"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/opencontainers/go-digest"

	"github.com/quay-tools/config-editor/internal/registry/azuredriver"
	"github.com/quay-tools/config-editor/internal/registry/fsdriver"
	"github.com/quay-tools/config-editor/internal/testenv"
)

// queueDB is a fresh database on the test PostgreSQL.
func queueDB(t testing.TB) string {
	t.Helper()
	pg := testenv.Postgres(t)
	name := fmt.Sprintf("repl_%d_%d", time.Now().UnixNano()%1e9, testSeq.Add(1))
	pg.CreateDB(t, name)
	return pg.URI(name)
}

// openQueueURI opens a queue on a connection string (the tests' own
// databases; the runtime builds its connection from the bundle).
func openQueueURI(ctx context.Context, uri string) (*pgxpool.Pool, error) {
	cc, err := pgx.ParseConfig(uri)
	if err != nil {
		return nil, err
	}
	return openQueue(ctx, cc)
}

func testReplicator(t *testing.T, opts ReplicationOptions) (*Replicator, *geoDriver) {
	t.Helper()
	g, _, _ := geoFS(t)
	pool, err := openQueueURI(context.Background(), queueDB(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	st := StorageConfig{DefaultLocations: []string{"a", "b"}, Replication: true,
		Locations: []Location{{Name: "a", Driver: DriverFilesystem}, {Name: "b", Driver: DriverFilesystem}}}
	return newReplicator(pool, g, st, opts, slog.New(slog.NewTextHandler(testLog(t), nil))), g
}

func queueRow(t *testing.T, r *Replicator, op, path string) (state string, attempts int, notBeforeIn time.Duration) {
	t.Helper()
	var secs float64
	err := r.pool.QueryRow(context.Background(), `SELECT state, attempts, EXTRACT(EPOCH FROM not_before - now())::float8 FROM `+queueTable+
		` WHERE op = $1 AND path = $2 ORDER BY id DESC LIMIT 1`, op, path).Scan(&state, &attempts, &secs)
	if err != nil {
		t.Fatalf("queue row %s %s: %v", op, path, err)
	}
	return state, attempts, time.Duration(secs * float64(time.Second))
}

func TestReplicationQueue(t *testing.T) {
	ctx := context.Background()
	r, g := testReplicator(t, ReplicationOptions{Lease: 2 * time.Second, Backoff: time.Minute})
	a, b := g.locs[0].d, g.locs[1].d

	// a new blob is queued for the other default location, and copied
	if err := g.PutContent(ctx, testBlobPath, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	if st, _ := r.Stats(ctx); st.Queued != 1 {
		t.Fatalf("stats after a push: %+v, want 1 queued", st)
	}
	if n, err := r.RunOnce(ctx); err != nil || n != 1 {
		t.Fatalf("RunOnce: %d %v", n, err)
	}
	if got, err := b.GetContent(ctx, testBlobPath); err != nil || string(got) != "hello" {
		t.Fatalf("copy in b: %q %v", got, err)
	}
	if state, attempts, _ := queueRow(t, r, opCopy, testBlobPath); state != "done" || attempts != 1 {
		t.Errorf("row: %s after %d attempts", state, attempts)
	}

	// a corrupt copy already at the target is replaced, and checked
	world := blobsPrefix + "sha256/48/486ea46224d1bb4fb680f34f7c9ad96a8f24ec88be73ea8e5a6c65260e9cb8a7/data"
	if err := b.PutContent(ctx, world, []byte("w0rld")); err != nil {
		t.Fatal(err)
	}
	if err := g.PutContent(ctx, world, []byte("world")); err != nil {
		t.Fatal(err)
	}
	if _, err := r.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if got, _ := b.GetContent(ctx, world); string(got) != "world" {
		t.Errorf("corrupt target not replaced: %q", got)
	}

	// a source with the wrong bytes: retried later with backoff, never done
	bad := blobsPrefix + "sha256/aa/" + fmt.Sprintf("%064x", 1) + "/data"
	if err := a.PutContent(ctx, bad, []byte("not that digest")); err != nil {
		t.Fatal(err)
	}
	if err := r.EnqueueCopy(ctx, bad, "a", []string{"b"}); err != nil {
		t.Fatal(err)
	}
	_, _ = r.RunOnce(ctx)
	state, attempts, wait := queueRow(t, r, opCopy, bad)
	if state != "queued" || attempts != 1 || wait < 50*time.Second {
		t.Errorf("failed copy: %s, %d attempts, retried in %v; want queued, 1, ~1m", state, attempts, wait)
	}
	if _, err := b.Stat(ctx, bad); !isNotFound(err) {
		t.Errorf("a copy with the wrong digest was left in b: %v", err)
	}
	// the second failure waits twice as long
	_, _ = r.pool.Exec(ctx, `UPDATE `+queueTable+` SET not_before = now() WHERE path = $1`, bad)
	_, _ = r.RunOnce(ctx)
	if _, attempts, wait := queueRow(t, r, opCopy, bad); attempts != 2 || wait < 110*time.Second {
		t.Errorf("second failure: %d attempts, retried in %v; want 2, ~2m", attempts, wait)
	}

	// a delete reaches the other location through the queue
	if err := g.Delete(ctx, testBlobPath); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Stat(ctx, testBlobPath); err != nil {
		t.Fatalf("b lost the blob before the queue ran: %v", err)
	}
	_, _ = r.RunOnce(ctx)
	if _, err := b.Stat(ctx, testBlobPath); !isNotFound(err) {
		t.Errorf("blob still in b after the queued delete: %v", err)
	}
	st, err := r.Stats(ctx)
	if err != nil || st.Done != 3 || st.Queued != 1 {
		t.Errorf("stats: %+v %v; want 3 done, 1 queued", st, err)
	}
}

// A claim whose worker died (no renewal, no outcome) is taken again only
// after its lease ran out; the claims never overlap.
func TestReplicationLease(t *testing.T) {
	ctx := context.Background()
	r, g := testReplicator(t, ReplicationOptions{Lease: 1500 * time.Millisecond})
	if err := g.PutContent(ctx, testBlobPath, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	dead, err := r.claim(ctx)
	if err != nil || dead == nil {
		t.Fatalf("claim: %v %v", dead, err)
	}
	if again, err := r.claim(ctx); err != nil || again != nil {
		t.Fatalf("claimed twice at once: %+v %v", again, err)
	}
	deadline := time.Now().Add(10 * time.Second)
	var next *queueItem
	for next == nil && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
		if next, err = r.claim(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if next == nil || next.id != dead.id || next.attempts != 2 {
		t.Fatalf("reclaim after the lease: %+v", next)
	}
	// the dead claim cannot settle the row any more
	if err := r.settle(ctx, dead, nil); err != nil {
		t.Fatal(err)
	}
	if state, _, _ := queueRow(t, r, opCopy, testBlobPath); state != "queued" {
		t.Errorf("a lost claim settled the row: %s", state)
	}
	r.process(ctx, next)
	if state, _, _ := queueRow(t, r, opCopy, testBlobPath); state != "done" {
		t.Errorf("after the second claim: %s", state)
	}
	if n := overlappingClaims(t, r); n != 0 {
		t.Errorf("%d overlapping claims", n)
	}
}

// overlappingClaims counts pairs of claims of one item whose lease windows
// overlap.
func overlappingClaims(t testing.TB, r *Replicator) int {
	t.Helper()
	var n int
	err := r.pool.QueryRow(context.Background(), `SELECT count(*) FROM `+claimsTable+` x JOIN `+claimsTable+` y
		ON x.item_id = y.item_id AND x.token < y.token
		AND x.claimed_at < COALESCE(y.released_at, y.lease_until) AND y.claimed_at < COALESCE(x.released_at, x.lease_until)`).Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestThrottle(t *testing.T) {
	r := &Replicator{opts: ReplicationOptions{Bandwidth: 1 << 20}}
	start := time.Now()
	n, err := io.Copy(io.Discard, r.throttle(context.Background(), io.LimitReader(zeroReader{}, 300<<10)))
	if err != nil || n != 300<<10 {
		t.Fatal(n, err)
	}
	if took := time.Since(start); took < 250*time.Millisecond {
		t.Errorf("300 KiB at 1 MiB/s took %v", took)
	}
	_ = digest.Canonical
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// Done rows older than the retention are pruned with their claims; the
// done count /metrics shows goes on from the totals table, so it never
// goes down. Queued and failed rows stay.
func TestReplicationPrune(t *testing.T) {
	ctx := context.Background()
	r, g := testReplicator(t, ReplicationOptions{Retention: time.Hour, Backoff: time.Hour})
	blob := func(s string) string {
		dg := digest.FromString(s)
		p := blobKey("", dg.String())
		if err := g.PutContent(ctx, p, []byte(s)); err != nil {
			t.Fatal(err)
		}
		return p
	}
	rows := func() (n int) {
		if err := r.pool.QueryRow(ctx, `SELECT count(*) FROM `+queueTable).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	claims := func(p string) (n int) {
		if err := r.pool.QueryRow(ctx, `SELECT count(*) FROM `+claimsTable+` c JOIN `+queueTable+` q ON q.id = c.item_id WHERE q.path = $1`, p).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	allClaims := func() (n int) {
		if err := r.pool.QueryRow(ctx, `SELECT count(*) FROM `+claimsTable).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	age := func(p string) {
		if _, err := r.pool.Exec(ctx, `UPDATE `+queueTable+` SET done_at = now() - interval '2 hours' WHERE path = $1 AND state = 'done'`, p); err != nil {
			t.Fatal(err)
		}
	}
	p1, p2 := blob("one"), blob("two")
	// a source with the wrong bytes stays queued (backoff) and is never pruned
	bad := blobsPrefix + "sha256/aa/" + fmt.Sprintf("%064x", 7) + "/data"
	if err := g.locs[0].d.PutContent(ctx, bad, []byte("not that digest")); err != nil {
		t.Fatal(err)
	}
	if err := r.EnqueueCopy(ctx, bad, "a", []string{"b"}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if st, _ := r.Stats(ctx); st.Done != 2 || st.Queued != 1 {
		t.Fatalf("stats: %+v; want 2 done, 1 queued", st)
	}
	if n, err := r.Prune(ctx); err != nil || n != 0 {
		t.Fatalf("prune of fresh rows: %d %v", n, err)
	}
	age(p1)
	if n, err := r.Prune(ctx); err != nil || n != 1 {
		t.Fatalf("prune: %d %v; want 1", n, err)
	}
	if n := rows(); n != 2 {
		t.Errorf("%d rows after pruning one of 3", n)
	}
	if c1, c2 := claims(p1), claims(p2); c1 != 0 || c2 != 1 {
		t.Errorf("claims after pruning: %d of the pruned row, %d of the kept one", c1, c2)
	}
	if n := allClaims(); n != 2 { // p2's and the bad source's
		t.Errorf("%d claims left, want 2", n)
	}
	if st, _ := r.Stats(ctx); st.Done != 2 || st.Queued != 1 {
		t.Errorf("stats after pruning: %+v; want still 2 done, 1 queued", st)
	}
	// more work, more pruning: the total goes on
	p3 := blob("three")
	if _, err := r.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	age(p2)
	age(p3)
	if n, err := r.Prune(ctx); err != nil || n != 2 {
		t.Fatalf("second prune: %d %v; want 2", n, err)
	}
	if st, _ := r.Stats(ctx); st.Done != 3 || st.Queued != 1 {
		t.Errorf("stats after the second prune: %+v; want 3 done, 1 queued", st)
	}
	if n := rows(); n != 1 {
		t.Errorf("%d rows left, want the queued one", n)
	}
	if state, _, _ := queueRow(t, r, opCopy, bad); state != "queued" {
		t.Errorf("the queued row: %s", state)
	}
	// no retention: nothing is pruned
	r.opts.Retention = -1
	if n, err := r.Prune(ctx); err != nil || n != 0 {
		t.Errorf("prune without retention: %d %v", n, err)
	}
}

// Run prunes when it starts (and every pruneInterval after).
func TestReplicationRunPrunes(t *testing.T) {
	ctx := context.Background()
	r, g := testReplicator(t, ReplicationOptions{Retention: time.Hour, Workers: 1})
	if err := g.PutContent(ctx, testBlobPath, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	if _, err := r.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := r.pool.Exec(ctx, `UPDATE `+queueTable+` SET done_at = now() - interval '2 hours'`); err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { r.Run(rctx); close(done) }()
	defer func() { cancel(); <-done }()
	waitFor(t, "the done row to be pruned", func() bool {
		var n int
		_ = r.pool.QueryRow(ctx, `SELECT count(*) FROM `+queueTable).Scan(&n)
		return n == 0
	})
	if st, err := r.Stats(ctx); err != nil || st.Done != 1 {
		t.Errorf("stats after Run pruned: %+v %v; want 1 done", st, err)
	}
}

// onEOFDriver runs atEOF when a reader it opened reaches the end of the
// source, that is after a copy has read every byte and before it commits.
type onEOFDriver struct {
	storagedriver.StorageDriver
	atEOF func()
}

func (d *onEOFDriver) Reader(ctx context.Context, p string, offset int64) (io.ReadCloser, error) {
	rc, err := d.StorageDriver.Reader(ctx, p, offset)
	if err != nil {
		return nil, err
	}
	return &onEOFReader{ReadCloser: rc, atEOF: d.atEOF}, nil
}

type onEOFReader struct {
	io.ReadCloser
	atEOF func()
	done  bool
}

func (r *onEOFReader) Read(p []byte) (int, error) {
	n, err := r.ReadCloser.Read(p)
	if errors.Is(err, io.EOF) && !r.done {
		r.done = true
		r.atEOF()
	}
	return n, err
}

// Azure streams are append blobs, visible at their path as they are
// written, so a copy to an Azure location is written to a side path and
// moved into place: while the copy is under way, the blob's path on
// Azurite holds nothing (not an empty or partial blob).
func TestReplicationToAzureUsesASidePath(t *testing.T) {
	ctx := context.Background()
	az := testenv.Azurite(t)
	container := fmt.Sprintf("repl-%d", testSeq.Add(1))
	res, err := az.Request(http.MethodPut, "/"+container+"?restype=container", nil, az.Key)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("create container: %s", res.Status)
	}
	b, err := azuredriver.New(azuredriver.Config{
		AccountName: az.Account, AccountKey: az.Key, Container: container, ServiceURL: az.BlobURL, RootDirectory: "registry",
	})
	if err != nil {
		t.Fatal(err)
	}
	a, err := fsdriver.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var midCopy []error // Stat of the blob's path in b when the source was read
	src := &onEOFDriver{StorageDriver: a, atEOF: func() {
		_, err := b.Stat(ctx, testBlobPath)
		midCopy = append(midCopy, err)
	}}
	g := newGeoDriver([]geoLocation{{"a", src}, {"b", b}})
	pool, err := openQueueURI(ctx, queueDB(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	st := StorageConfig{DefaultLocations: []string{"a", "b"}, Replication: true,
		Locations: []Location{{Name: "a", Driver: DriverFilesystem}, {Name: "b", Driver: DriverAzure}}}
	r := newReplicator(pool, g, st, ReplicationOptions{}, slog.New(slog.NewTextHandler(testLog(t), nil)))

	if err := a.PutContent(ctx, testBlobPath, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	if err := r.EnqueueCopy(ctx, testBlobPath, "a", []string{"b"}); err != nil {
		t.Fatal(err)
	}
	if n, err := r.RunOnce(ctx); err != nil || n != 1 {
		t.Fatalf("RunOnce: %d %v", n, err)
	}
	if state, _, _ := queueRow(t, r, opCopy, testBlobPath); state != "done" {
		t.Fatalf("row: %s", state)
	}
	if len(midCopy) != 1 {
		t.Fatalf("the source was read to its end %d times, want 1", len(midCopy))
	}
	if !isNotFound(midCopy[0]) {
		t.Errorf("while the copy was written, the blob's path in Azure said %v; want not found (the copy went straight to the path)", midCopy[0])
	}
	if got, err := b.GetContent(ctx, testBlobPath); err != nil || string(got) != "hello" {
		t.Errorf("copy in b: %q %v", got, err)
	}
	if _, err := b.List(ctx, "/config-editor/replication"); !isNotFound(err) {
		t.Errorf("side path left behind: %v", err)
	}
}
