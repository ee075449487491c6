package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/quay-tools/config-editor/internal/testenv"
)

// Geo-replication against the built binary: two S3 locations (buckets on
// the test versitygw), the replication queue in a fresh PostgreSQL
// database, a shared Redis.

var geoSeq atomic.Int64

const (
	geoQueueTable  = "config_editor_replication_queue"
	geoClaimsTable = "config_editor_replication_claims"
)

// geoEnv is one two-location deployment: its bundle, buckets and queue.
type geoEnv struct {
	dir    string // the bundle
	s3     *testenv.S3Server
	prefix string // storage_path in both buckets
	db     *pgxpool.Pool
}

func geoBucket(t *testing.T, s3 *testenv.S3Server, bucket string) {
	t.Helper()
	res, err := s3.Request(http.MethodPut, "/"+bucket, nil, s3.SecretKey)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK && res.StatusCode != http.StatusConflict {
		t.Fatalf("create bucket %s: %s", bucket, res.Status)
	}
}

// geoStorageYAML is the storage part of a bundle with locations a and b
// (buckets geo-a and geo-b under prefix), both default, replication on,
// and its own DB_URI.
func geoStorageYAML(s3 *testenv.S3Server, prefix, dbURI string) string {
	loc := func(name, bucket string) string {
		return fmt.Sprintf("  %s: [S3Storage, {s3_bucket: %s, storage_path: %s, s3_access_key: %s, s3_secret_key: %s, s3_region: %s, endpoint_url: %s}]\n",
			name, bucket, prefix, s3.AccessKey, s3.SecretKey, s3.Region, s3.URL())
	}
	return "DISTRIBUTED_STORAGE_CONFIG:\n" + loc("a", "geo-a") + loc("b", "geo-b") +
		"DISTRIBUTED_STORAGE_PREFERENCE: [a, b]\nDISTRIBUTED_STORAGE_DEFAULT_LOCATIONS: [a, b]\nFEATURE_STORAGE_REPLICATION: true\n" +
		"DB_URI: " + dbURI + "\n"
}

// freshQueueDB creates a database for one test's queue (with pg_trgm, as
// the start-up gate wants of Quay's database).
func freshQueueDB(t *testing.T) (uri string, pool *pgxpool.Pool) {
	t.Helper()
	pg := testenv.Postgres(t)
	name := fmt.Sprintf("geo_%d_%d", time.Now().UnixNano()%1e9, geoSeq.Add(1))
	pg.CreateDB(t, name, "pg_trgm")
	uri = pg.URI(name)
	pool, err := pgxpool.New(context.Background(), uri)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return uri, pool
}

