package registry

import (
	"context"
	"io"
	"sync"
	"time"
)

// Copies yield to pushes.
//
// On a small machine the copy workers of the pushing process compete with
// the push for CPU (sha256 of every byte, twice) and disk. The front door
// counts the blob uploads it is serving (POST, PATCH and PUT under
// /v2/<name>/blobs/uploads/); while any is in flight, every copy of this
// process reads through one shared budget of Options.YieldBandwidth bytes
// per second (the copies of all workers together), and as soon as the
// last upload ends the copies go on at full speed: a copy waiting for its
// budget is woken (after a short linger, Options.YieldLinger, default
// 250 ms, so the gaps between the requests of one push and between
// back-to-back pushes do not count as idle). The budget is a rate, not a pause, so a
// registry that is pushed to without a break still replicates (slowly)
// and the queue is never starved. Uploads served by other processes do
// not count: they do not compete for this machine.

// defaultYieldBandwidth is the copies' budget while an upload is in flight.
const defaultYieldBandwidth = 4 << 20

// defaultYieldLinger is how long copies go on yielding after the last
// upload ended.
const defaultYieldLinger = 250 * time.Millisecond

// yieldChunk is how much a yielding copy reads at a time.
const yieldChunk = 64 << 10

// pushGate is the count of blob uploads in flight and the shared budget of
// the copies while there are any.
type pushGate struct {
	rate   int64         // bytes per second while uploads are in flight; <= 0: never yield
	linger time.Duration // how long copies go on yielding after the last upload ended

	mu      sync.Mutex
	active  int
	gen     int           // counts the ends of the last upload, so a stale linger timer does nothing
	yieldOn bool          // uploads in flight, or the linger after the last one is running
	idle    chan struct{} // closed when the copies stop yielding
	next    time.Time     // when the budget allows the next chunk
	yielded int64         // chunks that waited for the budget
	bytes   int64         // bytes read while yielding
}

func newPushGate(rate int64, linger time.Duration) *pushGate {
	g := &pushGate{rate: rate, linger: linger, idle: make(chan struct{})}
	close(g.idle)
	return g
}

// begin counts an upload in; the returned func counts it out.
func (g *pushGate) begin() func() {
	g.mu.Lock()
	if !g.yieldOn {
		g.yieldOn = true
		g.idle = make(chan struct{})
		g.next = time.Time{}
	}
	g.active++
	g.gen++
	g.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			g.mu.Lock()
			defer g.mu.Unlock()
			g.active--
			if g.active > 0 {
				return
			}
			if g.linger <= 0 {
				g.stopYielding()
				return
			}
			gen := g.gen
			time.AfterFunc(g.linger, func() {
				g.mu.Lock()
				defer g.mu.Unlock()
				if g.active == 0 && g.gen == gen {
					g.stopYielding()
				}
			})
		})
	}
}

// stopYielding wakes the waiting copies; g.mu is held.
func (g *pushGate) stopYielding() {
	if g.yieldOn {
		g.yieldOn = false
		close(g.idle)
	}
}

// YieldState is what the gate shows: uploads in flight now, and how much
// of the copies' reading waited for the budget so far.
type YieldState struct {
	Uploads       int   `json:"uploads_in_flight"`
	Yielding      bool  `json:"yielding"` // uploads in flight, or the short linger after the last one
	YieldedChunks int64 `json:"yielded_chunks"`
	YieldedBytes  int64 `json:"yielded_bytes"`
}

func (g *pushGate) state() YieldState {
	g.mu.Lock()
	defer g.mu.Unlock()
	return YieldState{Uploads: g.active, Yielding: g.yieldOn, YieldedChunks: g.yielded, YieldedBytes: g.bytes}
}

// wait takes n bytes from the budget when uploads are in flight, waiting
// until the budget allows them or the last upload ends.
func (g *pushGate) wait(ctx context.Context, n int) error {
	if g.rate <= 0 {
		return nil
	}
	g.mu.Lock()
	if !g.yieldOn {
		g.mu.Unlock()
		return nil
	}
	now := time.Now()
	start := g.next
	if start.Before(now) {
		start = now
	}
	due := start.Add(time.Duration(float64(n) / float64(g.rate) * float64(time.Second)))
	g.next = due
	g.yielded++
	g.bytes += int64(n)
	idle := g.idle
	g.mu.Unlock()
	d := time.Until(due)
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-idle:
	case <-t.C:
	}
	return nil
}

// yielding reads in chunks, each taken from the gate's budget.
type yielding struct {
	ctx context.Context
	g   *pushGate
	rd  io.Reader
}

func (y *yielding) Read(p []byte) (int, error) {
	if len(p) > yieldChunk {
		p = p[:yieldChunk]
	}
	n, err := y.rd.Read(p)
	if n > 0 {
		if werr := y.g.wait(y.ctx, n); werr != nil {
			return n, werr
		}
	}
	return n, err
}

// yield makes a copy's reads yield to uploads in flight.
func (r *Replicator) yield(ctx context.Context, rd io.Reader) io.Reader {
	if r.gate == nil || r.gate.rate <= 0 {
		return rd
	}
	return &yielding{ctx: ctx, g: r.gate, rd: rd}
}

// UploadBegin tells the replicator that the front door serves a blob
// upload; call the returned func when it ends.
func (r *Replicator) UploadBegin() func() { return r.gate.begin() }

// Yield reports the uploads in flight and how much the copies yielded.
func (r *Replicator) Yield() YieldState { return r.gate.state() }
