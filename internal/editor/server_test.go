package editor

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

const testPassword = "s3cret-Pa55word"

// testConfigYAML is a small mounted bundle with a comment, a secret and a
// key that has a default elsewhere.
const testConfigYAML = `# Quay config under test
SERVER_HOSTNAME: quay.example.com # the public name
DB_URI: postgresql://quay:dbPassw0rdXyz@db.example.com/quay
SECRET_KEY: topSecretKeyValue123
FEATURE_REPO_MIRROR: true
`

var testCA = []byte("-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n")

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (f *fakeClock) Now() time.Time { f.mu.Lock(); defer f.mu.Unlock(); return f.t }
func (f *fakeClock) Add(d time.Duration) {
	f.mu.Lock()
	f.t = f.t.Add(d)
	f.mu.Unlock()
}

// syncBuffer collects logs from concurrent handlers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func writeBundleDir(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "config.yaml"), []byte(testConfigYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "extra_ca_certs"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "extra_ca_certs", "corp.crt"), testCA, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

type testServer struct {
	*Server
	logs  *syncBuffer
	clock *fakeClock
	dir   string
}

// newTestServer builds a server on a mounted bundle directory (mounted
// true) or in setup mode; mod tweaks the config.
func newTestServer(t testing.TB, mounted bool, mod ...func(*Config)) *testServer {
	t.Helper()
	ts := &testServer{logs: &syncBuffer{}, clock: &fakeClock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}}
	cfg := Config{
		Password: testPassword,
		Logger:   slog.New(slog.NewJSONHandler(ts.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Now:      ts.clock.Now,
		Version:  "test",
		StateDir: t.TempDir(),
	}
	if mounted {
		ts.dir = writeBundleDir(t)
		cfg.BundlePath = ts.dir
	}
	for _, m := range mod {
		m(&cfg)
	}
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts.Server = srv
	return ts
}

type req struct {
	method, path string
	body         io.Reader
	header       map[string]string
	basic        bool
	cookie       *http.Cookie
	remote       string
}

func (ts *testServer) do(r req) *httptest.ResponseRecorder {
	hr := httptest.NewRequest(r.method, r.path, r.body)
	for k, v := range r.header {
		hr.Header.Set(k, v)
	}
	if r.basic {
		hr.SetBasicAuth(User, testPassword)
	}
	if r.cookie != nil {
		hr.AddCookie(r.cookie)
	}
	if r.remote != "" {
		hr.RemoteAddr = r.remote
	}
	w := httptest.NewRecorder()
	ts.Handler().ServeHTTP(w, hr)
	return w
}

// login posts the login form and returns the session cookie and session.
func (ts *testServer) login(t testing.TB) (*http.Cookie, *Session) {
	t.Helper()
	form := url.Values{"username": {User}, "password": {testPassword}}
	w := ts.do(req{method: "POST", path: "/login", body: strings.NewReader(form.Encode()),
		header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}})
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/" {
		t.Fatalf("login: %d %q %s", w.Code, w.Header().Get("Location"), w.Body)
	}
	var ck *http.Cookie
	for _, c := range w.Result().Cookies() {
		if c.Name == CookieName {
			ck = c
		}
	}
	if ck == nil {
		t.Fatal("login set no session cookie")
	}
	sess := ts.sessions.get(ck.Value)
	if sess == nil {
		t.Fatal("cookie names no session")
	}
	return ck, sess
}

func TestNewRefuses(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.pem")
	if err := os.WriteFile(garbage, []byte("not PEM"), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, key := writeTLSPair(t, dir)
	for name, cfg := range map[string]Config{
		"no password":      {},
		"missing cert":     {Password: "x", TLSCert: filepath.Join(dir, "nope.crt"), TLSKey: key},
		"garbage cert":     {Password: "x", TLSCert: garbage, TLSKey: key},
		"garbage key":      {Password: "x", TLSCert: cert, TLSKey: garbage},
		"cert without key": {Password: "x", TLSCert: cert},
		"key without cert": {Password: "x", TLSKey: key},
		"swapped pair":     {Password: "x", TLSCert: key, TLSKey: cert},
		"missing bundle":   {Password: "x", BundlePath: filepath.Join(dir, "none")},
		"unknown group":    {Password: "x", ReadOnlyGroups: []string{"Databse"}},
	} {
		srv, err := New(cfg)
		if err == nil || srv != nil {
			t.Errorf("%s: New succeeded, want an error", name)
			continue
		}
	}
	srv, err := New(Config{Password: "x", TLSCert: cert, TLSKey: key})
	if err != nil {
		t.Fatalf("good TLS pair refused: %v", err)
	}
	if !srv.TLS() {
		t.Fatal("TLS pair loaded but TLS() false")
	}
}

func writeTLSPair(t testing.TB, dir string) (certFile, keyFile string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "localhost"},
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kd, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kd}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

