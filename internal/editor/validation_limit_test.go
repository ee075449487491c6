package editor

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// countingHole is a loopback listener that accepts and never answers, and
// counts the connections accepted and open (it reads only to notice the
// client's close).
type countingHole struct {
	port             int
	accepted, open   atomic.Int64
	mu               sync.Mutex
	peakOpen, curNow int64
}

func newCountingHole(t testing.TB) *countingHole {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := &countingHole{port: l.Addr().(*net.TCPAddr).Port}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			h.accepted.Add(1)
			h.mu.Lock()
			h.curNow++
			h.peakOpen = max(h.peakOpen, h.curNow)
			h.mu.Unlock()
			h.open.Add(1)
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, _ = io.Copy(io.Discard, c)
				h.open.Add(-1)
				h.mu.Lock()
				h.curNow--
				h.mu.Unlock()
				_ = c.Close()
			}()
		}
	}()
	t.Cleanup(func() {
		_ = l.Close()
		mu.Lock()
		for _, c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return h
}

func (h *countingHole) peak() int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.peakOpen
}

// socketFDs counts the process's open socket descriptors.
func socketFDs() int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	n := 0
	for _, e := range ents {
		if l, err := os.Readlink("/proc/self/fd/" + e.Name()); err == nil && strings.HasPrefix(l, "socket:") {
			n++
		}
	}
	return n
}

func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// holeBundle is a ConfigBundle whose only service (a Redis) is the hole.
func holeBundle(h *countingHole) string {
	return fmt.Sprintf(`{"config.yaml": {"SERVER_HOSTNAME": "quay.example.com", "BUILDLOGS_REDIS": {"host": "127.0.0.1", "port": %d}}}`, h.port)
}

func onlineReq(ts *testServer, body string, cookie *http.Cookie, csrf string) *httptest.ResponseRecorder {
	r := req{method: "POST", path: "/api/v1/config/validate?mode=online", body: strings.NewReader(body),
		header: map[string]string{"Content-Type": "application/json"}}
	if cookie != nil {
		r.cookie = cookie
		r.header[CSRFHeader] = csrf
	} else {
		r.basic = true
	}
	return ts.do(r)
}

// 100 online validations at once from one session: the first runs, the
// others are refused at once with 409, a message and Retry-After, and only
// the first ever connects. Offline validations are not limited.
func TestOnlineValidationOnePerSession(t *testing.T) {
	ts := newTestServer(t, false, func(c *Config) { c.ValidateTimeout = 2 * time.Second })
	h := newCountingHole(t)
	body := holeBundle(h)
	// warm up (lazily started runtime goroutines join the baseline)
	if w := validateReq(ts, "?mode=offline", body); w.Code != 200 {
		t.Fatalf("offline: %d %s", w.Code, w.Body)
	}
	baseline := runtime.NumGoroutine()

	first := make(chan *httptest.ResponseRecorder, 1)
	go func() { first <- onlineReq(ts, body, nil, "") }()
	waitFor(t, "the first validation to connect", func() bool { return h.accepted.Load() >= 1 })

	const n = 100
	var wg sync.WaitGroup
	codes := make([]*httptest.ResponseRecorder, n)
	var peakG, peakFDs atomic.Int64
	stop, sampled := make(chan struct{}), make(chan struct{})
	baseFDs := socketFDs()
	go func() {
		defer close(sampled)
		for {
			select {
			case <-stop:
				return
			default:
			}
			if g := int64(runtime.NumGoroutine()); g > peakG.Load() {
				peakG.Store(g)
			}
			if f := int64(socketFDs()); f > peakFDs.Load() {
				peakFDs.Store(f)
			}
			time.Sleep(2 * time.Millisecond)
		}
	}()
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i] = onlineReq(ts, body, nil, "")
		}()
	}
	wg.Wait()
	close(stop)
	<-sampled
	for i, w := range codes {
		if w.Code != http.StatusConflict {
			t.Fatalf("request %d: %d %s, want 409 while the session's validation runs", i, w.Code, w.Body)
		}
		if msg := assertJSONMessage(t, w); !strings.Contains(msg, "already running") {
			t.Fatalf("request %d: unclear message %q", i, msg)
		}
		if w.Header().Get("Retry-After") != "2" {
			t.Fatalf("request %d: Retry-After %q, want 2", i, w.Header().Get("Retry-After"))
		}
	}
	// offline validation of the same session is not held up
	if w := validateReq(ts, "?mode=offline", body); w.Code != 200 {
		t.Fatalf("offline during an online run: %d %s", w.Code, w.Body)
	}
	ps := decodeProblems(t, <-first)
	if !hasProblem(ps, "Redis", "BUILDLOGS_REDIS") {
		t.Fatalf("the running validation did not report the silent Redis: %v", ps)
	}
	if a := h.accepted.Load(); a != 1 {
		t.Errorf("%d connections to the service, want 1: refused validations must not connect", a)
	}
	if p := h.peak(); p > 1 {
		t.Errorf("%d connections open at once", p)
	}
	t.Logf("%d refused at once; peaks over the baseline: %d goroutines, %d socket descriptors", n, peakG.Load()-int64(baseline), peakFDs.Load()-int64(baseFDs))

	// the session may validate online again once its run ended
	waitFor(t, "the connection to close", func() bool { return h.open.Load() == 0 })
	decodeProblems(t, onlineReq(ts, body, nil, ""))
	if a := h.accepted.Load(); a != 2 {
		t.Errorf("%d connections after a second run, want 2", a)
	}
	waitFor(t, "goroutines back to the baseline", func() bool { return runtime.NumGoroutine() <= baseline })
}

