package registry

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/quay-tools/config-editor/internal/testenv"
)

// geoSetup is two regions' registries on one config: S3 buckets a and b on
// the test server, one PostgreSQL queue; a prefers a, b prefers b. Their
// workers are off: the test runs the queue itself.
func geoSetup(t *testing.T, extra string) (ra, rb *testRegistry, s3 *testenv.S3Server, prefix string) {
	s3 = testenv.S3(t)
	s3Bucket(t, s3, "geo-a")
	s3Bucket(t, s3, "geo-b")
	prefix = fmt.Sprintf("/geo%d", testSeq.Add(1))
	storage := "DISTRIBUTED_STORAGE_CONFIG:\n" + s3LocationYAML(s3, "a", "geo-a", prefix) + s3LocationYAML(s3, "b", "geo-b", prefix) +
		"DISTRIBUTED_STORAGE_PREFERENCE: [a, b]\nDISTRIBUTED_STORAGE_DEFAULT_LOCATIONS: [a, b]\nFEATURE_STORAGE_REPLICATION: true\n" +
		"DB_URI: " + queueDB(t) + "\n"
	// every region shares the database and the Redis cache, as in Quay
	rd := testenv.Redis(t)
	storage += fmt.Sprintf("BUILDLOGS_REDIS: {host: 127.0.0.1, port: %d, password: %s, db: %d}\n", rd.Port, rd.Password, 6+testSeq.Add(1)%8)
	setup := regSetup{tls: true, storage: storage, files: htpasswdFiles(t, "admin", "pw"),
		config: "SUPER_USERS: [admin]\nFEATURE_PROXY_STORAGE: true\n" + extra, replication: ReplicationOptions{Workers: -1}}
	setup.env = Env{StoragePreference: "a b"}
	ra = startRegistry(t, setup)
	setup.env = Env{StoragePreference: "b a"}
	rb = startRegistry(t, setup)
	return ra, rb, s3, prefix
}

func s3Object(t *testing.T, s3 *testenv.S3Server, bucket, key string) (int, []byte) {
	t.Helper()
	res, err := s3.Request(http.MethodGet, "/"+bucket+key, nil, s3.SecretKey)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b
}

func blobKey(prefix, d string) string {
	return prefix + "/docker/registry/v2/blobs/sha256/" + d[7:9] + "/" + d[7:] + "/data"
}

func TestGeoReplicationS3(t *testing.T) {
	ctx := context.Background()
	ra, rb, s3, prefix := geoSetup(t, "")
	a, b := ra.client.as("admin", "pw"), rb.client.as("admin", "pw")
	img := newTestImage(t, 256<<10)
	layer := digestOf(img.layer)

	wantCode(t, "push in region a", a.push("admin/geo", "v1", img), http.StatusCreated)
	// region b at once: tags and links are there, the blob comes from a
	wantCode(t, "pull in region b", b.pull("admin/geo", "v1", img), http.StatusOK)
	if r := b.do(http.MethodGet, "/v2/admin/geo/tags/list", nil, nil); !strings.Contains(string(r.body), `"v1"`) {
		t.Errorf("tags in region b: %s", r)
	}
	if code, _ := s3Object(t, s3, "geo-b", blobKey(prefix, layer)); code != http.StatusNotFound {
		t.Errorf("layer in bucket b before replication: %d", code)
	}
	if code, _ := s3Object(t, s3, "geo-a", blobKey(prefix, layer)); code != http.StatusOK {
		t.Errorf("layer not in bucket a: %d", code)
	}
	st, err := ra.srv.repl.Stats(ctx)
	if err != nil || st.Queued != 3 { // config, layer, manifest
		t.Errorf("queue after the push: %+v %v, want 3 queued", st, err)
	}
	code, hb := healthOf(t, ra.client, "/health/endtoend")
	if hb.Data.Replication == nil || hb.Data.Replication.Queued != 3 {
		t.Errorf("endtoend replication detail: %d %+v", code, hb.Data.Replication)
	}

	// the worker copies; the blob arrives in b with its digest
	if n, err := rb.srv.repl.RunOnce(ctx); err != nil || n != 3 {
		t.Fatalf("replication run: %d %v", n, err)
	}
	code, got := s3Object(t, s3, "geo-b", blobKey(prefix, layer))
	if code != http.StatusOK || digestOf(got) != layer {
		t.Errorf("layer in bucket b: %d, digest %s", code, digestOf(got))
	}
	m := a.do(http.MethodGet, "/metrics", nil, nil)
	if !strings.Contains(string(m.body), `config_editor_registry_replication_items{state="done"} 3`) ||
		!strings.Contains(string(m.body), "config_editor_registry_replication_oldest_age_seconds 0") {
		t.Errorf("metrics lack the queue's state:\n%s", grepLines(string(m.body), "replication"))
	}

	// backfill: a blob that reached a without being queued
	extra := []byte("backfilled blob")
	if err := ra.srv.driver.(*geoDriver).locs[0].d.PutContent(ctx, blobKey("", digestOf(extra)), extra); err != nil {
		t.Fatal(err)
	}
	n, err := Backfill(ctx, ra.cfg, nil)
	if err != nil || n != 1 {
		t.Fatalf("backfill: %d %v, want 1 copy queued", n, err)
	}
	if _, err := ra.srv.repl.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if code, got := s3Object(t, s3, "geo-b", blobKey(prefix, digestOf(extra))); code != http.StatusOK || !bytes.Equal(got, extra) {
		t.Errorf("backfilled blob in b: %d %q", code, got)
	}

	// a manifest deleted in region b is gone in both
	mpath := "/v2/admin/geo/manifests/" + digestOf(img.manifest)
	wantCode(t, "delete in region b", b.do(http.MethodDelete, mpath, nil, nil), http.StatusAccepted)
	wantCode(t, "manifest in region a", a.do(http.MethodGet, mpath, nil, map[string]string{"Accept": ociManifest}), http.StatusNotFound)
	wantCode(t, "manifest in region b", b.do(http.MethodGet, mpath, nil, map[string]string{"Accept": ociManifest}), http.StatusNotFound)
	for _, bucket := range []string{"geo-a", "geo-b"} {
		key := prefix + "/docker/registry/v2/repositories/admin/geo/_manifests/revisions/sha256/" + digestOf(img.manifest)[7:] + "/link"
		if code, _ := s3Object(t, s3, bucket, key); code != http.StatusNotFound {
			t.Errorf("revision link still in %s: %d", bucket, code)
		}
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
