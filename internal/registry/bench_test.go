package registry

import (
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
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/distribution/distribution/v3/configuration"
	distregistry "github.com/distribution/distribution/v3/registry"
	_ "github.com/distribution/distribution/v3/registry/auth/htpasswd"
	// the baseline's storage: distribution's own filesystem driver (the
	// runtime serves LocalStorage with fsdriver and links none of these)
	_ "github.com/distribution/distribution/v3/registry/storage/driver/filesystem"

	"github.com/quay-tools/config-editor/internal/benchenv"
)

// Push and pull throughput of a 100 MB image through config-editor's
// registry mode, next to the same distribution version configured directly
// with the equivalent YAML (filesystem storage, htpasswd logins, in-memory
// blob cache, plain HTTP). Both run in this process on loopback; each push
// is a new blob (POST, one streamed PATCH, PUT) plus its manifest, each
// pull is the manifest plus the blob, hashed while read.

const benchLayerSize = 100 << 20

var (
	plainOnce sync.Once
	plainBase string
	plainErr  error
)

// plainDistribution starts distribution's own registry once per process
// (its health checks are process-global).
func plainDistribution(b *testing.B, htpasswd string) string {
	plainOnce.Do(func() {
		dir, err := os.MkdirTemp("", "plain-distribution-")
		if err != nil {
			plainErr = err
			return
		}
		pw := filepath.Join(dir, "htpasswd")
		if plainErr = os.WriteFile(pw, []byte(htpasswd), 0o600); plainErr != nil {
			return
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			plainErr = err
			return
		}
		addr := ln.Addr().String()
		ln.Close()
		yaml := fmt.Sprintf(`version: 0.1
log:
  level: error
  accesslog: {disabled: true}
storage:
  filesystem: {rootdirectory: %s}
  cache: {blobdescriptor: inmemory}
  delete: {enabled: true}
auth:
  htpasswd: {realm: bench, path: %s}
http:
  addr: %s
  host: http://%s
  secret: bench-secret
`, filepath.Join(dir, "data"), pw, addr, addr)
		cfg, err := configuration.Parse(strings.NewReader(yaml))
		if err != nil {
			plainErr = err
			return
		}
		reg, err := distregistry.NewRegistry(context.Background(), cfg)
		if err != nil {
			plainErr = err
			return
		}
		go func() { _ = reg.ListenAndServe() }()
		plainBase = "http://" + addr
		for i := 0; i < 100; i++ {
			if c, err := net.Dial("tcp", addr); err == nil {
				c.Close()
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
		plainErr = fmt.Errorf("distribution did not listen on %s", addr)
	})
	if plainErr != nil {
		b.Fatal(plainErr)
	}
	return plainBase
}

// benchClient streams bodies (no buffering of the 100 MB) and keeps its
// connections.
type benchClient struct {
	base       string
	user, pass string
	hc         *http.Client
}

func (c *benchClient) req(method, target string, body io.Reader, size int64, hdr map[string]string) (*http.Response, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, err
	}
	if !u.IsAbs() {
		u, _ = url.Parse(c.base + target)
	}
	r, err := http.NewRequest(method, u.String(), body)
	if err != nil {
		return nil, err
	}
	if size >= 0 {
		r.ContentLength = size
	}
	for k, v := range hdr {
		r.Header.Set(k, v)
	}
	r.SetBasicAuth(c.user, c.pass)
	return c.hc.Do(r)
}

// call sends a request and wants the status code.
func (c *benchClient) call(method, target string, body io.Reader, size int64, hdr map[string]string, code int) (http.Header, error) {
	res, err := c.req(method, target, body, size, hdr)
	return c.expect(res, err, code)
}

func (c *benchClient) expect(res *http.Response, err error, code int) (http.Header, error) {
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(res.Body, 1<<16))
	if res.StatusCode != code {
		return nil, fmt.Errorf("%s %s: %d %s", res.Request.Method, res.Request.URL.Path, res.StatusCode, body)
	}
	return res.Header, nil
}

