package registry

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
)

// waitFor polls cond until it holds; the deadline only bounds a test
// that would otherwise hang, it asserts nothing about speed.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("still waiting after a minute for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// While the front door serves a blob upload, the copies of the process
// wait for the yield budget (1 byte/s here, so a copy cannot get past its
// first chunk); when the upload has ended (and the linger after it) they
// are woken and finish without waiting for the budget again.
func TestReplicationYieldsToUploads(t *testing.T) {
	ctx := context.Background()
	htpasswd := htpasswdLine(t, "alice", "alice-pw") + "\n"
	dir := t.TempDir()
	storage := "DISTRIBUTED_STORAGE_CONFIG:\n" +
		"  a: [LocalStorage, {storage_path: " + filepath.Join(dir, "a") + "}]\n" +
		"  b: [LocalStorage, {storage_path: " + filepath.Join(dir, "b") + "}]\n" +
		"DISTRIBUTED_STORAGE_PREFERENCE: [a, b]\nDISTRIBUTED_STORAGE_DEFAULT_LOCATIONS: [a, b]\n" +
		"FEATURE_STORAGE_REPLICATION: true\nDB_URI: " + queueDB(t) + "\n"
	tr := startRegistry(t, regSetup{config: "SUPER_USERS: [alice]\n", storage: storage,
		files: map[string][]byte{HtpasswdFile: []byte(htpasswd)}, env: Env{StoragePreference: "a b"},
		replication: ReplicationOptions{Workers: 2, Poll: 50 * time.Millisecond, YieldBandwidth: 1}})
	r := tr.srv.repl
	g := tr.srv.driver.(*geoDriver)
	bLoc, _ := g.location("b")
	if st := r.Yield(); st.Uploads != 0 || st.Yielding || st.YieldedChunks != 0 {
		t.Fatalf("before any upload: %+v", st)
	}

	// an upload stays in flight while its PATCH body is open
	hc := &http.Client{Timeout: time.Minute}
	req := func(method, url string, body io.Reader) *http.Response {
		t.Helper()
		rq, err := http.NewRequest(method, url, body)
		if err != nil {
			t.Fatal(err)
		}
		rq.SetBasicAuth("alice", "alice-pw")
		rq.Header.Set("Content-Type", "application/octet-stream")
		res, err := hc.Do(rq)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	res := req(http.MethodPost, tr.base+"/v2/alice/app/blobs/uploads/", nil)
	_ = res.Body.Close()
	if res.StatusCode != http.StatusAccepted {
		t.Fatalf("POST upload: %s", res.Status)
	}
	loc := res.Header.Get("Location")
	if loc[0] == '/' {
		loc = tr.base + loc
	}
	pr, pw := io.Pipe()
	patched := make(chan *http.Response, 1)
	go func() { patched <- req(http.MethodPatch, loc, pr) }()
	if _, err := pw.Write(make([]byte, 1<<10)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the upload to be counted", func() bool { st := r.Yield(); return st.Uploads == 1 && st.Yielding })

	// a blob committed meanwhile is queued, claimed and held at the budget
	data := make([]byte, 256<<10)
	_, _ = rand.Read(data)
	dg := digest.FromBytes(data)
	p := blobKey("", dg.String())
	if err := g.PutContent(ctx, p, data); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the copy to yield", func() bool { return r.Yield().YieldedChunks > 0 })
	if st, err := r.Stats(ctx); err != nil || st.Done != 0 || st.InFlight != 1 {
		t.Fatalf("while yielding: %+v %v; want the copy in flight, not done", st, err)
	}
	if _, err := bLoc.Stat(ctx, p); !isNotFound(err) {
		t.Fatalf("the blob reached b while its copy was held: %v", err)
	}

	// the upload ends: the copy is woken and never waits for the budget again
	_ = pw.Close()
	res = <-patched
	_ = res.Body.Close()
	if res.StatusCode != http.StatusAccepted {
		t.Fatalf("PATCH upload: %s", res.Status)
	}
	waitFor(t, "the upload to end, and the linger after it", func() bool { st := r.Yield(); return st.Uploads == 0 && !st.Yielding })
	atEnd := r.Yield()
	waitFor(t, "the copy", func() bool {
		st, err := r.Stats(ctx)
		return err == nil && st.Done == 1 && st.Queued == 0 && st.InFlight == 0
	})
	if err := verifyDigest(ctx, bLoc, p, dg); err != nil {
		t.Fatalf("copy in b: %v", err)
	}
	if after := r.Yield(); after.YieldedChunks != atEnd.YieldedChunks || after.YieldedBytes >= int64(len(data)) {
		t.Errorf("yielded %+v after the upload ended (%+v at its end); want no more, and less than the blob", after, atEnd)
	}
	// the gauge and the counter are on /metrics
	mres := req(http.MethodGet, tr.base+"/metrics", nil)
	body, _ := io.ReadAll(mres.Body)
	_ = mres.Body.Close()
	for _, want := range []string{"config_editor_registry_replication_uploads_in_flight 0", "config_editor_registry_replication_yielded_bytes_total "} {
		if !bytes.Contains(body, []byte(want)) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

// Without uploads in flight a copy never waits for the yield budget.
func TestReplicationNoUploadNoYield(t *testing.T) {
	ctx := context.Background()
	r, g := testReplicator(t, ReplicationOptions{YieldBandwidth: 1})
	if err := g.PutContent(ctx, testBlobPath, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	if n, err := r.RunOnce(ctx); err != nil || n != 1 {
		t.Fatalf("RunOnce: %d %v", n, err)
	}
	if st := r.Yield(); st.YieldedChunks != 0 {
		t.Errorf("yielded without an upload: %+v", st)
	}
	if state, _, _ := queueRow(t, r, opCopy, testBlobPath); state != "done" {
		t.Errorf("row %s", state)
	}
}
