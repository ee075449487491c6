package editor

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quay-tools/config-editor/internal/secret"
)

// countingReader yields n bytes of 'p' and counts what was read.
type countingReader struct {
	mu         sync.Mutex
	left, read int64
}

func (r *countingReader) Read(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.left <= 0 {
		return 0, io.EOF
	}
	n := min(int64(len(p)), r.left)
	for i := range p[:n] {
		p[i] = 'p'
	}
	r.left -= n
	r.read += n
	return int(n), nil
}

func (r *countingReader) count() int64 { r.mu.Lock(); defer r.mu.Unlock(); return r.read }

// multipartLogin is a multipart login form whose password field is
// followed by the reader's bytes (the 16 MB password of the attack).
func multipartLogin(pw io.Reader) (io.Reader, string) {
	var head bytes.Buffer
	mw := multipart.NewWriter(&head)
	_ = mw.WriteField("username", User)
	_, _ = mw.CreatePart(map[string][]string{"Content-Disposition": {`form-data; name="password"`}})
	tail := "\r\n--" + mw.Boundary() + "--\r\n"
	return io.MultiReader(&head, pw, strings.NewReader(tail)), mw.FormDataContentType()
}

func loginFailures(ts *testServer) int {
	ts.limiter.mu.Lock()
	defer ts.limiter.mu.Unlock()
	n := 0
	for _, f := range ts.limiter.fails {
		n += len(f)
	}
	return n
}

// TestLoginBodyCappedBeforeAuth is the unauthenticated memory blow-up: a
// multipart login with a 16 MB password field must be refused after a
// few KiB, declared or not, and count as no login attempt.
func TestLoginBodyCappedBeforeAuth(t *testing.T) {
	ts := newTestServer(t, false)
	const sixteenMB = 16_000_000
	// Declared length: refused before reading.
	pw := &countingReader{left: sixteenMB}
	body, ctype := multipartLogin(pw)
	r := httptest.NewRequest("POST", "/login", body)
	r.ContentLength = sixteenMB + 300
	r.Header.Set("Content-Type", ctype)
	w := httptest.NewRecorder()
	ts.Handler().ServeHTTP(w, r)
	if w.Code != http.StatusRequestEntityTooLarge || pw.count() > 0 {
		t.Fatalf("declared 16 MB login: %d after reading %d bytes of the password", w.Code, pw.count())
	}
	// Chunked: cut after PreAuthBodyLimit.
	pw = &countingReader{left: sixteenMB}
	body, ctype = multipartLogin(pw)
	r = httptest.NewRequest("POST", "/login", body)
	r.ContentLength = -1
	r.Header.Set("Content-Type", ctype)
	w = httptest.NewRecorder()
	ts.Handler().ServeHTTP(w, r)
	if w.Code != http.StatusRequestEntityTooLarge || pw.count() > PreAuthBodyLimit+64<<10 {
		t.Fatalf("chunked 16 MB login: %d after reading %d bytes of the password", w.Code, pw.count())
	}
	// An urlencoded form over the cap, too.
	long := url.Values{"password": {strings.Repeat("x", PreAuthBodyLimit)}}.Encode()
	r = httptest.NewRequest("POST", "/login", strings.NewReader(long))
	r.ContentLength = -1
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w = httptest.NewRecorder()
	ts.Handler().ServeHTTP(w, r)
	if w.Code != http.StatusRequestEntityTooLarge {
		t.Fatalf("urlencoded form over %d bytes: %d", PreAuthBodyLimit, w.Code)
	}
	if n := loginFailures(ts); n != 0 {
		t.Errorf("%d failed logins counted for bodies that were never compared", n)
	}
	// A normal login still works.
	ts.login(t)
}

