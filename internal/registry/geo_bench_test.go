package registry

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/quay-tools/config-editor/internal/benchenv"
)

// Geo-replication figures: two LocalStorage locations on this machine's
// disk (a preferred, both default), the queue in the test PostgreSQL, the
// registry's own replication workers (2) copying in the background.
//
//   - replicated: how long after a 100 MB image's push returns until its
//     blobs are in location b (the queue has nothing queued or in flight);
//   - push: push throughput with replication on next to the same two
//     locations with replication off, in blocks of three back-to-back
//     pushes each (so copies run under the next pushes, as in a busy
//     region); after a block, untimed, the queue is drained and the
//     writes are synced to disk; the blocks' order is balanced. ratio
//     is on/off throughput. queue-only is replication on in a process
//     without workers (--replication-workers 0: the copies run in other
//     processes), the cost of queueing alone. no-yield is replication on
//     with copies that never yield to uploads (--replication-yield-bandwidth
//     -1, the behaviour before copies yielded), for comparison in the same
//     run.

// geoBenchRegistry: replication off, or on with workers (-1: none, the
// process only queues) and a yield budget (0: the default).
func geoBenchRegistry(b *testing.B, replication bool, workers int, yield int64, htpasswd string) *testRegistry {
	dir := b.TempDir()
	storage := "DISTRIBUTED_STORAGE_CONFIG:\n" +
		"  a: [LocalStorage, {storage_path: " + filepath.Join(dir, "a") + "}]\n" +
		"  b: [LocalStorage, {storage_path: " + filepath.Join(dir, "b") + "}]\n" +
		"DISTRIBUTED_STORAGE_PREFERENCE: [a, b]\nDISTRIBUTED_STORAGE_DEFAULT_LOCATIONS: [a, b]\n"
	if replication {
		storage += "FEATURE_STORAGE_REPLICATION: true\nDB_URI: " + queueDB(b) + "\n"
	}
	return startRegistry(b, regSetup{config: "SUPER_USERS: [bench]\n", storage: storage,
		files: map[string][]byte{HtpasswdFile: []byte(htpasswd)}, env: Env{StoragePreference: "a b"}, replication: ReplicationOptions{Workers: workers, YieldBandwidth: yield}})
}