func newGeoEnv(t *testing.T) *geoEnv {
	t.Helper()
	s3 := testenv.S3(t)
	geoBucket(t, s3, "geo-a")
	geoBucket(t, s3, "geo-b")
	rd := testenv.Redis(t)
	uri, pool := freshQueueDB(t)
	e := &geoEnv{s3: s3, prefix: fmt.Sprintf("/cmdgeo%d_%d", time.Now().UnixNano()%1e9, geoSeq.Add(1)), db: pool}
	dir := registryBundle(t, t.TempDir(), fmt.Sprintf("BUILDLOGS_REDIS: {host: 127.0.0.1, port: %d, password: %s, db: %d}\n", rd.Port, rd.Password, 10+geoSeq.Add(1)%4))
	cfg, err := os.ReadFile(filepath.Join(dir, "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(cfg)
	i := strings.Index(text, "DISTRIBUTED_STORAGE_CONFIG:")
	j := strings.Index(text, "DISTRIBUTED_STORAGE_PREFERENCE: [local]\n")
	text = text[:i] + geoStorageYAML(s3, e.prefix, uri) + text[j+len("DISTRIBUTED_STORAGE_PREFERENCE: [local]\n"):]
	if err := os.WriteFile(filepath.Join(dir, "config.yaml"), []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	e.dir = dir
	return e
}

// start runs `registry` preferring the given location ("a" or "b").
func (e *geoEnv) start(t *testing.T, bin, prefer string, flags ...string) *registryProc {
	t.Helper()
	other := map[string]string{"a": "b", "b": "a"}[prefer]
	return startRegistryProc(t, bin, e.dir, []string{"IGNORE_VALIDATION=true", "QUAY_DISTRIBUTED_STORAGE_PREFERENCE=" + prefer + " " + other}, true, flags...)
}

// object reads a blob's data from a bucket: its status and bytes.
func (e *geoEnv) object(t *testing.T, bucket, dgst string) (int, []byte) {
	t.Helper()
	key := e.prefix + "/docker/registry/v2/blobs/sha256/" + dgst[7:9] + "/" + dgst[7:] + "/data"
	res, err := e.s3.Request(http.MethodGet, "/"+bucket+key, nil, e.s3.SecretKey)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b
}

// copyRow is the state of the copy of a digest to b: state, attempts, and
// whether a claim holds it now.
func (e *geoEnv) copyRow(t *testing.T, dgst string) (state string, attempts int, held bool) {
	t.Helper()
	err := e.db.QueryRow(context.Background(), `SELECT state, attempts, COALESCE(lease_until >= now(), false) FROM `+geoQueueTable+
		` WHERE op = 'copy' AND digest = $1 AND target = 'b' ORDER BY id DESC LIMIT 1`, dgst).Scan(&state, &attempts, &held)
	if err != nil {
		t.Fatalf("queue row of %s: %v", dgst, err)
	}
	return state, attempts, held
}

// waitDone waits until every queued item is done; it fails on a failed one.
func (e *geoEnv) waitDone(t *testing.T, within time.Duration, procs ...*registryProc) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		var queued, failed int
		err := e.db.QueryRow(context.Background(), `SELECT count(*) FILTER (WHERE state = 'queued'), count(*) FILTER (WHERE state = 'failed') FROM `+geoQueueTable).Scan(&queued, &failed)
		if err != nil {
			t.Fatal(err)
		}
		if failed > 0 {
			t.Fatalf("%d replication items failed", failed)
		}
		if queued == 0 {
			return
		}
		if time.Now().After(deadline) {
			var logs []string
			for _, p := range procs {
				logs = append(logs, p.out.String())
			}
			t.Fatalf("%d items still queued after %s; logs:\n%s", queued, within, strings.Join(logs, "\n----\n"))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// overlapping counts pairs of claims of one item whose windows overlap
// (the query of internal/registry's overlappingClaims).
func (e *geoEnv) overlapping(t *testing.T) int {
	t.Helper()
	var n int
	err := e.db.QueryRow(context.Background(), `SELECT count(*) FROM `+geoClaimsTable+` x JOIN `+geoClaimsTable+` y
		ON x.item_id = y.item_id AND x.token < y.token
		AND x.claimed_at < COALESCE(y.released_at, y.lease_until) AND y.claimed_at < COALESCE(x.released_at, x.lease_until)`).Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func randomBlob(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// TestRegistryGeoReplicationKill: a registry process SIGKILLed while it
// copies a blob to the other location loses nothing: after a restart the
// claim's lease runs out, the copy is taken again and lands in bucket b
// with the blob's digest; the two claims never overlapped.
func TestRegistryGeoReplicationKill(t *testing.T) {
	bin := buildBinary(t)
	e := newGeoEnv(t)
	// 4 MiB at 512 KiB/s: about 8 s in flight
	flags := []string{"--replication-workers", "2", "--replication-lease", "2s", "--replication-bandwidth", "524288"}
	p := e.start(t, bin, "a", flags...)
	c := regHTTP{t: t, base: "http://" + p.addr, user: "alice", pass: "alice-pw"}
	layer := randomBlob(t, 4<<20)
	dgst := sha256Digest(layer)
	c.pushImage("alice/geo", "v1", layer)

	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, _, held := e.copyRow(t, dgst); held {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the copy of the layer never went in flight:\n%s", p.out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(1500 * time.Millisecond) // well into the copy
	if state, _, held := e.copyRow(t, dgst); state != "queued" || !held {
		t.Fatalf("the copy is not in flight any more (%s, held %v); make it slower", state, held)
	}
	if err := p.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	p.wait(t, 10*time.Second)
	if code, _ := e.object(t, "geo-b", dgst); code != http.StatusNotFound {
		t.Errorf("a half copy is visible in bucket b: %d", code)
	}
	var unreleased int
	if err := e.db.QueryRow(context.Background(), `SELECT count(*) FROM `+geoClaimsTable+` c JOIN `+geoQueueTable+` q ON q.id = c.item_id
		WHERE q.digest = $1 AND q.target = 'b' AND c.released_at IS NULL`, dgst).Scan(&unreleased); err != nil || unreleased != 1 {
		t.Fatalf("the killed worker's claim: %d unreleased, %v; want 1", unreleased, err)
	}

	p2 := e.start(t, bin, "a", flags...)
	e.waitDone(t, 90*time.Second, p2)
	code, got := e.object(t, "geo-b", dgst)
	if code != http.StatusOK || sha256Digest(got) != dgst {
		t.Fatalf("layer in bucket b after the restart: %d, %d bytes, digest %s", code, len(got), sha256Digest(got))
	}
	if state, attempts, _ := e.copyRow(t, dgst); state != "done" || attempts < 2 {
		t.Errorf("copy row: %s after %d attempts; want done after ≥2", state, attempts)
	}
	if n := e.overlapping(t); n != 0 {
		t.Errorf("%d pairs of overlapping claims", n)
	}
	if code := p2.stop(t); code != exitOK {
		t.Errorf("exit %d after SIGTERM:\n%s", code, p2.out.String())
	}
}

// TestRegistryGeoReplicationTwoProcesses: the processes of two regions
// (preferring a and b) work one queue; no item is held by both at once and
// every item is done, with the right bytes in bucket b.
func TestRegistryGeoReplicationTwoProcesses(t *testing.T) {
	bin := buildBinary(t)
	e := newGeoEnv(t)
	// 512 KiB blobs at 1 MiB/s: each copy takes about half a second
	flags := []string{"--replication-workers", "2", "--replication-lease", "2s", "--replication-bandwidth", "1048576"}
	pa := e.start(t, bin, "a", flags...)
	pb := e.start(t, bin, "b", flags...)
	ca := regHTTP{t: t, base: "http://" + pa.addr, user: "alice", pass: "alice-pw"}
	var digests []string
	for range 10 {
		b := randomBlob(t, 512<<10)
		ca.finishUpload(ca.startUpload("alice/many"), b)
		digests = append(digests, sha256Digest(b))
	}
	e.waitDone(t, 90*time.Second, pa, pb)
	for _, d := range digests {
		if code, got := e.object(t, "geo-b", d); code != http.StatusOK || sha256Digest(got) != d {
			t.Errorf("%s in bucket b: %d, digest %s", d, code, sha256Digest(got))
		}
	}
	if n := e.overlapping(t); n != 0 {
		t.Errorf("%d pairs of overlapping claims", n)
	}
	var items, claimed int
	var workers []string
	err := e.db.QueryRow(context.Background(), `SELECT (SELECT count(*) FROM `+geoQueueTable+`), count(DISTINCT item_id),
		COALESCE(array_agg(DISTINCT split_part(worker, '/', 3)), '{}') FROM `+geoClaimsTable).Scan(&items, &claimed, &workers)
	if err != nil {
		t.Fatal(err)
	}
	if items != len(digests) || claimed != items {
		t.Errorf("%d items, %d claimed; want %d", items, claimed, len(digests))
	}
	t.Logf("claims by the workers preferring: %v", workers)
	if len(workers) != 2 {
		t.Errorf("only the processes preferring %v claimed work; both should have", workers)
	}
	for _, p := range []*registryProc{pa, pb} {
		if code := p.stop(t); code != exitOK {
			t.Errorf("exit %d after SIGTERM:\n%s", code, p.out.String())
		}
	}
}
