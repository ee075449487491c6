package azuredriver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	storagedriver "github.com/distribution/distribution/v3/registry/storage/driver"

	"github.com/quay-tools/config-editor/internal/registry/internal/drivertest"
	"github.com/quay-tools/config-editor/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

var seq atomic.Int64

// newDriver opens a driver on Azurite under a fresh root in a fresh
// container.
func newDriver(t testing.TB, mod func(*Config)) (*Driver, *testenv.AzureServer) {
	t.Helper()
	az := testenv.Azurite(t)
	n := seq.Add(1)
	name := fmt.Sprintf("azuredriver-%d-%d", os.Getpid(), n)
	res, err := az.Request(http.MethodPut, "/"+name+"?restype=container", nil, az.Key)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("create container %s: %s", name, res.Status)
	}
	c := Config{
		AccountName: az.Account, AccountKey: az.Key, Container: name, ServiceURL: az.BlobURL,
		RootDirectory: fmt.Sprintf("/root%d/", n),
	}
	if mod != nil {
		mod(&c)
	}
	d, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	return d, az
}

// TestSuite runs distribution's storage driver conformance suite against
// Azurite (its 5 GB streams are skipped in short mode).
func TestSuite(t *testing.T) {
	drivertest.Suite(t, func() storagedriver.StorageDriver {
		d, _ := newDriver(t, nil)
		return d
	})
}

// The suite with an empty root directory: blob names are the paths
// without their leading slash.
func TestSuiteWithoutRoot(t *testing.T) {
	drivertest.Suite(t, func() storagedriver.StorageDriver {
		d, _ := newDriver(t, func(c *Config) { c.RootDirectory = "" })
		return d
	})
}

func TestFromParameters(t *testing.T) {
	good := func() map[string]any {
		return map[string]any{
			"accountname": "acct", "accountkey": testenv.AzuriteKey, "container": "c",
			"serviceurl": "https://acct.blob.example:8443/", "rootdirectory": "x/y",
		}
	}
	d, err := FromParameters(good())
	if err != nil {
		t.Fatal(err)
	}
	if d.keys.Root() != "x/y/" || d.name != "c" || d.keys.Key("/a/b") != "x/y/a/b" || d.keys.Path("x/y/a/b") != "/a/b" {
		t.Errorf("root %q container %q key %q", d.keys.Root(), d.name, d.keys.Key("/a/b"))
	}
	if d.cc.URL() != "https://acct.blob.example:8443/c" || !d.https {
		t.Errorf("container URL %s, https %v", d.cc.URL(), d.https)
	}
	p := good()
	delete(p, "serviceurl")
	if d, err := FromParameters(p); err != nil || d.cc.URL() != "https://acct.blob.core.windows.net/c" {
		t.Errorf("without serviceurl: %v", err)
	}
	for _, mod := range []func(map[string]any){
		func(p map[string]any) { delete(p, "accountname") },
		func(p map[string]any) { delete(p, "accountkey") },
		func(p map[string]any) { delete(p, "container") },
		func(p map[string]any) { p["accountkey"] = "not base64!" },
		func(p map[string]any) { p["serviceurl"] = "ftp://x" },
	} {
		p := good()
		mod(p)
		if _, err := FromParameters(p); err == nil {
			t.Errorf("FromParameters(%v) accepted", p)
		}
	}
}

// Paths with "." or ".." segments are refused, not mapped to other names.
func TestPathsWithDotSegmentsAreRefused(t *testing.T) {
	// a service that is never contacted: the paths are refused first
	d, err := New(Config{AccountName: "a", AccountKey: testenv.AzuriteKey, Container: "c", ServiceURL: "http://127.0.0.1:9"})
	if err != nil {
		t.Fatal(err)
	}
	drivertest.DotSegmentsRefused(t, d)
}