// TestBodyLimitsAfterAuthOnly: an unauthenticated request to a bundle
// route reads nothing; a multipart body gets the large limit only on the
// upload routes, and only after authentication.
func TestBodyLimitsAfterAuthOnly(t *testing.T) {
	ts := newTestServer(t, false)
	const two = 2 << 20
	body := &countingReader{left: two}
	r := httptest.NewRequest("POST", "/api/v1/config/validate", body)
	r.ContentLength = -1
	w := httptest.NewRecorder()
	ts.Handler().ServeHTTP(w, r)
	if w.Code != http.StatusUnauthorized || body.count() > 0 {
		t.Fatalf("unauthenticated bundle POST: %d after reading %d bytes", w.Code, body.count())
	}
	// Multipart to a route that is not an upload: the form limit.
	body = &countingReader{left: two}
	mp, ctype := multipartLogin(body)
	r = httptest.NewRequest("POST", "/validate", mp)
	r.ContentLength = -1
	r.Header.Set("Content-Type", ctype)
	r.SetBasicAuth(User, testPassword)
	w = httptest.NewRecorder()
	ts.Handler().ServeHTTP(w, r)
	if body.count() > FormBodyLimit+64<<10 {
		t.Fatalf("multipart POST /validate read %d bytes (answer %d), want at most the form limit %d", body.count(), w.Code, FormBodyLimit)
	}
	// A declared large multipart to a non-upload route: refused unread.
	body = &countingReader{left: two}
	mp, ctype = multipartLogin(body)
	r = httptest.NewRequest("POST", "/group/HostSettings", mp)
	r.ContentLength = two + 300
	r.Header.Set("Content-Type", ctype)
	r.SetBasicAuth(User, testPassword)
	w = httptest.NewRecorder()
	ts.Handler().ServeHTTP(w, r)
	if w.Code != http.StatusRequestEntityTooLarge || body.count() > 0 {
		t.Fatalf("declared 2 MiB multipart form post: %d after reading %d bytes", w.Code, body.count())
	}
}

// startServer runs ts on a loopback listener until the test ends.
func startServer(t *testing.T, ts *testServer) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ts.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Error("Serve did not return")
		}
	})
	return ln.Addr().String()
}

// TestLoginBodyDeadline: a login body that stalls is cut at the short
// pre-authentication deadline, not the server's two-minute ReadTimeout.
func TestLoginBodyDeadline(t *testing.T) {
	ts := newTestServer(t, false, func(c *Config) { c.PreAuthTimeout = 300 * time.Millisecond })
	addr := startServer(t, ts)
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second)) // a bound for the test, far below ReadTimeout
	fmt.Fprintf(conn, "POST /login HTTP/1.1\r\nHost: %s\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\npassword=", addr)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer to a stalled login body: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestTimeout {
		t.Fatalf("stalled login body: %d, want 408", resp.StatusCode)
	}
	if n := loginFailures(ts); n != 0 {
		t.Errorf("a stalled login counted as %d failures", n)
	}
}

// blockingBody hands out its content only after release is closed.
type blockingBody struct {
	release <-chan struct{}
	r       io.Reader
	started chan<- struct{}
	once    sync.Once
}

func (b *blockingBody) Read(p []byte) (int, error) {
	b.once.Do(func() { b.started <- struct{}{} })
	<-b.release
	return b.r.Read(p)
}

// TestLoginRaceCountsEveryAttempt is the raced rate limit: 40 login
// requests whose bodies are held until all of them are inside the handler
// may not have more than 5 passwords compared.
func TestLoginRaceCountsEveryAttempt(t *testing.T) {
	ts := newTestServer(t, false)
	const n = 40
	release := make(chan struct{})
	started := make(chan struct{}, n)
	codes := make(chan int, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			form := url.Values{"username": {User}, "password": {"guess-" + strconv.Itoa(i)}}.Encode()
			r := httptest.NewRequest("POST", "/login", &blockingBody{release: release, r: strings.NewReader(form), started: started})
			r.ContentLength = int64(len(form))
			r.RemoteAddr = "192.0.2.50:1000"
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			w := httptest.NewRecorder()
			ts.Handler().ServeHTTP(w, r)
			codes <- w.Code
		}()
	}
	for i := 0; i < n; i++ {
		select {
		case <-started:
		case <-time.After(30 * time.Second):
			t.Fatalf("only %d of %d handlers reached the body", i, n)
		}
	}
	close(release)
	wg.Wait()
	close(codes)
	count := map[int]int{}
	for c := range codes {
		count[c]++
	}
	if count[401] != 5 || count[429] != n-5 {
		t.Fatalf("answers %v: want exactly 5 passwords compared (401) and %d refused (429)", count, n-5)
	}
}

