package registry

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quay-tools/config-editor/internal/bundle"
	"github.com/quay-tools/config-editor/internal/problem"
	"github.com/quay-tools/config-editor/internal/testenv"
)

// A small OCI distribution client for the tests: just enough HTTP to push
// and pull, so each test sees status codes and headers as they are.

type regClient struct {
	t          testing.TB
	base       string // http(s)://127.0.0.1:PORT
	user, pass string
	hc         *http.Client
}

func (c *regClient) as(user, pass string) *regClient {
	cc := *c
	cc.user, cc.pass = user, pass
	return &cc
}

type resp struct {
	code   int
	header http.Header
	body   []byte
}

func (r resp) String() string { return fmt.Sprintf("%d %s", r.code, bytes.TrimSpace(r.body)) }

func (c *regClient) do(method, path string, body io.Reader, hdr map[string]string) resp {
	c.t.Helper()
	u := path
	if !strings.HasPrefix(path, "http") {
		u = c.base + path
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		c.t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	if c.user != "" {
		req.SetBasicAuth(c.user, c.pass)
	}
	res, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	return resp{res.StatusCode, res.Header, data}
}

func digestOf(data []byte) string {
	sum := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// pushBlob uploads monolithically (POST, then PUT with the digest).
func (c *regClient) pushBlob(repo string, data []byte) resp {
	c.t.Helper()
	r := c.do(http.MethodPost, "/v2/"+repo+"/blobs/uploads/", nil, nil)
	if r.code != http.StatusAccepted {
		return r
	}
	loc := c.location(r)
	sep := "?"
	if strings.Contains(loc, "?") {
		sep = "&"
	}
	return c.do(http.MethodPut, loc+sep+"digest="+url.QueryEscape(digestOf(data)), bytes.NewReader(data),
		map[string]string{"Content-Type": "application/octet-stream"})
}

// location resolves an upload Location against the registry's address.
func (c *regClient) location(r resp) string {
	c.t.Helper()
	loc := r.header.Get("Location")
	u, err := url.Parse(loc)
	if err != nil {
		c.t.Fatalf("Location %q: %v", loc, err)
	}
	if u.IsAbs() {
		return loc
	}
	return c.base + loc
}

const ociManifest = "application/vnd.oci.image.manifest.v1+json"

// testImage is a one-layer OCI image with random content.
type testImage struct {
	config, layer, manifest []byte
}

func newTestImage(t testing.TB, layerSize int) testImage {
	t.Helper()
	// a real tar, so clients that look inside layers are satisfied
	content := make([]byte, layerSize)
	_, _ = rand.Read(content)
	var tb bytes.Buffer
	tw := tar.NewWriter(&tb)
	_ = tw.WriteHeader(&tar.Header{Name: "data.bin", Mode: 0o644, Size: int64(len(content)), ModTime: time.Unix(0, 0)})
	_, _ = tw.Write(content)
	_ = tw.Close()
	layer := tb.Bytes()
	config := []byte(fmt.Sprintf(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["%s"]}}`, digestOf(layer)))
	m := map[string]any{
		"schemaVersion": 2,
		"mediaType":     ociManifest,
		"config":        map[string]any{"mediaType": "application/vnd.oci.image.config.v1+json", "digest": digestOf(config), "size": len(config)},
		"layers":        []any{map[string]any{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": digestOf(layer), "size": len(layer)}},
	}
	manifest, _ := json.Marshal(m)
	return testImage{config: config, layer: layer, manifest: manifest}
}

// writeLayout writes the image as an OCI image layout with one tag.
func (img testImage) writeLayout(t testing.TB, dir, tag string) {
	t.Helper()
	blobs := filepath.Join(dir, "blobs", "sha256")
	if err := os.MkdirAll(blobs, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, b := range [][]byte{img.config, img.layer, img.manifest} {
		if err := os.WriteFile(filepath.Join(blobs, strings.TrimPrefix(digestOf(b), "sha256:")), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	index, _ := json.Marshal(map[string]any{
		"schemaVersion": 2,
		"manifests": []any{map[string]any{"mediaType": ociManifest, "digest": digestOf(img.manifest), "size": len(img.manifest),
			"annotations": map[string]string{"org.opencontainers.image.ref.name": tag}}},
	})
	for name, data := range map[string][]byte{"oci-layout": []byte(`{"imageLayoutVersion":"1.0.0"}`), "index.json": index} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// push uploads the image and tags it; it returns the first failure.
func (c *regClient) push(repo, tag string, img testImage) resp {
	c.t.Helper()
	for _, b := range [][]byte{img.config, img.layer} {
		if r := c.pushBlob(repo, b); r.code != http.StatusCreated {
			return r
		}
	}
	return c.do(http.MethodPut, "/v2/"+repo+"/manifests/"+tag, bytes.NewReader(img.manifest), map[string]string{"Content-Type": ociManifest})
}

// pull fetches the tag's manifest and layer and checks them byte for byte.
func (c *regClient) pull(repo, tag string, img testImage) resp {
	c.t.Helper()
	r := c.do(http.MethodGet, "/v2/"+repo+"/manifests/"+tag, nil, map[string]string{"Accept": ociManifest})
	if r.code != http.StatusOK {
		return r
	}
	if !bytes.Equal(r.body, img.manifest) || r.header.Get("Docker-Content-Digest") != digestOf(img.manifest) {
		c.t.Errorf("manifest differs (digest header %s)", r.header.Get("Docker-Content-Digest"))
	}
	r = c.do(http.MethodGet, "/v2/"+repo+"/blobs/"+digestOf(img.layer), nil, nil)
	if r.code == http.StatusOK && !bytes.Equal(r.body, img.layer) {
		c.t.Errorf("layer differs: %d bytes, want %d", len(r.body), len(img.layer))
	}
	return r
}

// ---------------------------------------------------------------------------
// A registry under test.

type testRegistry struct {
	srv    *Server
	cfg    *Config
	base   string
	cancel context.CancelFunc
	done   chan error
	client *regClient
}

type regSetup struct {
	config string            // config.yaml lines added to the generated base
	files  map[string][]byte // bundle files
	tls    bool              // serve TLS from the test certificate
	// storage, when set, replaces the LocalStorage location.
	storage string
	// secretKey is SECRET_KEY (default test-secret-key).
	secretKey string
	// env is the translation's environment (storage preference).
	env Env
	// replication tunes the replication workers.
	replication ReplicationOptions
}

// startRegistry translates the bundle and serves it on a loopback port
// until the test ends. SERVER_HOSTNAME is the address it listens on.
func startRegistry(t testing.TB, s regSetup) *testRegistry {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	scheme := "http"
	files := map[string][]byte{}
	for k, v := range s.files {
		files[k] = v
	}
	if s.tls {
		scheme = "https"
		files["ssl.cert"] = testenv.CA().ServerCertPEM
		files["ssl.key"] = testenv.CA().ServerKeyPEM
	}
	storage := s.storage
	if storage == "" {
		storage = "DISTRIBUTED_STORAGE_CONFIG:\n  local: [LocalStorage, {storage_path: " + filepath.Join(t.TempDir(), "registry") + "}]\nDISTRIBUTED_STORAGE_PREFERENCE: [local]\n"
	}
	secret := s.secretKey
	if secret == "" {
		secret = "test-secret-key"
	}
	cfgText := fmt.Sprintf("SERVER_HOSTNAME: %s\nPREFERRED_URL_SCHEME: %s\nSECRET_KEY: %s\n%s%s", ln.Addr().String(), scheme, secret, storage, s.config)
	b, err := bundle.New([]byte(cfgText), bundle.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	for n, d := range files {
		if err := b.SetFile(n, d); err != nil {
			t.Fatal(err)
		}
	}
	cfg, ps := Translate(b, s.env)
	if problem.HasErrors(ps) {
		t.Fatalf("translate: %v", ps)
	}
	srv, err := New(context.Background(), cfg, Options{Listener: ln, Log: testLog(t), LogLevel: "warn", CAFile: testCAFile, ShutdownTimeout: 10 * time.Second, Replication: s.replication})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	tr := &testRegistry{srv: srv, cfg: cfg, base: scheme + "://" + ln.Addr().String(), cancel: cancel, done: make(chan error, 1)}
	go func() { tr.done <- srv.Run(ctx) }()
	tr.client = &regClient{t: t, base: tr.base, hc: &http.Client{
		Timeout:   time.Minute,
		Transport: &http.Transport{TLSClientConfig: testenv.CA().ClientTLSConfig()},
		// follow nothing implicitly: the tests look at redirects
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
	t.Cleanup(func() { tr.stop(t) })
	return tr
}

func (tr *testRegistry) stop(t testing.TB) {
	if tr.cancel == nil {
		return
	}
	tr.cancel()
	tr.cancel = nil
	select {
	case err := <-tr.done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Error("the registry did not stop within 30s")
	}
}