// drained waits until the queue has nothing queued or in flight.
func drained(b *testing.B, r *Replicator) {
	deadline := time.Now().Add(5 * time.Minute)
	for {
		st, err := r.Stats(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		if st.Failed > 0 {
			b.Fatalf("replication failed: %+v", st)
		}
		if st.Queued == 0 && st.InFlight == 0 {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("queue not drained after 5m: %+v", st)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func BenchmarkGeoReplication100MB(b *testing.B) {
	htpasswd := htpasswdLine(b, "bench", "bench-pw") + "\n"
	on := geoBenchRegistry(b, true, 0, 0, htpasswd)
	off := geoBenchRegistry(b, false, 0, 0, htpasswd)
	queueOnly := geoBenchRegistry(b, true, -1, 0, htpasswd)
	noYield := geoBenchRegistry(b, true, 0, -1, htpasswd)
	if on.srv.repl == nil || off.srv.repl != nil || queueOnly.srv.repl == nil || queueOnly.srv.repl.opts.Workers != 0 ||
		on.srv.repl.opts.YieldBandwidth != defaultYieldBandwidth || noYield.srv.repl == nil || noYield.srv.repl.opts.YieldBandwidth >= 0 {
		b.Fatal("replication is not on, off, queue-only and on without yielding in the four registries")
	}
	client := func(tr *testRegistry) *benchClient {
		return &benchClient{base: tr.base, user: "bench", pass: "bench-pw", hc: &http.Client{Timeout: 5 * time.Minute}}
	}
	clients := [4]*benchClient{client(on), client(off), client(queueOnly), client(noYield)}
	repls := [4]*Replicator{on.srv.repl, nil, nil, noYield.srv.repl}
	layer := make([]byte, benchLayerSize)
	_, _ = rand.Read(layer)
	config := []byte(`{"architecture":"amd64","os":"linux"}`)
	fmt.Printf("BenchmarkGeoReplication100MB: load average %s, %d cores (GOMAXPROCS %d)\n", benchenv.LoadAverage(), runtime.NumCPU(), runtime.GOMAXPROCS(0))
	seq := 0
	next := func() string {
		seq++
		copy(layer, fmt.Sprintf("%016d", seq)) // a new blob each time
		return digestOf(layer)
	}
	bLoc, _ := on.srv.driver.(*geoDriver).location("b")

	b.Run("replicated", func(b *testing.B) {
		var spent time.Duration
		for i := 0; i < b.N; i++ {
			dg := next()
			if err := clients[0].pushImage("bench/geo", fmt.Sprint(seq), config, layer, dg); err != nil {
				b.Fatal(err)
			}
			start := time.Now()
			drained(b, on.srv.repl)
			spent += time.Since(start)
			if err := verifyDigest(context.Background(), bLoc, blobKey("", dg), digest.Digest(dg)); err != nil {
				b.Fatalf("layer in b: %v", err)
			}
		}
		b.ReportMetric(spent.Seconds()/float64(b.N), "s-to-replicated")
		b.ReportMetric(float64(b.N)*benchLayerSize/(1<<20)/spent.Seconds(), "replicated-MiB/s")
	})

	b.Run("push", func(b *testing.B) {
		const block = 3
		var spent [4]time.Duration
		yieldedBefore := on.srv.repl.Yield().YieldedBytes
		enqBefore := on.srv.repl.enqueueNanos.Load() + queueOnly.srv.repl.enqueueNanos.Load()
		// a Williams square: over four iterations each registry comes
		// first once and follows each other registry once, so what a
		// block leaves behind (a drained queue's writes) does not always
		// land on the same registry's block
		order := [4][4]int{{0, 1, 3, 2}, {1, 2, 0, 3}, {2, 3, 1, 0}, {3, 0, 2, 1}}
		for i := 0; i < b.N; i++ {
			for k := 0; k < 4; k++ {
				which := order[i%4][k]
				for j := 0; j < block; j++ {
					dg := next()
					start := time.Now()
					if err := clients[which].pushImage("bench/geopush", fmt.Sprint(seq), config, layer, dg); err != nil {
						b.Fatal(err)
					}
					spent[which] += time.Since(start)
				}
				if repls[which] != nil {
					drained(b, repls[which])
				}
				// untimed: the block's writes reach the disk before the
				// next block starts
				syscall.Sync()
			}
		}
		mbps := func(d time.Duration) float64 { return float64(b.N*block) * benchLayerSize / (1 << 20) / d.Seconds() }
		b.ReportMetric(mbps(spent[0]), "on-MiB/s")
		b.ReportMetric(mbps(spent[1]), "off-MiB/s")
		b.ReportMetric(mbps(spent[2]), "queue-only-MiB/s")
		b.ReportMetric(spent[1].Seconds()/spent[0].Seconds(), "ratio")
		b.ReportMetric(spent[1].Seconds()/spent[2].Seconds(), "queue-only-ratio")
		b.ReportMetric(mbps(spent[3]), "no-yield-MiB/s")
		b.ReportMetric(spent[1].Seconds()/spent[3].Seconds(), "no-yield-ratio")
		// how much of the "on" copies' reading waited for the yield budget
		b.ReportMetric(float64(on.srv.repl.Yield().YieldedBytes-yieldedBefore)/(1<<20)/float64(b.N*block), "on-yielded-MiB/push")
		// how long the "on" and queue-only pushes waited for the queue
		enq := time.Duration(on.srv.repl.enqueueNanos.Load() + queueOnly.srv.repl.enqueueNanos.Load() - enqBefore)
		b.ReportMetric(enq.Seconds()*1000/float64(2*b.N*block), "queueing-ms/push")
	})
}