func failLogin(ts *testServer, remote, xff string, pw string, ck *http.Cookie) *httptest.ResponseRecorder {
	form := url.Values{"username": {User}, "password": {pw}}
	h := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
	if xff != "" {
		h["X-Forwarded-For"] = xff
	}
	return ts.do(req{method: "POST", path: "/login", body: strings.NewReader(form.Encode()), remote: remote, header: h, cookie: ck})
}

func basicFrom(ts *testServer, remote, xff string) int {
	hr := httptest.NewRequest("GET", "/api/v1/openapi.json", nil)
	hr.RemoteAddr = remote
	if xff != "" {
		hr.Header.Set("X-Forwarded-For", xff)
	}
	hr.SetBasicAuth(User, testPassword)
	w := httptest.NewRecorder()
	ts.Handler().ServeHTTP(w, hr)
	return w.Code
}

// TestTrustedProxies: behind a trusted proxy, failures count per client
// named in X-Forwarded-For, so one guesser does not lock out everyone; a
// peer that is not trusted cannot choose its address.
func TestTrustedProxies(t *testing.T) {
	const router = "10.128.2.7:40000"
	ts := newTestServer(t, false, func(c *Config) { c.TrustedProxies = []string{"10.128.0.0/14", "192.0.2.9"} })
	for i := 0; i < 5; i++ {
		if w := failLogin(ts, router, "203.0.113.66", "bad", nil); w.Code != 401 {
			t.Fatalf("failure %d through the proxy: %d", i+1, w.Code)
		}
	}
	if w := failLogin(ts, router, "203.0.113.66", testPassword, nil); w.Code != 429 {
		t.Fatalf("the guesser after 5 failures: %d, want 429", w.Code)
	}
	// The admin behind the same router is another client.
	if w := failLogin(ts, router, "198.51.100.7", testPassword, nil); w.Code != 303 {
		t.Fatalf("another client behind the proxy after someone's 5 failures: %d, want 303", w.Code)
	}
	if c := basicFrom(ts, router, "198.51.100.7"); c != 200 {
		t.Fatalf("basic auth of another client behind the proxy: %d", c)
	}
	// A forged left part of the chain does not help: the right-most
	// untrusted address is the client.
	if w := failLogin(ts, router, "198.51.100.99, 203.0.113.66", testPassword, nil); w.Code != 429 {
		t.Fatalf("guesser prepending a forged address: %d, want 429", w.Code)
	}
	// A trusted single address, and a chain of two trusted proxies.
	if w := failLogin(ts, "192.0.2.9:1", "10.128.0.1, 203.0.113.66", testPassword, nil); w.Code != 429 {
		t.Fatalf("through two trusted proxies: %d, want 429", w.Code)
	}
	// An untrusted peer's X-Forwarded-For is ignored, loopback included.
	for _, peer := range []string{"198.51.100.200:5", "127.0.0.1:5"} {
		for i := 0; i < 5; i++ {
			failLogin(ts, peer, "198.51.100.123", "bad", nil)
		}
		if w := failLogin(ts, "10.128.0.3:1", "198.51.100.123", testPassword, nil); w.Code != 303 {
			t.Fatalf("%s chose the address 198.51.100.123 through X-Forwarded-For", peer)
		}
		if w := failLogin(ts, peer, "", testPassword, nil); w.Code != 429 {
			t.Fatalf("untrusted peer %s after 5 failures: %d, want 429", peer, w.Code)
		}
	}
	if _, err := New(Config{Password: "x", TrustedProxies: []string{"10.0.0.0/33"}}); err == nil {
		t.Error("a bad CIDR was accepted")
	}
}