// The process runs at most MaxOnlineValidations online validations; one
// more session is told the editor is busy (503, Retry-After) and gets in
// once a run ended.
func TestOnlineValidationsBoundedInProcess(t *testing.T) {
	ts := newTestServer(t, false, func(c *Config) { c.ValidateTimeout = 2 * time.Second; c.MaxOnlineValidations = 2 })
	h := newCountingHole(t)
	body := holeBundle(h)
	type login struct {
		ck   *http.Cookie
		csrf string
	}
	var sessions []login
	for range 3 {
		ck, sess := ts.login(t)
		sessions = append(sessions, login{ck, sess.CSRF})
	}
	done := make(chan *httptest.ResponseRecorder, 2)
	for _, s := range sessions[:2] {
		go func() { done <- onlineReq(ts, body, s.ck, s.csrf) }()
	}
	waitFor(t, "two validations to connect", func() bool { return h.accepted.Load() >= 2 })
	w := onlineReq(ts, body, sessions[2].ck, sessions[2].csrf)
	if w.Code != http.StatusServiceUnavailable {
		t.Fatalf("third session: %d %s, want 503 while 2 of 2 run", w.Code, w.Body)
	}
	if msg := assertJSONMessage(t, w); !strings.Contains(msg, "busy") || !strings.Contains(msg, "retry") {
		t.Fatalf("unclear message %q", msg)
	}
	if w.Header().Get("Retry-After") == "" {
		t.Fatal("no Retry-After")
	}
	if a := h.accepted.Load(); a != 2 {
		t.Fatalf("%d connections, want 2", a)
	}
	decodeProblems(t, <-done)
	decodeProblems(t, <-done)
	decodeProblems(t, onlineReq(ts, body, sessions[2].ck, sessions[2].csrf))
}