func TestHealthzWithoutAuth(t *testing.T) {
	ts := newTestServer(t, false)
	w := ts.do(req{method: "GET", path: "/healthz"})
	if w.Code != 200 || !strings.HasPrefix(w.Header().Get("Content-Type"), "application/json") || !strings.Contains(w.Body.String(), `"ok"`) {
		t.Fatalf("healthz: %d %q %s", w.Code, w.Header().Get("Content-Type"), w.Body)
	}
}

func TestSecurityHeaders(t *testing.T) {
	ts := newTestServer(t, true)
	for _, r := range []req{
		{method: "GET", path: "/login"},
		{method: "GET", path: "/api/v1/config", basic: true},
		{method: "GET", path: "/api/v1/config"},
		{method: "GET", path: "/healthz"},
	} {
		w := ts.do(r)
		h := w.Header()
		for k, want := range map[string]string{
			"X-Frame-Options":         "DENY",
			"X-Content-Type-Options":  "nosniff",
			"Referrer-Policy":         "no-referrer",
			"Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'",
		} {
			if got := h.Get(k); got != want {
				t.Errorf("%s %s: %s = %q, want %q", r.method, r.path, k, got, want)
			}
		}
		if h.Get("X-Request-Id") == "" {
			t.Errorf("%s %s: no X-Request-Id", r.method, r.path)
		}
	}
}

func TestUnauthenticated(t *testing.T) {
	ts := newTestServer(t, true)
	for _, tc := range []struct {
		r        req
		code     int
		location string
		hx       string
		json     bool
	}{
		{r: req{method: "GET", path: "/api/v1/config"}, code: 401, json: true},
		{r: req{method: "POST", path: "/api/v1/config/validate", body: strings.NewReader(`{}`)}, code: 401, json: true},
		{r: req{method: "GET", path: "/api/v1/openapi.json"}, code: 401, json: true},
		{r: req{method: "GET", path: "/metrics"}, code: 401, json: true},
		{r: req{method: "GET", path: "/"}, code: 303, location: "/login"},
		{r: req{method: "GET", path: "/static/app.js"}, code: 303, location: "/login"},
		{r: req{method: "GET", path: "/", header: map[string]string{"HX-Request": "true"}}, code: 401, hx: "/login"},
		{r: req{method: "GET", path: "/api/v1/config", cookie: &http.Cookie{Name: CookieName, Value: "forged"}}, code: 401, json: true},
	} {
		w := ts.do(tc.r)
		if w.Code != tc.code {
			t.Errorf("%s %s: %d, want %d", tc.r.method, tc.r.path, w.Code, tc.code)
		}
		if tc.location != "" && w.Header().Get("Location") != tc.location {
			t.Errorf("%s %s: Location %q", tc.r.method, tc.r.path, w.Header().Get("Location"))
		}
		if tc.hx != "" && w.Header().Get("HX-Redirect") != tc.hx {
			t.Errorf("%s %s: HX-Redirect %q", tc.r.method, tc.r.path, w.Header().Get("HX-Redirect"))
		}
		if tc.json {
			if !strings.HasPrefix(w.Header().Get("WWW-Authenticate"), `Basic realm="config-editor"`) {
				t.Errorf("%s %s: WWW-Authenticate %q", tc.r.method, tc.r.path, w.Header().Get("WWW-Authenticate"))
			}
			assertJSONMessage(t, w)
		}
	}
	// The login page and its stylesheets are open.
	for _, p := range []string{"/login", "/static/app.css"} {
		if w := ts.do(req{method: "GET", path: p}); w.Code != 200 {
			t.Errorf("GET %s without auth: %d", p, w.Code)
		}
	}
	if ct := ts.do(req{method: "GET", path: "/static/app.css"}).Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/css") {
		t.Errorf("app.css Content-Type %q", ct)
	}
}

