package s3driver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	storagedriver "github.com/distribution/distribution/v3/registry/storage/driver"

	"github.com/quay-tools/config-editor/internal/registry/internal/drivertest"
	"github.com/quay-tools/config-editor/internal/testenv"
)

func TestMain(m *testing.M) {
	// The driver (minio-go) and the suite's redirect check trust the
	// system roots; here those are the test CA, read at the first TLS
	// verification.
	os.Setenv("SSL_CERT_FILE", testenv.CA().CAFile)
	testenv.Main(m)
}

var seq atomic.Int64

// newDriver opens a driver on the test S3 server under a fresh root in a
// fresh bucket.
func newDriver(t testing.TB, mod func(*Params)) (*Driver, *testenv.S3Server) {
	t.Helper()
	s3 := testenv.S3(t)
	n := seq.Add(1)
	bucket := fmt.Sprintf("s3driver-%d-%d", os.Getpid(), n)
	res, err := s3.Request(http.MethodPut, "/"+bucket, nil, s3.SecretKey)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("create bucket %s: %s", bucket, res.Status)
	}
	p := Params{
		Bucket: bucket, Region: s3.Region, Endpoint: s3.URL(), ForcePathStyle: true, V4Auth: true,
		AccessKey: s3.AccessKey, SecretKey: s3.SecretKey, RootDirectory: fmt.Sprintf("/root%d/", n),
	}
	if mod != nil {
		mod(&p)
	}
	d, err := New(p)
	if err != nil {
		t.Fatal(err)
	}
	return d, s3
}

// TestSuite runs distribution's storage driver conformance suite against
// versitygw (its 5 GB streams are skipped in short mode).
func TestSuite(t *testing.T) {
	drivertest.Suite(t, func() storagedriver.StorageDriver {
		d, _ := newDriver(t, nil)
		return d
	})
}

// The suite with an empty root directory: keys are the paths without
// their leading slash.
func TestSuiteWithoutRoot(t *testing.T) {
	drivertest.Suite(t, func() storagedriver.StorageDriver {
		d, _ := newDriver(t, func(p *Params) { p.RootDirectory = "" })
		return d
	})
}

func TestFromParameters(t *testing.T) {
	d, err := FromParameters(map[string]any{
		"bucket": "b", "region": "us-east-1", "regionendpoint": "http://127.0.0.1:9",
		"forcepathstyle": true, "v4auth": false, "accesskey": "a", "secretkey": "s", "rootdirectory": "/x/y/",
	})
	if err != nil {
		t.Fatal(err)
	}
	if d.keys.Root() != "x/y/" || d.bucket != "b" || d.keys.Key("/a/b") != "x/y/a/b" || d.keys.Path("x/y/a/b") != "/a/b" {
		t.Errorf("root %q bucket %q key %q", d.keys.Root(), d.bucket, d.keys.Key("/a/b"))
	}
	if u := d.client.EndpointURL(); u.Scheme != "http" || u.Host != "127.0.0.1:9" {
		t.Errorf("endpoint %v", u)
	}
	for _, bad := range []map[string]any{
		{"region": "us-east-1"},
		{"bucket": "b"},
		{"bucket": "b", "region": "r", "regionendpoint": "ftp://x"},
	} {
		if _, err := FromParameters(bad); err == nil {
			t.Errorf("FromParameters(%v) accepted", bad)
		}
	}
}

// Paths with "." or ".." segments are refused, not mapped to other keys.
func TestPathsWithDotSegmentsAreRefused(t *testing.T) {
	d, _ := newDriver(t, nil)
	drivertest.DotSegmentsRefused(t, d)
}

// A stream is invisible until it is committed: the replication queue
// writes straight to the final path on S3.
func TestStreamIsInvisibleUntilCommit(t *testing.T) {
	d, _ := newDriver(t, nil)
	ctx := context.Background()
	w, err := d.Writer(ctx, "/blob", false)
	if err != nil {
		t.Fatal(err)
	}
	data := bytes.Repeat([]byte("0123456789abcdef"), (partSize+1000)/16) // more than a part
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Stat(ctx, "/blob"); !errors.As(err, new(storagedriver.PathNotFoundError)) {
		t.Fatalf("Stat before commit = %v, want PathNotFoundError", err)
	}
	if err := w.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got, err := d.GetContent(ctx, "/blob")
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("GetContent: %d bytes, %v; want %d", len(got), err, len(data))
	}
}