// TestXFFWithoutTrustedProxiesWarnsOnce: the log says why everyone
// behind a proxy shares one budget, once.
func TestXFFWithoutTrustedProxiesWarnsOnce(t *testing.T) {
	ts := newTestServer(t, false)
	for i := 0; i < 3; i++ {
		failLogin(ts, "10.0.0.1:1", "203.0.113.1", "bad", nil)
	}
	if n := strings.Count(ts.logs.String(), "a request carries X-Forwarded-For"); n != 1 {
		t.Fatalf("%d warnings about X-Forwarded-For without --trusted-proxies, want 1:\n%s", n, ts.logs)
	}
}

func deviceCookie(t *testing.T, w *httptest.ResponseRecorder) *http.Cookie {
	t.Helper()
	for _, c := range w.Result().Cookies() {
		if c.Name == DeviceCookieName {
			return c
		}
	}
	t.Fatal("a successful login set no known-device cookie")
	return nil
}

// TestKnownDeviceNotLockedOut: a guesser who shares the admin's address
// (no proxy header to tell them apart) locks the address, not the browser
// that logged in before; a forged device cookie counts as the address.
func TestKnownDeviceNotLockedOut(t *testing.T) {
	ts := newTestServer(t, false)
	const shared = "192.0.2.77:1"
	w := failLogin(ts, shared, "", testPassword, nil)
	if w.Code != 303 {
		t.Fatalf("first login: %d", w.Code)
	}
	dev := deviceCookie(t, w)
	if dev.Path != "/login" || !dev.HttpOnly || dev.SameSite != http.SameSiteStrictMode || dev.MaxAge <= 0 {
		t.Errorf("device cookie flags: %+v", dev)
	}
	for i := 0; i < 5; i++ {
		failLogin(ts, shared, "", "bad", nil)
	}
	if w := failLogin(ts, shared, "", testPassword, nil); w.Code != 429 {
		t.Fatalf("unknown browser at the locked address: %d, want 429", w.Code)
	}
	w = failLogin(ts, shared, "", testPassword, dev)
	if w.Code != 303 {
		t.Fatalf("the admin's known browser at the locked address: %d, want 303", w.Code)
	}
	for _, c := range w.Result().Cookies() {
		if c.Name == DeviceCookieName {
			t.Error("a known device got a second device cookie")
		}
	}
	forged := &http.Cookie{Name: DeviceCookieName, Value: dev.Value[:len(dev.Value)-2] + "AA"}
	if w := failLogin(ts, shared, "", testPassword, forged); w.Code != 429 {
		t.Fatalf("forged device cookie at the locked address: %d, want 429", w.Code)
	}
	// The device has a budget of its own.
	for i := 0; i < 5; i++ {
		failLogin(ts, "192.0.2.78:1", "", "bad", dev)
	}
	if w := failLogin(ts, "192.0.2.79:1", "", testPassword, dev); w.Code != 429 {
		t.Fatalf("device after 5 failures of its own: %d, want 429", w.Code)
	}
	if w := failLogin(ts, "192.0.2.79:1", "", testPassword, nil); w.Code != 303 {
		t.Fatalf("address not involved: %d", w.Code)
	}
}