func assertJSONMessage(t testing.TB, w *httptest.ResponseRecorder) string {
	t.Helper()
	if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type %q, want JSON (body %s)", ct, w.Body)
		return ""
	}
	var m struct {
		Message *string `json:"message"`
	}
	if err := jsonUnmarshal(w.Body.Bytes(), &m); err != nil || m.Message == nil || *m.Message == "" {
		t.Errorf("want {\"message\": ...}, got %s (%v)", w.Body, err)
		return ""
	}
	return *m.Message
}

func TestBasicAuth(t *testing.T) {
	ts := newTestServer(t, true)
	hr := httptest.NewRequest("GET", "/api/v1/config", nil)
	hr.SetBasicAuth(User, "wrong")
	w := httptest.NewRecorder()
	ts.Handler().ServeHTTP(w, hr)
	if w.Code != 401 {
		t.Fatalf("wrong password: %d", w.Code)
	}
	hr = httptest.NewRequest("GET", "/api/v1/config", nil)
	hr.SetBasicAuth("admin", testPassword)
	w = httptest.NewRecorder()
	ts.Handler().ServeHTTP(w, hr)
	if w.Code != 401 {
		t.Fatalf("wrong user: %d", w.Code)
	}
	if w := ts.do(req{method: "GET", path: "/api/v1/config", basic: true}); w.Code != 200 {
		t.Fatalf("basic auth: %d %s", w.Code, w.Body)
	}
}

func TestLoginLogout(t *testing.T) {
	ts := newTestServer(t, true)
	w := ts.do(req{method: "GET", path: "/login"})
	if w.Code != 200 || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/html") || !strings.Contains(w.Body.String(), `name="password"`) {
		t.Fatalf("login page: %d %q", w.Code, w.Header().Get("Content-Type"))
	}
	if !strings.Contains(w.Header().Get("Vary"), "HX-Request") {
		t.Errorf("login page: Vary %q", w.Header().Get("Vary"))
	}
	form := url.Values{"username": {User}, "password": {"nope"}}
	w = ts.do(req{method: "POST", path: "/login", body: strings.NewReader(form.Encode()),
		header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}})
	if w.Code != 401 || len(w.Result().Cookies()) != 0 || !strings.Contains(w.Body.String(), "Wrong user name or password") {
		t.Fatalf("wrong password: %d cookies %v", w.Code, w.Result().Cookies())
	}
	ck, sess := ts.login(t)
	if !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Secure || ck.Path != "/" {
		t.Errorf("cookie flags: HttpOnly %v SameSite %v Secure %v Path %q", ck.HttpOnly, ck.SameSite, ck.Secure, ck.Path)
	}
	if sess.User != User || len(sess.CSRF) < 32 || sess.Rev != 1 || !sess.Mounted || sess.Work == nil || sess.Base == nil {
		t.Errorf("session: %+v", sess)
	}
	if w := ts.do(req{method: "GET", path: "/api/v1/config", cookie: ck}); w.Code != 200 {
		t.Fatalf("GET with session: %d", w.Code)
	}
	// Logged in: /login sends to the editor.
	if w := ts.do(req{method: "GET", path: "/login", cookie: ck}); w.Code != 303 {
		t.Errorf("GET /login logged in: %d", w.Code)
	}
	// Logout needs the token, then ends the session.
	if w := ts.do(req{method: "POST", path: "/logout", cookie: ck}); w.Code != 403 {
		t.Fatalf("logout without CSRF token: %d", w.Code)
	}
	w = ts.do(req{method: "POST", path: "/logout", cookie: ck, body: strings.NewReader(url.Values{CSRFField: {sess.CSRF}}.Encode()),
		header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}})
	if w.Code != 303 || w.Header().Get("Location") != "/login" {
		t.Fatalf("logout: %d %q", w.Code, w.Header().Get("Location"))
	}
	cleared := false
	for _, c := range w.Result().Cookies() {
		cleared = cleared || (c.Name == CookieName && c.MaxAge < 0)
	}
	if !cleared {
		t.Error("logout did not clear the cookie")
	}
	if w := ts.do(req{method: "GET", path: "/api/v1/config", cookie: ck}); w.Code != 401 {
		t.Fatalf("session still valid after logout: %d", w.Code)
	}
}