// A stream is an append blob: what a writer has appended is visible at the
// path before Commit (which is why the replication queue copies to Azure
// through a side path), and the rest after it.
func TestStreamIsVisibleBeforeCommit(t *testing.T) {
	d, _ := newDriver(t, nil)
	ctx := context.Background()
	w, err := d.Writer(ctx, "/blob", false)
	if err != nil {
		t.Fatal(err)
	}
	data := bytes.Repeat([]byte("0123456789abcdef"), (blockSize+1000)/16) // more than a block
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	fi, err := d.Stat(ctx, "/blob")
	if err != nil || fi.Size() != blockSize {
		t.Fatalf("Stat before commit: %v, %v; want a file of one block (%d bytes)", fi, err, blockSize)
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

// A writer closed without commit leaves its bytes; a writer in append mode
// continues after them, across block boundaries, and also continues what
// PutContent wrote (a block blob, rewritten as an append blob).
func TestAppendResumesAfterCloseWithoutCommit(t *testing.T) {
	d, _ := newDriver(t, nil)
	ctx := context.Background()
	var want bytes.Buffer
	chunks := []int{100, blockSize - 50, 2*blockSize + 7, 10}
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

	if err := d.PutContent(ctx, "/put", []byte("head")); err != nil {
		t.Fatal(err)
	}
	w, err := d.Writer(ctx, "/put", true)
	if err != nil {
		t.Fatal(err)
	}
	if w.Size() != 4 {
		t.Fatalf("Size after PutContent = %d, want 4", w.Size())
	}
	if _, err := w.Write([]byte("+tail")); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if got, err := d.GetContent(ctx, "/put"); err != nil || string(got) != "head+tail" {
		t.Fatalf("GetContent = %q, %v", got, err)
	}
	// and PutContent replaces the append blob again
	if err := d.PutContent(ctx, "/put", []byte("new")); err != nil {
		t.Fatal(err)
	}
	if got, err := d.GetContent(ctx, "/put"); err != nil || string(got) != "new" {
		t.Fatalf("GetContent after PutContent = %q, %v", got, err)
	}
	if _, err := d.Writer(ctx, "/missing", true); !errors.As(err, new(storagedriver.PathNotFoundError)) {
		t.Errorf("append to a missing path: %v, want PathNotFoundError", err)
	}
}

// A writer cancelled leaves nothing behind, even what an earlier writer
// closed without commit had appended.
func TestCancelRemovesTheBlob(t *testing.T) {
	d, _ := newDriver(t, nil)
	ctx := context.Background()
	w, err := d.Writer(ctx, "/c", false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte("data")); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	w, err = d.Writer(ctx, "/c", true)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Cancel(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Stat(ctx, "/c"); !errors.As(err, new(storagedriver.PathNotFoundError)) {
		t.Errorf("Stat after Cancel: %v", err)
	}
	if _, err := w.Write([]byte("x")); err == nil {
		t.Error("Write after Cancel accepted")
	}
}

// Delete of /a/b removes the blob /a/b and what is below it, never /a/bc
// or /a/bc/d.
func TestDeleteKeepsSiblingsWithTheSamePrefix(t *testing.T) {
	d, _ := newDriver(t, nil)
	drivertest.DeleteKeepsSiblings(t, d, true)
}

// RedirectURL signs GET and HEAD only, at the path's blob name (slashes
// kept), and the URL fetches the bytes from Azurite.
func TestRedirectURL(t *testing.T) {
	d, az := newDriver(t, nil)
	ctx := context.Background()
	if err := d.PutContent(ctx, "/r/file", []byte("content")); err != nil {
		t.Fatal(err)
	}
	u, err := d.RedirectURL(httptest.NewRequest(http.MethodGet, "/x", nil), "/r/file")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(u, az.BlobURL+"/"+d.name+"/"+d.keys.Root()+"r/file?") || !strings.Contains(u, "sig=") {
		t.Errorf("GET URL %s", u)
	}
	pu, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	if q := pu.Query(); q.Get("sp") != "r" || q.Get("spr") != "https,http" || q.Get("se") == "" {
		t.Errorf("SAS %v", q)
	}
	res, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || string(b) != "content" {
		t.Errorf("GET signed URL: %s %q", res.Status, b)
	}
	// the signature covers the blob: another blob's URL with it is refused
	if err := d.PutContent(ctx, "/r/other", []byte("other")); err != nil {
		t.Fatal(err)
	}
	res, err = http.Get(strings.Replace(u, "/r/file?", "/r/other?", 1))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusForbidden {
		t.Errorf("GET another blob with the signature: %s", res.Status)
	}
	if u, err := d.RedirectURL(httptest.NewRequest(http.MethodPut, "/x", nil), "/r/file"); u != "" || err != nil {
		t.Errorf("PUT: %q, %v", u, err)
	}

	// an https service gets https-only signatures
	ds, err := New(Config{AccountName: az.Account, AccountKey: az.Key, Container: "c", ServiceURL: "https://127.0.0.1:9/" + az.Account})
	if err != nil {
		t.Fatal(err)
	}
	u, err = ds.RedirectURL(httptest.NewRequest(http.MethodHead, "/x", nil), "/r/file")
	if err != nil {
		t.Fatal(err)
	}
	if pu, err := url.Parse(u); err != nil || pu.Query().Get("spr") != "https" {
		t.Errorf("https service: %s", u)
	}
}

// failOnce drops the response to the first request that matches: the
// server has done the work, the client sees an error and retries.
type failOnce struct {
	match func(*http.Request) bool
	done  atomic.Bool
}

func (f *failOnce) RoundTrip(r *http.Request) (*http.Response, error) {
	res, err := http.DefaultTransport.RoundTrip(r)
	if err == nil && f.match(r) && f.done.CompareAndSwap(false, true) {
		res.Body.Close()
		return nil, errors.New("connection reset (test)")
	}
	return res, err
}

// An append block whose response is lost is retried by the SDK; the
// retry is refused by the append position, and the writer recognises
// that the block is in: the bytes are stored once.
func TestAppendRetryDoesNotDuplicate(t *testing.T) {
	ft := &failOnce{match: func(r *http.Request) bool { return r.URL.Query().Get("comp") == "appendblock" }}
	d, _ := newDriver(t, func(c *Config) { c.Transport = ft })
	ctx := context.Background()
	w, err := d.Writer(ctx, "/r", false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte("once")); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if !ft.done.Load() {
		t.Fatal("no append block was dropped")
	}
	if got, err := d.GetContent(ctx, "/r"); err != nil || string(got) != "once" {
		t.Fatalf("GetContent = %q, %v", got, err)
	}
}

// Move replaces a destination of another blob type (a stream moved onto
// PutContent's block blob, and back).
func TestMoveAcrossBlobTypes(t *testing.T) {
	d, _ := newDriver(t, nil)
	ctx := context.Background()
	if err := d.PutContent(ctx, "/dst", []byte("old")); err != nil {
		t.Fatal(err)
	}
	w, err := d.Writer(ctx, "/src", false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte("streamed")); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := d.Move(ctx, "/src", "/dst"); err != nil {
		t.Fatal(err)
	}
	if got, err := d.GetContent(ctx, "/dst"); err != nil || string(got) != "streamed" {
		t.Fatalf("GetContent = %q, %v", got, err)
	}
	if err := d.PutContent(ctx, "/src2", []byte("put")); err != nil {
		t.Fatal(err)
	}
	if err := d.Move(ctx, "/src2", "/dst"); err != nil {
		t.Fatal(err)
	}
	if got, err := d.GetContent(ctx, "/dst"); err != nil || string(got) != "put" {
		t.Fatalf("GetContent = %q, %v", got, err)
	}
	if _, err := d.Stat(ctx, "/src2"); !errors.As(err, new(storagedriver.PathNotFoundError)) {
		t.Errorf("source after Move: %v", err)
	}
}

// refuseOnce answers the first request that matches with Azure's 409
// InvalidBlobType, without sending it; the rest reach the server.
type refuseOnce struct {
	match func(*http.Request) bool
	done  atomic.Bool
}

func (f *refuseOnce) RoundTrip(r *http.Request) (*http.Response, error) {
	if f.match(r) && f.done.CompareAndSwap(false, true) {
		h := http.Header{}
		h.Set("x-ms-error-code", "InvalidBlobType")
		return &http.Response{StatusCode: http.StatusConflict, Status: "409 Conflict", Header: h,
			Body: io.NopCloser(strings.NewReader("")), Request: r}, nil
	}
	return http.DefaultTransport.RoundTrip(r)
}

// header reads a request header whatever its case (the SDK sets x-ms-
// headers in lower case, outside Go's canonical form).
func header(r *http.Request, name string) string {
	for k, v := range r.Header {
		if strings.EqualFold(k, name) && len(v) > 0 {
			return v[0]
		}
	}
	return ""
}

// Azure refuses to overwrite a blob with one of another type (Azurite
// does not): PutContent, a new writer and Move then delete what is there
// and write again.
func TestBlobTypeChangeDeletesFirst(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name  string
		match func(*http.Request) bool
		write func(d *Driver) error
		want  string
	}{
		{"PutContent", func(r *http.Request) bool { return header(r, "x-ms-blob-type") == "BlockBlob" },
			func(d *Driver) error { return d.PutContent(ctx, "/dst", []byte("put")) }, "put"},
		{"Writer", func(r *http.Request) bool { return header(r, "x-ms-blob-type") == "AppendBlob" },
			func(d *Driver) error {
				w, err := d.Writer(ctx, "/dst", false)
				if err != nil {
					return err
				}
				if _, err := w.Write([]byte("streamed")); err != nil {
					return err
				}
				return w.Commit(ctx)
			}, "streamed"},
		{"Move", func(r *http.Request) bool { return header(r, "x-ms-copy-source") != "" },
			func(d *Driver) error {
				if err := d.PutContent(ctx, "/src", []byte("moved")); err != nil {
					return err
				}
				return d.Move(ctx, "/src", "/dst")
			}, "moved"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rt := &refuseOnce{match: func(r *http.Request) bool {
				return r.Method == http.MethodPut && strings.HasSuffix(r.URL.Path, "/dst") && c.match(r)
			}}
			d, _ := newDriver(t, func(cf *Config) { cf.Transport = rt })
			rt.done.Store(true) // the old blob goes in as usual
			if err := d.PutContent(ctx, "/dst", []byte("old")); err != nil {
				t.Fatal(err)
			}
			rt.done.Store(false)
			if err := c.write(d); err != nil {
				t.Fatal(err)
			}
			if !rt.done.Load() {
				t.Fatal("no request was refused")
			}
			if got, err := d.GetContent(ctx, "/dst"); err != nil || string(got) != c.want {
				t.Errorf("GetContent = %q, %v; want %q", got, err, c.want)
			}
		})
	}
}