// TestIPv6ThrottledPer64: one host's /64 is one client.
func TestIPv6ThrottledPer64(t *testing.T) {
	ts := newTestServer(t, false)
	for i := 1; i <= 5; i++ {
		failLogin(ts, fmt.Sprintf("[2001:db8:1:2::%x]:1", i), "", "bad", nil)
	}
	if w := failLogin(ts, "[2001:db8:1:2:ffff::1]:1", "", testPassword, nil); w.Code != 429 {
		t.Fatalf("same /64: %d, want 429", w.Code)
	}
	if w := failLogin(ts, "[2001:db8:1:3::1]:1", "", testPassword, nil); w.Code != 303 {
		t.Fatalf("another /64: %d, want 303", w.Code)
	}
}

// TestLoginLimiterBounded: a spray of addresses cannot grow the table past
// its bound, and expired entries go at the sweep.
func TestLoginLimiterBounded(t *testing.T) {
	ts := newTestServer(t, false)
	const spray = maxThrottledClients + 2000
	for i := 0; i < spray; i++ {
		form := "password=bad"
		r := httptest.NewRequest("POST", "/login", strings.NewReader(form))
		r.RemoteAddr = fmt.Sprintf("10.%d.%d.%d:1", i>>16&255, i>>8&255, i&255)
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		ts.Handler().ServeHTTP(httptest.NewRecorder(), r)
	}
	ts.limiter.mu.Lock()
	n := len(ts.limiter.fails)
	ts.limiter.mu.Unlock()
	if n > maxThrottledClients {
		t.Fatalf("%d addresses in the failed-login table, bound %d", n, maxThrottledClients)
	}
	ts.clock.Add(61 * time.Second)
	ts.limiter.sweep()
	if n := ts.limiter.size(); n != 0 {
		t.Fatalf("%d entries left after the window and a sweep", n)
	}
}

// BenchmarkLoginFailureSpray: failed logins from always new addresses
// once the table holds more than 10,000 (the sweep used to run under the
// lock on every one of them).
func BenchmarkLoginFailureSpray(b *testing.B) {
	ts := newTestServer(b, false)
	body := "password=bad"
	i := 0
	spray := func(n int) {
		for ; n > 0; n-- {
			r := httptest.NewRequest("POST", "/login", strings.NewReader(body))
			r.RemoteAddr = fmt.Sprintf("10.%d.%d.%d:1", i>>16&255, i>>8&255, i&255)
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			ts.Handler().ServeHTTP(httptest.NewRecorder(), r)
			i++
		}
	}
	spray(12000)
	b.ResetTimer()
	spray(b.N)
}

// TestHEADLikeGET: HEAD answers what GET answers, open and behind auth.
func TestHEADLikeGET(t *testing.T) {
	ts := newTestServer(t, true)
	ck, _ := ts.login(t)
	for _, r := range []req{
		{method: "HEAD", path: "/healthz"},
		{method: "HEAD", path: "/login"},
		{method: "HEAD", path: "/static/app.css"},
		{method: "HEAD", path: "/api/v1/config", basic: true},
		{method: "HEAD", path: "/api/v1/config/bundle", basic: true},
		{method: "HEAD", path: "/api/v1/openapi.json", basic: true},
		{method: "HEAD", path: "/metrics", basic: true},
		{method: "HEAD", path: "/", cookie: ck},
		{method: "HEAD", path: "/group/HostSettings", cookie: ck},
		{method: "HEAD", path: "/diff", cookie: ck},
	} {
		g := r
		g.method = "GET"
		want := ts.do(g)
		got := ts.do(r)
		if got.Code != want.Code || got.Header().Get("Content-Type") != want.Header().Get("Content-Type") {
			t.Errorf("HEAD %s: %d %q; GET: %d %q", r.path, got.Code, got.Header().Get("Content-Type"), want.Code, want.Header().Get("Content-Type"))
		}
	}
	if w := ts.do(req{method: "HEAD", path: "/api/v1/config", basic: true}); w.Header().Get("ETag") == "" {
		t.Error("HEAD /api/v1/config without ETag")
	}
	// Unauthenticated HEAD is refused like GET.
	if w := ts.do(req{method: "HEAD", path: "/api/v1/config"}); w.Code != 401 {
		t.Errorf("HEAD /api/v1/config without auth: %d", w.Code)
	}
}