func TestLoginHTMXRedirect(t *testing.T) {
	ts := newTestServer(t, false)
	form := url.Values{"password": {testPassword}}
	w := ts.do(req{method: "POST", path: "/login", body: strings.NewReader(form.Encode()),
		header: map[string]string{"Content-Type": "application/x-www-form-urlencoded", "HX-Request": "true"}})
	if w.Code != 200 || w.Header().Get("HX-Redirect") != "/" {
		t.Fatalf("htmx login: %d HX-Redirect %q", w.Code, w.Header().Get("HX-Redirect"))
	}
	// A fragment request renders the content block only.
	w = ts.do(req{method: "GET", path: "/login", header: map[string]string{"HX-Request": "true"}})
	if w.Code != 200 || strings.Contains(w.Body.String(), "<html") || !strings.Contains(w.Body.String(), `name="password"`) {
		t.Fatalf("htmx GET /login rendered the layout or nothing: %d %s", w.Code, w.Body)
	}
}

func TestSessionExpiry(t *testing.T) {
	ts := newTestServer(t, false)
	ck, _ := ts.login(t)
	ts.clock.Add(7 * time.Hour)
	if w := ts.do(req{method: "GET", path: "/api/v1/config", cookie: ck}); w.Code != 202 {
		t.Fatalf("session used within TTL: %d", w.Code)
	}
	ts.clock.Add(8*time.Hour + time.Second)
	if w := ts.do(req{method: "GET", path: "/api/v1/config", cookie: ck}); w.Code != 401 {
		t.Fatalf("idle session past TTL: %d", w.Code)
	}
}

func TestLoginRateLimit(t *testing.T) {
	ts := newTestServer(t, false)
	post := func(pw, remote string) *httptest.ResponseRecorder {
		form := url.Values{"username": {User}, "password": {pw}}
		return ts.do(req{method: "POST", path: "/login", body: strings.NewReader(form.Encode()), remote: remote,
			header: map[string]string{"Content-Type": "application/x-www-form-urlencoded", "X-Forwarded-For": "10.9.9.9"}})
	}
	for i := 0; i < 5; i++ {
		if w := post("bad", "192.0.2.1:1234"); w.Code != 401 {
			t.Fatalf("failure %d: %d", i+1, w.Code)
		}
	}
	w := post(testPassword, "192.0.2.1:1234")
	if w.Code != 429 {
		t.Fatalf("6th attempt (right password) after 5 failures: %d, want 429", w.Code)
	}
	ra, err := strconv.Atoi(w.Header().Get("Retry-After"))
	if err != nil || ra < 1 || ra > 60 {
		t.Fatalf("Retry-After %q", w.Header().Get("Retry-After"))
	}
	// Basic auth from the same address is blocked too; a forged
	// X-Forwarded-For does not change the address.
	hr := httptest.NewRequest("GET", "/api/v1/config", nil)
	hr.RemoteAddr = "192.0.2.1:999"
	hr.SetBasicAuth(User, testPassword)
	rw := httptest.NewRecorder()
	ts.Handler().ServeHTTP(rw, hr)
	if rw.Code != 429 || rw.Header().Get("Retry-After") == "" {
		t.Fatalf("basic auth from a blocked address: %d", rw.Code)
	}
	assertJSONMessage(t, rw)
	// Another address is not affected.
	if w := post(testPassword, "192.0.2.2:1234"); w.Code != 303 {
		t.Fatalf("other address: %d", w.Code)
	}
	ts.clock.Add(61 * time.Second)
	if w := post(testPassword, "192.0.2.1:1234"); w.Code != 303 {
		t.Fatalf("after the window: %d", w.Code)
	}
}

func TestBasicAuthFailuresRateLimited(t *testing.T) {
	ts := newTestServer(t, false)
	for i := 0; i < 6; i++ {
		hr := httptest.NewRequest("GET", "/api/v1/config", nil)
		hr.SetBasicAuth(User, "guess"+strconv.Itoa(i))
		w := httptest.NewRecorder()
		ts.Handler().ServeHTTP(w, hr)
		want := 401
		if i == 5 {
			want = 429
		}
		if w.Code != want {
			t.Fatalf("attempt %d: %d, want %d", i+1, w.Code, want)
		}
	}
}