// In the pages: while the session's background validation runs, another
// online validation (full or of one section) is refused on the page it was
// asked from with the reason; the running one goes on and finishes.
func TestPagesOnlineValidationWhileOneRuns(t *testing.T) {
	h := newCountingHole(t)
	e := newPagesEnv(t, fmt.Sprintf("SERVER_HOSTNAME: localhost\nBUILDLOGS_REDIS:\n  host: 127.0.0.1\n  port: %d\n", h.port))
	e.srv.cfg.ValidateTimeout = 2 * time.Second
	hx := map[string]string{"HX-Request": "true"}
	start := func() *httptest.ResponseRecorder {
		return e.send("POST", "/validate", "application/x-www-form-urlencoded",
			strings.NewReader(url.Values{"_csrf": {e.sess.CSRF}, "mode": {"online"}}.Encode()), hx)
	}
	if w := start(); w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "Validating online") {
		t.Fatalf("start: %d %s", w.Code, w.Body)
	}
	waitFor(t, "the validation to connect", func() bool { return h.accepted.Load() >= 1 })

	w := start()
	body := w.Body.String()
	if w.Code != http.StatusConflict || !strings.Contains(body, "Validating online") || !strings.Contains(body, `role="alert">An online validation of this session is already running`) {
		t.Fatalf("second htmx start: %d\n%s", w.Code, body)
	}
	w = e.post("/validate", url.Values{"mode": {"online"}, "group": {"Redis"}})
	if w.Code != http.StatusConflict || !strings.Contains(w.Body.String(), "already running") || w.Header().Get("Retry-After") == "" {
		t.Fatalf("section validation during the run: %d\n%s", w.Code, w.Body)
	}
	if a := h.accepted.Load(); a != 1 {
		t.Fatalf("%d connections, want 1", a)
	}
	waitFor(t, "the validation to finish", func() bool {
		return strings.Contains(e.send("GET", "/validate/job", "", nil, hx).Body.String(), "<h1>Validation results</h1>")
	})
	if w := e.post("/validate", url.Values{"mode": {"online"}, "group": {"Redis"}}); w.Code != http.StatusOK {
		t.Fatalf("validation after the run: %d %s", w.Code, w.Body)
	}
}

// A validate call without a mode is online, so it counts against the same
// limits; its refusal says so and names ?mode=offline, which is never held
// up. Scripts of the historical editor that call without a mode from
// several places at once (one basic-auth session) get 409 with Retry-After
// for all but one.
func TestOnlineValidationDefaultModeRefused(t *testing.T) {
	ts := newTestServer(t, false, func(c *Config) { c.ValidateTimeout = time.Second })
	h := newCountingHole(t)
	body := holeBundle(h)
	first := make(chan *httptest.ResponseRecorder, 1)
	go func() { first <- validateReq(ts, "", body) }()
	waitFor(t, "the validation without a mode to connect", func() bool { return h.accepted.Load() >= 1 })

	w := validateReq(ts, "", body)
	if w.Code != http.StatusConflict || w.Header().Get("Retry-After") != "1" {
		t.Fatalf("second call without a mode: %d Retry-After %q %s, want 409 and 1", w.Code, w.Header().Get("Retry-After"), w.Body)
	}
	if msg := assertJSONMessage(t, w); !strings.Contains(msg, "already running") || !strings.Contains(msg, "named no mode") || !strings.Contains(msg, "?mode=offline") {
		t.Errorf("the refusal of a call without a mode does not say why or what to do: %q", msg)
	}
	w = validateReq(ts, "?mode=online", body)
	if w.Code != http.StatusConflict {
		t.Fatalf("mode=online: %d %s, want 409", w.Code, w.Body)
	}
	if msg := assertJSONMessage(t, w); strings.Contains(msg, "named no mode") {
		t.Errorf("the refusal of mode=online talks of a missing mode: %q", msg)
	}
	if w := validateReq(ts, "?mode=offline", body); w.Code != http.StatusOK {
		t.Fatalf("mode=offline during the run: %d %s", w.Code, w.Body)
	}
	if ps := decodeProblems(t, <-first); !hasProblem(ps, "Redis", "BUILDLOGS_REDIS") {
		t.Fatalf("the validation without a mode did not report the silent Redis: %v", ps)
	}
	if a := h.accepted.Load(); a != 1 {
		t.Errorf("%d connections, want 1: refused and offline validations must not connect", a)
	}
}
