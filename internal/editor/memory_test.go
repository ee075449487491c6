package editor

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// zeroTarGz is a quay-config.tar.gz with a config.yaml and files of the
// given sizes, filled with one byte value each (so it compresses to
// almost nothing, and two tarballs can differ).
func zeroTarGz(t testing.TB, fill byte, files map[string]int) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	tw := tar.NewWriter(zw)
	put := func(name string, data []byte) {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(data); err != nil {
			t.Fatal(err)
		}
	}
	put("config.yaml", []byte("SERVER_HOSTNAME: quay.example.com\n"))
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		put(n, bytes.Repeat([]byte{fill}, files[n]))
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// uploadAs posts a tarball on the overview page's upload form as the
// session of ck.
func uploadAs(ts *testServer, ck *http.Cookie, sess *Session, data []byte) *httptest.ResponseRecorder {
	sess.Lock()
	rev, tok := sess.Rev, sess.CSRF
	sess.Unlock()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	_ = mw.WriteField(CSRFField, tok)
	_ = mw.WriteField("rev", strconv.Itoa(rev))
	fw, _ := mw.CreateFormFile("bundle", "quay-config.tar.gz")
	_, _ = fw.Write(data)
	_ = mw.Close()
	return ts.do(req{method: "POST", path: "/upload", body: &body, cookie: ck,
		header: map[string]string{"Content-Type": mw.FormDataContentType(), "Sec-Fetch-Site": "same-origin"}})
}

// TestUploadExpandingPastTheBundleLimitRefused: a 57 KB tarball that
// expands to 56 MiB is refused while it is read (the editor's bundles are
// at most MaxBundleBytes, 16 MiB), and the working copy is unchanged.
func TestUploadExpandingPastTheBundleLimitRefused(t *testing.T) {
	ts := newTestServer(t, true)
	ck, sess := ts.login(t)
	files := map[string]int{}
	for i := 0; i < 7; i++ {
		files[fmt.Sprintf("blob%d", i)] = 8 << 20
	}
	bomb := zeroTarGz(t, 0, files)
	if len(bomb) > 100<<10 {
		t.Fatalf("bomb is %d bytes; the test wants a small one", len(bomb))
	}
	w := uploadAs(ts, ck, sess, bomb)
	if w.Code != http.StatusUnprocessableEntity || !strings.Contains(w.Body.String(), "add up to more than 16777216 bytes") {
		t.Fatalf("56 MiB upload: %d %.400s", w.Code, w.Body)
	}
	if sess.Rev != 1 || len(sess.Work.FileNames()) != 1 {
		t.Errorf("working copy changed: rev %d, files %v", sess.Rev, sess.Work.FileNames())
	}
}

// TestSessionHoldsUploadedFilesOnce: the working copy and the base of an
// uploaded bundle share the files' bytes, and the budget counts them once.
func TestSessionHoldsUploadedFilesOnce(t *testing.T) {
	ts := newTestServer(t, true)
	ck, sess := ts.login(t)
	before := ts.budget.Held()
	if w := uploadAs(ts, ck, sess, zeroTarGz(t, 'a', map[string]int{"big": 4 << 20})); w.Code != http.StatusSeeOther {
		t.Fatalf("upload: %d %.300s", w.Code, w.Body)
	}
	sess.Lock()
	work, _ := sess.Work.File("big")
	base, _ := sess.Base.File("big")
	sess.Unlock()
	if len(work) != 4<<20 || &work[0] != &base[0] {
		t.Error("the working copy and the base hold two copies of the uploaded file")
	}
	// the old copy (the mounted bundle) is released, the new one counted once
	if got := ts.budget.Held() - before; got > 4<<20+1024 || got < 4<<20-2048 {
		t.Errorf("the upload added %d bytes to the budget, want about %d", got, 4<<20)
	}
}