func TestCSRF(t *testing.T) {
	ts := newTestServer(t, true)
	ck, sess := ts.login(t)
	body := func() io.Reader { return strings.NewReader(`{"config.yaml": {"SERVER_HOSTNAME": "quay.example.com"}}`) }
	json := map[string]string{"Content-Type": "application/json"}
	if w := ts.do(req{method: "POST", path: "/api/v1/config/validate", cookie: ck, body: body(), header: json}); w.Code != 403 {
		t.Fatalf("session POST without token: %d", w.Code)
	} else {
		assertJSONMessage(t, w)
	}
	bad := map[string]string{"Content-Type": "application/json", CSRFHeader: "x" + sess.CSRF[1:]}
	if w := ts.do(req{method: "POST", path: "/api/v1/config/validate", cookie: ck, body: body(), header: bad}); w.Code != 403 {
		t.Fatalf("session POST with a wrong token: %d", w.Code)
	}
	good := map[string]string{"Content-Type": "application/json", CSRFHeader: sess.CSRF}
	if w := ts.do(req{method: "POST", path: "/api/v1/config/validate", cookie: ck, body: body(), header: good}); w.Code != 200 {
		t.Fatalf("session POST with token: %d %s", w.Code, w.Body)
	}
	// Another session's token does not work.
	_, other := ts.login(t)
	if w := ts.do(req{method: "POST", path: "/api/v1/config/validate", cookie: ck, body: body(),
		header: map[string]string{CSRFHeader: other.CSRF}}); w.Code != 403 {
		t.Fatalf("token of another session: %d", w.Code)
	}
	// Basic auth is exempt from the token...
	if w := ts.do(req{method: "POST", path: "/api/v1/config/validate", basic: true, body: body()}); w.Code != 200 {
		t.Fatalf("basic POST without token: %d", w.Code)
	}
	// ...but not from the cross-site check (browsers replay basic credentials).
	for _, h := range []map[string]string{{"Origin": "https://evil.example"}, {"Sec-Fetch-Site": "cross-site"}, {"Origin": "null"}} {
		if w := ts.do(req{method: "POST", path: "/api/v1/config/validate", basic: true, body: body(), header: h}); w.Code != 403 {
			t.Errorf("basic POST with %v: %d", h, w.Code)
		}
	}
	if w := ts.do(req{method: "POST", path: "/api/v1/config/validate", basic: true, body: body(),
		header: map[string]string{"Origin": "http://example.com"}}); w.Code != 200 {
		t.Errorf("same-origin POST: %d", w.Code)
	}
	form := url.Values{"password": {testPassword}}
	if w := ts.do(req{method: "POST", path: "/login", body: strings.NewReader(form.Encode()),
		header: map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Origin": "https://evil.example"}}); w.Code != 403 {
		t.Errorf("cross-site login: %d", w.Code)
	}
}

func TestSecureCookieUnderTLS(t *testing.T) {
	dir := t.TempDir()
	cert, key := writeTLSPair(t, dir)
	ts := newTestServer(t, false, func(c *Config) { c.TLSCert, c.TLSKey = cert, key })
	ck, _ := ts.login(t)
	if !ck.Secure || !ck.HttpOnly {
		t.Fatalf("cookie under TLS: Secure %v HttpOnly %v", ck.Secure, ck.HttpOnly)
	}
	if h := ts.do(req{method: "GET", path: "/healthz"}).Header().Get("Strict-Transport-Security"); h == "" {
		// echo sets HSTS only for TLS requests; the recorder's request is plain.
		t.Log("no HSTS on a plain test request (expected)")
	}
}

// TestServeTLSAndShutdown runs the real listener: HTTPS answers, plain
// HTTP does not, and cancelling the context shuts down cleanly.
func TestServeTLSAndShutdown(t *testing.T) {
	dir := t.TempDir()
	cert, key := writeTLSPair(t, dir)
	ts := newTestServer(t, false, func(c *Config) { c.TLSCert, c.TLSKey = cert, key })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ts.Serve(ctx, ln) }()
	pem, _ := os.ReadFile(cert)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	tr := &http.Transport{TLSClientConfig: tlsClient(pool)}
	defer tr.CloseIdleConnections()
	cl := &http.Client{Transport: tr, Timeout: 5 * time.Second}
	resp, err := cl.Get("https://" + ln.Addr().String() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Strict-Transport-Security") == "" {
		t.Fatalf("https healthz: %d HSTS %q", resp.StatusCode, resp.Header.Get("Strict-Transport-Security"))
	}
	if resp, err := (&http.Client{Timeout: 5 * time.Second}).Get("http://" + ln.Addr().String() + "/healthz"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == 200 {
			t.Fatal("plain HTTP answered on the TLS port")
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("shutdown: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after cancel")
	}
	if !strings.Contains(ts.logs.String(), "shutting down") {
		t.Error("no shutdown log line")
	}
}

// TestNoSecretsInLogs drives logins, basic auth and API calls carrying
// secrets and checks none reaches the log.
func TestNoSecretsInLogs(t *testing.T) {
	ts := newTestServer(t, true)
	ck, sess := ts.login(t)
	form := url.Values{"username": {User}, "password": {"wrongPasswordValue42"}}
	ts.do(req{method: "POST", path: "/login", body: strings.NewReader(form.Encode()),
		header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}})
	ts.do(req{method: "GET", path: "/api/v1/config", basic: true})
	ts.do(req{method: "GET", path: "/api/v1/config?token=queryTokenValue77", cookie: ck})
	body := `{"config.yaml": {"DB_URI": "postgresql://u:bodyDbPass99@h/db", "SECRET_KEY": 5}}`
	ts.do(req{method: "POST", path: "/api/v1/config/validate?mode=offline", basic: true, body: strings.NewReader(body)})
	ts.do(req{method: "POST", path: "/api/v1/config/validate", cookie: ck, body: strings.NewReader(`{bad json bodyDbPass99`),
		header: map[string]string{CSRFHeader: sess.CSRF}})
	logs := ts.logs.String()
	if !strings.Contains(logs, `"msg":"request"`) || !strings.Contains(logs, `"request_id"`) {
		t.Fatalf("no request log lines: %s", logs)
	}
	for _, secret := range []string{testPassword, "wrongPasswordValue42", "queryTokenValue77", "bodyDbPass99",
		"dbPassw0rdXyz", "topSecretKeyValue123", sess.CSRF, ck.Value} {
		if strings.Contains(logs, secret) {
			t.Errorf("log contains the secret %q", secret)
		}
	}
}

