package editor

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/quay-tools/config-editor/web"
)

var hashedRE = regexp.MustCompile(`(?:href|src)="(/static/[a-z.]+\.[0-9a-f]{12}\.(?:css|js))"`)

// Pages link content-hashed assets; a hashed URL is immutable for a year,
// gzipped for a client that accepts it, and answers If-None-Match with 304.
// The plain URL still works and must be revalidated. HTML stays no-store.
func TestStaticAssetsHashedCachedGzipped(t *testing.T) {
	ts := newTestServer(t, true)
	page := ts.do(req{method: "GET", path: "/", basic: true})
	if cc := page.Header().Get("Cache-Control"); cc != "no-store" {
		t.Errorf("HTML Cache-Control %q", cc)
	}
	links := hashedRE.FindAllStringSubmatch(page.Body.String(), -1)
	if len(links) != 3 {
		t.Fatalf("want 3 hashed assets (app.css, htmx, app.js) in the page, got %v", links)
	}
	htmx, _ := web.FS.ReadFile("static/htmx.min.js")
	for _, m := range links {
		u := m[1]
		w := ts.do(req{method: "GET", path: u, basic: true})
		if w.Code != 200 {
			t.Fatalf("GET %s: %d", u, w.Code)
		}
		if cc := w.Header().Get("Cache-Control"); cc != "public, max-age=31536000, immutable" {
			t.Errorf("%s Cache-Control %q", u, cc)
		}
		etag := w.Header().Get("ETag")
		if etag == "" || w.Header().Get("Content-Encoding") != "" {
			t.Errorf("%s without Accept-Encoding: ETag %q, Content-Encoding %q", u, etag, w.Header().Get("Content-Encoding"))
		}
		if nm := ts.do(req{method: "GET", path: u, basic: true, header: map[string]string{"If-None-Match": etag}}); nm.Code != 304 || nm.Body.Len() != 0 {
			t.Errorf("%s If-None-Match: %d, %d bytes", u, nm.Code, nm.Body.Len())
		}
		gz := ts.do(req{method: "GET", path: u, basic: true, header: map[string]string{"Accept-Encoding": "br, gzip"}})
		if gz.Header().Get("Content-Encoding") != "gzip" || !strings.Contains(gz.Header().Get("Vary"), "Accept-Encoding") {
			t.Fatalf("%s gzip: Content-Encoding %q Vary %q", u, gz.Header().Get("Content-Encoding"), gz.Header().Get("Vary"))
		}
		if gz.Header().Get("ETag") == etag {
			t.Errorf("%s: the gzip variant shares the ETag %s of the identity body", u, etag)
		}
		gzLen := gz.Body.Len()
		zr, err := gzip.NewReader(gz.Body)
		if err != nil {
			t.Fatal(err)
		}
		plain, _ := io.ReadAll(zr)
		if !bytes.Equal(plain, w.Body.Bytes()) {
			t.Errorf("%s: gunzipped body differs from the identity body", u)
		}
		if strings.Contains(u, "htmx") {
			if !bytes.Equal(plain, htmx) {
				t.Errorf("htmx body is not the embedded file")
			}
			t.Logf("htmx: %d bytes, %d gzipped", len(plain), gzLen)
			if gzLen*2 > len(plain) {
				t.Errorf("htmx gzipped %d of %d bytes", gzLen, len(plain))
			}
		}
		if q0 := ts.do(req{method: "GET", path: u, basic: true, header: map[string]string{"Accept-Encoding": "gzip;q=0"}}); q0.Header().Get("Content-Encoding") != "" {
			t.Errorf("%s: gzip;q=0 still got gzip", u)
		}
	}
	// the plain URL still works, revalidated
	w := ts.do(req{method: "GET", path: "/static/htmx.min.js", basic: true})
	if w.Code != 200 || w.Header().Get("Cache-Control") != "no-cache" || w.Header().Get("ETag") == "" {
		t.Errorf("plain URL: %d Cache-Control %q ETag %q", w.Code, w.Header().Get("Cache-Control"), w.Header().Get("ETag"))
	}
	if w := ts.do(req{method: "GET", path: "/static/htmx.min.0123456789ab.js", basic: true}); w.Code != 404 {
		t.Errorf("a wrong hash: %d", w.Code)
	}
	// the login page's stylesheet is open under its hashed name
	login := ts.do(req{method: "GET", path: "/login"})
	m := hashedRE.FindStringSubmatch(login.Body.String())
	if m == nil {
		t.Fatalf("login page links no hashed stylesheet")
	}
	if w := ts.do(req{method: "GET", path: m[1]}); w.Code != 200 {
		t.Errorf("GET %s without auth: %d", m[1], w.Code)
	}
	if w := ts.do(req{method: "GET", path: strings.Replace(m[1], "app.", "htmx.min.", 1)}); w.Code == 200 {
		t.Errorf("another hashed name is open without auth")
	}
}

func TestAcceptsGzip(t *testing.T) {
	for h, want := range map[string]bool{"": false, "gzip": true, "deflate, gzip;q=0.5": true, "GZIP": true,
		"gzip;q=0": false, "identity": false, "*": true, "br": false} {
		if got := acceptsGzip(h); got != want {
			t.Errorf("acceptsGzip(%q) = %v", h, got)
		}
	}
}

// BenchmarkPages is the server time of a full page and an htmx navigation
// of the overview and a group page, through the echo handler (a logged-in
// browser session: cookie, CSRF, working copy). Run with
// go test -run '^$' -bench BenchmarkPages ./internal/editor/
func BenchmarkPages(b *testing.B) {
	if la, err := os.ReadFile("/proc/loadavg"); err == nil {
		b.Logf("load average %s, %d cores", strings.TrimSpace(string(la)), runtime.NumCPU())
	}
	ts := newTestServer(b, true)
	ck, _ := ts.login(b)
	for _, tc := range []struct{ name, path string }{
		{"overview", "/"}, {"group-database", "/group/Database"}, {"storage", "/group/DistributedStorage"},
	} {
		for _, htmx := range []bool{false, true} {
			name := tc.name + "/full"
			h := map[string]string{}
			if htmx {
				name, h = tc.name+"/htmx", map[string]string{"HX-Request": "true"}
			}
			b.Run(name, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if w := ts.do(req{method: "GET", path: tc.path, cookie: ck, header: h}); w.Code != 200 {
						b.Fatal(w.Code, tc.path)
					}
				}
			})
		}
	}
}