// TestRequestIDIsOurs: a client's X-Request-Id is neither answered nor
// logged as the request id; it is logged capped and cleaned.
func TestRequestIDIsOurs(t *testing.T) {
	ts := newTestServer(t, false)
	client := "injected\x1b[31m" + strings.Repeat("A", 300)
	w := ts.do(req{method: "GET", path: "/login", header: map[string]string{"X-Request-Id": client}})
	id := w.Header().Get("X-Request-Id")
	if !regexp.MustCompile(`^[0-9a-f]{16}$`).MatchString(id) {
		t.Fatalf("X-Request-Id %q is not one of ours", id)
	}
	var line struct {
		RequestID       string `json:"request_id"`
		ClientRequestID string `json:"client_request_id"`
	}
	for _, l := range strings.Split(ts.logs.String(), "\n") {
		if strings.Contains(l, `"msg":"request"`) {
			if err := json.Unmarshal([]byte(l), &line); err != nil {
				t.Fatal(err)
			}
		}
	}
	if line.RequestID != id {
		t.Errorf("logged request_id %q, answered %q", line.RequestID, id)
	}
	if len(line.ClientRequestID) != maxClientRequestID || !strings.HasPrefix(line.ClientRequestID, "injected??31mAAA") {
		t.Errorf("client_request_id %q: want the client's id cleaned and cut to %d", line.ClientRequestID, maxClientRequestID)
	}
	if strings.Contains(ts.logs.String(), "\x1b") || strings.Contains(ts.logs.String(), `\u001b`) {
		t.Error("an escape character of the client's id reached the log")
	}
}

// TestPutAnswersETagAlways: basic-auth clients share one working copy;
// every PUT answer tells them its revision.
func TestPutAnswersETagAlways(t *testing.T) {
	ts := newTestServer(t, true, func(c *Config) { c.ReadOnlyGroups = []string{"Database"} })
	put := func(body, ifMatch string) *httptest.ResponseRecorder {
		h := map[string]string{"Content-Type": "application/json"}
		if ifMatch != "" {
			h["If-Match"] = ifMatch
		}
		return ts.do(req{method: "PUT", path: "/api/v1/config", basic: true, body: strings.NewReader(body), header: h})
	}
	for _, tc := range []struct {
		name, body, ifMatch string
		code                int
		etag                string
	}{
		{"malformed", `{"config.yaml": `, "", 400, `"1"`},
		{"empty", ``, "", 400, `"1"`},
		{"stored", `{"config.yaml": {"SERVER_HOSTNAME": "a.example.com", "DB_URI": "postgresql://quay:dbPassw0rdXyz@db.example.com/quay"}}`, "", 200, `"2"`},
		{"stale", `{"config.yaml": {"SERVER_HOSTNAME": "b.example.com"}}`, `"1"`, 412, `"2"`},
		{"read-only group", `{"config.yaml": {"SERVER_HOSTNAME": "a.example.com", "DB_URI": "postgresql://x@y/z"}}`, `"2"`, 403, `"2"`},
		{"stored again", `{"config.yaml": {"SERVER_HOSTNAME": "c.example.com", "DB_URI": "postgresql://quay:dbPassw0rdXyz@db.example.com/quay"}}`, `"2"`, 200, `"3"`},
	} {
		w := put(tc.body, tc.ifMatch)
		if w.Code != tc.code || w.Header().Get("ETag") != tc.etag {
			t.Errorf("%s: %d ETag %q, want %d %q (%s)", tc.name, w.Code, w.Header().Get("ETag"), tc.code, tc.etag, w.Body)
		}
	}
}