func TestMetrics(t *testing.T) {
	ts := newTestServer(t, true)
	ts.do(req{method: "POST", path: "/api/v1/config/validate?mode=offline", basic: true,
		body: strings.NewReader(`{"config.yaml": {"SERVER_HOSTNAME": "quay.example.com"}}`)})
	ts.do(req{method: "GET", path: "/api/v1/config", basic: true})
	w := ts.do(req{method: "GET", path: "/metrics", basic: true})
	if w.Code != 200 || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/plain") {
		t.Fatalf("metrics: %d %q", w.Code, w.Header().Get("Content-Type"))
	}
	body := w.Body.String()
	for _, want := range []string{
		`config_editor_http_requests_total{code="200",method="GET",route="/api/v1/config"} 1`,
		`config_editor_http_requests_total{code="200",method="POST",route="/api/v1/config/validate"} 1`,
		`config_editor_http_request_duration_seconds_bucket{method="POST",route="/api/v1/config/validate",le="+Inf"} 1`,
		`config_editor_validations_total{mode="offline",result="invalid"} 1`,
		`config_editor_validation_problems_total{group=`,
		`config_editor_sessions 0`,
		`go_goroutines`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

func TestSessionCapEvictsLeastRecentlyUsed(t *testing.T) {
	ts := newTestServer(t, false, func(c *Config) { c.MaxSessions = 2 })
	ck1, _ := ts.login(t)
	ts.clock.Add(time.Second)
	ck2, _ := ts.login(t)
	ts.clock.Add(time.Second)
	// Using the first session makes the second the least recently used.
	if w := ts.do(req{method: "GET", path: "/api/v1/config", cookie: ck1}); w.Code != 202 {
		t.Fatalf("first session: %d", w.Code)
	}
	ts.clock.Add(time.Second)
	ck3, _ := ts.login(t)
	for _, tc := range []struct {
		ck   *http.Cookie
		want int
	}{{ck1, 202}, {ck2, 401}, {ck3, 202}} {
		if w := ts.do(req{method: "GET", path: "/api/v1/config", cookie: tc.ck}); w.Code != tc.want {
			t.Errorf("session %s...: %d, want %d", tc.ck.Value[:6], w.Code, tc.want)
		}
	}
	if n := ts.sessions.count(); n != 2 {
		t.Errorf("%d sessions live, cap 2", n)
	}
}