func (c *benchClient) pushImage(repo, tag string, config, layer []byte, layerDigest string) error {
	for _, blob := range []struct {
		data []byte
		dg   string
	}{{config, digestOf(config)}, {layer, layerDigest}} {
		h, err := c.call(http.MethodPost, "/v2/"+repo+"/blobs/uploads/", nil, 0, nil, http.StatusAccepted)
		if err != nil {
			return err
		}
		loc := h.Get("Location")
		h, err = c.call(http.MethodPatch, loc, bytes.NewReader(blob.data), int64(len(blob.data)), map[string]string{"Content-Type": "application/octet-stream"}, http.StatusAccepted)
		if err != nil {
			return err
		}
		loc = h.Get("Location")
		sep := "?"
		if strings.Contains(loc, "?") {
			sep = "&"
		}
		if _, err := c.call(http.MethodPut, loc+sep+"digest="+url.QueryEscape(blob.dg), nil, 0, nil, http.StatusCreated); err != nil {
			return err
		}
	}
	m, _ := json.Marshal(map[string]any{
		"schemaVersion": 2, "mediaType": ociManifest,
		"config": map[string]any{"mediaType": "application/vnd.oci.image.config.v1+json", "digest": digestOf(config), "size": len(config)},
		"layers": []any{map[string]any{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layerDigest, "size": len(layer)}},
	})
	_, err := c.call(http.MethodPut, "/v2/"+repo+"/manifests/"+tag, bytes.NewReader(m), int64(len(m)), map[string]string{"Content-Type": ociManifest}, http.StatusCreated)
	return err
}

func (c *benchClient) pullImage(repo, tag, layerDigest string) error {
	if _, err := c.call(http.MethodGet, "/v2/"+repo+"/manifests/"+tag, nil, -1, map[string]string{"Accept": ociManifest}, http.StatusOK); err != nil {
		return err
	}
	res, err := c.req(http.MethodGet, "/v2/"+repo+"/blobs/"+layerDigest, nil, -1, nil)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("blob GET: %d", res.StatusCode)
	}
	h := sha256.New()
	n, err := io.Copy(h, res.Body)
	if err != nil {
		return err
	}
	if n != benchLayerSize || "sha256:"+hex.EncodeToString(h.Sum(nil)) != layerDigest {
		return fmt.Errorf("pulled %d bytes, digest mismatch", n)
	}
	return nil
}

// BenchmarkRegistry100MB alternates the two registries within each
// iteration (in turn first), so load from elsewhere on the machine hits both
// alike, and reports each one's throughput and their ratio.
func BenchmarkRegistry100MB(b *testing.B) {
	htpasswd := htpasswdLine(b, "bench", "bench-pw") + "\n"
	ours := startRegistry(b, regSetup{config: "SUPER_USERS: [bench]\n", files: map[string][]byte{HtpasswdFile: []byte(htpasswd)}})
	clients := [2]*benchClient{
		{base: ours.base, user: "bench", pass: "bench-pw", hc: &http.Client{Timeout: 5 * time.Minute}},
		{base: plainDistribution(b, htpasswd), user: "bench", pass: "bench-pw", hc: &http.Client{Timeout: 5 * time.Minute}},
	}
	layer := make([]byte, benchLayerSize)
	_, _ = rand.Read(layer)
	config := []byte(`{"architecture":"amd64","os":"linux"}`)
	fmt.Printf("BenchmarkRegistry100MB: load average %s, %d cores (GOMAXPROCS %d)\n", benchenv.LoadAverage(), runtime.NumCPU(), runtime.GOMAXPROCS(0))
	seq := 0
	next := func() string {
		seq++
		copy(layer, fmt.Sprintf("%016d", seq)) // a new blob each time
		return digestOf(layer)
	}
	report := func(b *testing.B, spent [2]time.Duration) {
		mbps := func(d time.Duration) float64 { return float64(b.N) * benchLayerSize / (1 << 20) / d.Seconds() }
		b.ReportMetric(mbps(spent[0]), "config-editor-MiB/s")
		b.ReportMetric(mbps(spent[1]), "distribution-MiB/s")
		b.ReportMetric(spent[1].Seconds()/spent[0].Seconds(), "ratio")
	}
	b.Run("push", func(b *testing.B) {
		var spent [2]time.Duration
		for i := 0; i < b.N; i++ {
			for k := 0; k < 2; k++ {
				which := (i + k) % 2
				dg := next()
				start := time.Now()
				if err := clients[which].pushImage("bench/push", fmt.Sprint(seq), config, layer, dg); err != nil {
					b.Fatal(err)
				}
				spent[which] += time.Since(start)
			}
		}
		report(b, spent)
	})
	b.Run("pull", func(b *testing.B) {
		dg := next()
		for _, c := range clients {
			if err := c.pushImage("bench/pull", "t", config, layer, dg); err != nil {
				b.Fatal(err)
			}
		}
		var spent [2]time.Duration
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			for k := 0; k < 2; k++ {
				which := (i + k) % 2
				start := time.Now()
				if err := clients[which].pullImage("bench/pull", "t", dg); err != nil {
					b.Fatal(err)
				}
				spent[which] += time.Since(start)
			}
		}
		report(b, spent)
	})
}