// TestSessionByteCap: a change that would make one session hold more than
// MaxSessionBytes (working copy plus base) is refused with 413, and the
// working copy is unchanged.
func TestSessionByteCap(t *testing.T) {
	ts := newTestServer(t, true, func(c *Config) { c.MaxBundleBytes, c.MaxSessionBytes = 1<<20, 1536<<10 })
	ck, sess := ts.login(t)
	if w := uploadAs(ts, ck, sess, zeroTarGz(t, 'a', map[string]int{"a": 900 << 10})); w.Code != http.StatusSeeOther {
		t.Fatalf("upload: %d %.300s", w.Code, w.Body)
	}
	// replace every file: the base keeps "a", the copy would hold "b" too
	body := `{"config.yaml": {"SERVER_HOSTNAME": "quay.example.com"}, "certs": {"b": "` +
		base64.StdEncoding.EncodeToString(bytes.Repeat([]byte("b"), 900<<10)) + `"}}`
	w := ts.do(req{method: "PUT", path: "/api/v1/config", cookie: ck, body: strings.NewReader(body),
		header: map[string]string{CSRFHeader: sess.CSRF, "Sec-Fetch-Site": "same-origin"}})
	if w.Code != http.StatusRequestEntityTooLarge {
		t.Fatalf("PUT past the session cap: %d %.300s", w.Code, w.Body)
	}
	if msg := assertJSONMessage(t, w); !strings.Contains(msg, "would hold 1.8 MiB, over the limit of 1.5 MiB per session") {
		t.Errorf("message %q", msg)
	}
	if _, ok := sess.Work.File("a"); !ok || sess.Rev != 2 {
		t.Errorf("working copy changed: rev %d files %v", sess.Rev, sess.Work.FileNames())
	}
	// a smaller replacement fits
	body = `{"config.yaml": {"SERVER_HOSTNAME": "quay.example.com"}, "certs": {"b": "` +
		base64.StdEncoding.EncodeToString(bytes.Repeat([]byte("b"), 100<<10)) + `"}}`
	w = ts.do(req{method: "PUT", path: "/api/v1/config", cookie: ck, body: strings.NewReader(body),
		header: map[string]string{CSRFHeader: sess.CSRF, "Sec-Fetch-Site": "same-origin"}})
	if w.Code != http.StatusOK {
		t.Fatalf("PUT under the session cap: %d %.300s", w.Code, w.Body)
	}
}

// TestLoginsShareOneWorkingCopy: every login of the user and the
// basic-auth clients share one working copy, so the budget counts it
// once however many browsers are logged in; a logout or an expired login
// keeps it (it is the user's, and saved on disk).
func TestLoginsShareOneWorkingCopy(t *testing.T) {
	ts := newTestServer(t, true, func(c *Config) { c.MaxBundleBytes = 1 << 20 })
	var cks []*http.Cookie
	var sessions []*Session
	for i := 0; i < 3; i++ {
		ck, sess := ts.login(t)
		ts.clock.Add(1)
		cks, sessions = append(cks, ck), append(sessions, sess)
	}
	if w := uploadAs(ts, cks[0], sessions[0], zeroTarGz(t, 'a', map[string]int{"f": 900 << 10})); w.Code != http.StatusSeeOther {
		t.Fatalf("upload: %d", w.Code)
	}
	held := ts.budget.Held()
	if held < 900<<10 || held > 900<<10+4096 {
		t.Errorf("three logins hold %d bytes, want one copy of about %d", held, 900<<10)
	}
	if sessions[1].Copy != sessions[0].Copy || sessions[2].Copy != sessions[0].Copy {
		t.Fatal("logins of one user have different working copies")
	}
	if w := ts.do(req{method: "GET", path: "/api/v1/config", basic: true}); !strings.Contains(w.Body.String(), `"f":`) {
		t.Error("the basic-auth client does not see the upload")
	}
	if got := ts.budget.Held(); got != held {
		t.Errorf("the basic-auth client added %d bytes", got-held)
	}
	ts.do(req{method: "POST", path: "/logout", cookie: cks[0], body: strings.NewReader("confirm=1"),
		header: map[string]string{CSRFHeader: sessions[0].CSRF, "Sec-Fetch-Site": "same-origin", "Content-Type": "application/x-www-form-urlencoded"}})
	ts.clock.Add(9 * time.Hour)
	ts.sessions.mu.Lock()
	ts.sessions.sweepLocked()
	ts.sessions.mu.Unlock()
	if ts.sessions.count() != 0 {
		t.Fatal("logins left")
	}
	_, sess := ts.login(t)
	if _, ok := sess.Work.File("f"); !ok || ts.budget.Held() != held {
		t.Errorf("after every login ended the copy is gone (held %d)", ts.budget.Held())
	}
}