// TestTLSOnlyAEAD: TLS 1.2 with a CBC suite is refused, AES-GCM works.
func TestTLSOnlyAEAD(t *testing.T) {
	dir := t.TempDir()
	cert, key := writeTLSPair(t, dir)
	ts := newTestServer(t, false, func(c *Config) { c.TLSCert, c.TLSKey = cert, key })
	addr := startServer(t, ts)
	certPEM, _ := os.ReadFile(cert)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(certPEM)
	dial := func(suite uint16) error {
		d := &net.Dialer{Timeout: 5 * time.Second}
		c, err := tls.DialWithDialer(d, "tcp", addr, &tls.Config{RootCAs: pool, ServerName: "127.0.0.1",
			MinVersion: tls.VersionTLS12, MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{suite}})
		if err == nil {
			c.Close()
		}
		return err
	}
	for _, s := range []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA} {
		if err := dial(s); err == nil {
			t.Errorf("TLS 1.2 handshake with %s succeeded", tls.CipherSuiteName(s))
		}
	}
	for _, s := range []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256} {
		if err := dial(s); err != nil {
			t.Errorf("TLS 1.2 handshake with %s: %v", tls.CipherSuiteName(s), err)
		}
	}
}

// publicAddrListener is a loopback listener that reports a wildcard
// address, as a listener on ":8080" would (nothing listens beyond loopback).
type publicAddrListener struct{ net.Listener }

func (l publicAddrListener) Addr() net.Addr {
	a := l.Listener.Addr().(*net.TCPAddr)
	return &net.TCPAddr{IP: net.IPv4zero, Port: a.Port}
}

// TestWeakPasswordWarning: a short password on an address other hosts can
// reach is warned about loudly at start-up; on loopback, or long, it is not.
func TestWeakPasswordWarning(t *testing.T) {
	for _, tc := range []struct {
		name     string
		password string
		public   bool
		warn     bool
	}{
		{"short on all interfaces", "Xq7zpW", true, true},
		{"long on all interfaces", "a-long-Random-passphrase-77", true, false},
		{"short on loopback", "Xq7zpW", false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := newTestServer(t, false, func(c *Config) { c.Password = secret.New(tc.password) })
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			if tc.public {
				ln = publicAddrListener{ln}
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- ts.Serve(ctx, ln) }()
			deadline := time.Now().Add(10 * time.Second)
			for !strings.Contains(ts.logs.String(), "config editor listening") && time.Now().Before(deadline) {
				time.Sleep(5 * time.Millisecond)
			}
			cancel()
			<-done
			logs := ts.logs.String()
			if got := strings.Contains(logs, "WARNING: the password is shorter than"); got != tc.warn {
				t.Fatalf("warning logged %v, want %v:\n%s", got, tc.warn, logs)
			}
			if strings.Contains(logs, tc.password) {
				t.Error("the warning shows the password")
			}
		})
	}
}

// TestOversizeBodyAnsweredOverTheWire: a declared oversize body is
// answered 413 and the client reads it (the connection is half-closed
// gracefully, not reset under the client's feet), before and after
// authentication.
func TestOversizeBodyAnsweredOverTheWire(t *testing.T) {
	ts := newTestServer(t, false)
	base := "http://" + startServer(t, ts)
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	cl := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	big := bytes.Repeat([]byte("x"), BundleBodyLimit+1<<20)
	for _, tc := range []struct {
		method, path string
		basic        bool
	}{
		{"POST", "/login", false},
		{"PUT", "/api/v1/config", true},
	} {
		for i := 0; i < 3; i++ {
			r, _ := http.NewRequest(tc.method, base+tc.path, bytes.NewReader(big))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if tc.basic {
				r.SetBasicAuth(User, testPassword)
			}
			resp, err := cl.Do(r)
			if err != nil {
				t.Fatalf("%s %s with a declared %d-byte body: %v", tc.method, tc.path, len(big), err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusRequestEntityTooLarge {
				t.Fatalf("%s %s with a declared %d-byte body: %d", tc.method, tc.path, len(big), resp.StatusCode)
			}
		}
	}
}