// Resumed writers whose earlier parts are below S3's minimum part size
// (every chunk of a registry's chunked upload, closed between PATCHes)
// still give one object with every byte in order, including a resumed
// stream that crosses the part size. versitygw checks part sizes at
// completion as S3 does.
func TestAppendAfterSmallAndLargeParts(t *testing.T) {
	d, _ := newDriver(t, nil)
	ctx := context.Background()
	var want bytes.Buffer
	chunks := []int{100, 3 << 20, 4 << 20, partSize + 7, 10}
	for i, n := range chunks {
		w, err := d.Writer(ctx, "/upload/data", i > 0)
		if err != nil {
			t.Fatalf("chunk %d: %v", i, err)
		}
		if w.Size() != int64(want.Len()) {
			t.Fatalf("chunk %d: resumed at %d, want %d", i, w.Size(), want.Len())
		}
		b := bytes.Repeat([]byte{byte('a' + i)}, n)
		want.Write(b)
		if _, err := w.Write(b); err != nil {
			t.Fatalf("chunk %d: %v", i, err)
		}
		if i == len(chunks)-1 {
			if err := w.Commit(ctx); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	got, err := d.GetContent(ctx, "/upload/data")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want.Bytes()) {
		t.Fatalf("got %d bytes, want %d (equal: false)", len(got), want.Len())
	}
}

// Appending to a committed object of more than the minimum part size
// copies it on the server into the new upload.
func TestAppendToCommittedObject(t *testing.T) {
	d, _ := newDriver(t, nil)
	ctx := context.Background()
	first := bytes.Repeat([]byte("x"), minPartSize+3)
	if err := d.PutContent(ctx, "/obj", first); err != nil {
		t.Fatal(err)
	}
	w, err := d.Writer(ctx, "/obj", true)
	if err != nil {
		t.Fatal(err)
	}
	if w.Size() != int64(len(first)) {
		t.Fatalf("Size = %d, want %d", w.Size(), len(first))
	}
	if _, err := w.Write([]byte("tail")); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := d.GetContent(ctx, "/obj")
	if err != nil || !bytes.Equal(got, append(first, "tail"...)) {
		t.Fatalf("GetContent: %d bytes, %v", len(got), err)
	}
	if _, err := d.Writer(ctx, "/missing", true); !errors.As(err, new(storagedriver.PathNotFoundError)) {
		t.Errorf("append to a missing path: %v, want PathNotFoundError", err)
	}
}

// Delete of /a removes what is below it, never /ab or /abc/d. (versitygw
// keeps objects as files, so /a cannot be an object and a prefix at once.)
func TestDeleteKeepsSiblingsWithTheSamePrefix(t *testing.T) {
	d, _ := newDriver(t, nil)
	drivertest.DeleteKeepsSiblings(t, d, false)
}

// Signature Version 2 (RadosGW, IBM COS with signature_version v2): the
// driver signs with it, and the server (which speaks only v4) refuses:
// the setting reaches the wire.
func TestSignatureV2ReachesTheServer(t *testing.T) {
	d, _ := newDriver(t, func(p *Params) { p.V4Auth = false })
	err := d.PutContent(context.Background(), "/v2", []byte("x"))
	if err == nil {
		t.Fatal("versitygw accepted a V2-signed request; the driver did not sign with V2?")
	}
	d4, _ := newDriver(t, nil)
	if err := d4.PutContent(context.Background(), "/v4", []byte("x")); err != nil {
		t.Fatalf("V4: %v", err)
	}
}

// RedirectURL presigns GET and HEAD only, at the path's key.
func TestRedirectURL(t *testing.T) {
	d, s3 := newDriver(t, nil)
	ctx := context.Background()
	if err := d.PutContent(ctx, "/r/file", []byte("content")); err != nil {
		t.Fatal(err)
	}
	u, err := d.RedirectURL(httptest.NewRequest(http.MethodGet, "/x", nil), "/r/file")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(u, s3.URL()+"/"+d.bucket+"/"+d.keys.Root()+"r/file?") || !strings.Contains(u, "X-Amz-Signature=") {
		t.Errorf("GET URL %s", u)
	}
	res, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || string(b) != "content" {
		t.Errorf("GET presigned: %s %q", res.Status, b)
	}
	if u, err := d.RedirectURL(httptest.NewRequest(http.MethodPut, "/x", nil), "/r/file"); u != "" || err != nil {
		t.Errorf("PUT: %q, %v", u, err)
	}
}

// A writer cancelled leaves nothing behind: no object and no open upload.
func TestCancelAbortsTheUpload(t *testing.T) {
	d, _ := newDriver(t, nil)
	ctx := context.Background()
	w, err := d.Writer(ctx, "/c", false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte("data")); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil { // uploads the part
		t.Fatal(err)
	}
	w, err = d.Writer(ctx, "/c", true)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Cancel(ctx); err != nil {
		t.Fatal(err)
	}
	if id, err := d.openUpload(ctx, d.keys.Key("/c")); err != nil || id != "" {
		t.Errorf("open upload after Cancel: %q, %v", id, err)
	}
	if _, err := d.Stat(ctx, "/c"); !errors.As(err, new(storagedriver.PathNotFoundError)) {
		t.Errorf("Stat after Cancel: %v", err)
	}
}