// TestHeldBytesCapAcrossCopies: a change that takes the working copies
// together past MaxHeldBytes is refused with 503 and a clear message,
// and the working copy is unchanged.
func TestHeldBytesCapAcrossCopies(t *testing.T) {
	ts := newTestServer(t, true, func(c *Config) { c.MaxBundleBytes, c.MaxHeldBytes = 1<<20, 1<<20 })
	ck, sess := ts.login(t)
	if w := uploadAs(ts, ck, sess, zeroTarGz(t, 'a', map[string]int{"f": 600 << 10})); w.Code != http.StatusSeeOther {
		t.Fatalf("first upload: %d", w.Code)
	}
	// the base keeps f, the copy would hold g too: 1.2 MiB
	body := `{"config.yaml": {"SERVER_HOSTNAME": "quay.example.com"}, "certs": {"g": "` +
		base64.StdEncoding.EncodeToString(bytes.Repeat([]byte("g"), 600<<10)) + `"}}`
	w := ts.do(req{method: "PUT", path: "/api/v1/config", cookie: ck, body: strings.NewReader(body),
		header: map[string]string{CSRFHeader: sess.CSRF, "Sec-Fetch-Site": "same-origin"}})
	if w.Code != http.StatusServiceUnavailable || !strings.Contains(w.Body.String(), "over its limit of 1.0 MiB") {
		t.Fatalf("PUT past the total: %d %.500s", w.Code, w.Body)
	}
	if _, ok := sess.Work.File("g"); ok {
		t.Error("the refused change changed the working copy")
	}
}

// BenchmarkSessionsHoldingUploads: heap in use per session after each of
// 8 sessions uploads a 57 KB tarball that expands to as much as the editor
// accepts (before: 56 MiB held twice, 112 MiB a session).
func BenchmarkSessionsHoldingUploads(b *testing.B) {
	files := map[string]int{}
	for i := 0; i < 7; i++ {
		files[fmt.Sprintf("blob%d", i)] = 8 << 20
	}
	bomb := zeroTarGz(b, 0, files)
	small := map[string]int{}
	for i := 0; i < 8; i++ {
		small[fmt.Sprintf("blob%d", i)] = 2<<20 - 4096
	}
	fits := zeroTarGz(b, 0, small)
	const n = 8
	for b.Loop() {
		ts := newTestServer(b, true, func(c *Config) { c.MaxHeldBytes = 1 << 40 })
		runtime.GC()
		var m0, m1 runtime.MemStats
		runtime.ReadMemStats(&m0)
		accepted := 0
		for i := 0; i < n; i++ {
			ck, sess := ts.login(b)
			w := uploadAs(ts, ck, sess, bomb)
			if w.Code != http.StatusSeeOther {
				w = uploadAs(ts, ck, sess, fits) // the largest upload accepted
			}
			if w.Code == http.StatusSeeOther {
				accepted++
			}
		}
		runtime.GC()
		runtime.ReadMemStats(&m1)
		b.ReportMetric(float64(m1.HeapInuse-m0.HeapInuse)/n/(1<<20), "MiB/session")
		b.ReportMetric(float64(accepted), "accepted")
	}
}
