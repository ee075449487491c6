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

// TestHeldBytesCapAcrossSessions: once the sessions together hold
// MaxHeldBytes, a change that needs more is refused with 503 and a clear
// message; a logout frees its bytes; a login past the cap evicts the
// least recently used session; the accounting returns to zero when every
// session is gone.
func TestHeldBytesCapAcrossSessions(t *testing.T) {
	ts := newTestServer(t, true, func(c *Config) { c.MaxBundleBytes, c.MaxHeldBytes = 1<<20, 2<<20 })
	var cks []*http.Cookie
	var sessions []*Session
	for i := 0; i < 3; i++ {
		ck, sess := ts.login(t)
		ts.clock.Add(1)
		cks, sessions = append(cks, ck), append(sessions, sess)
	}
	up := func(i int, fill byte) *httptest.ResponseRecorder {
		return uploadAs(ts, cks[i], sessions[i], zeroTarGz(t, fill, map[string]int{"f": 900 << 10}))
	}
	if w := up(0, 'a'); w.Code != http.StatusSeeOther {
		t.Fatalf("first upload: %d", w.Code)
	}
	if w := up(1, 'b'); w.Code != http.StatusSeeOther {
		t.Fatalf("second upload: %d", w.Code)
	}
	w := up(2, 'c')
	if w.Code != http.StatusServiceUnavailable || !strings.Contains(w.Body.String(), "over its limit of 2.0 MiB") {
		t.Fatalf("upload past the total: %d %.500s", w.Code, w.Body)
	}
	if _, ok := sessions[2].Work.File("f"); ok {
		t.Error("the refused upload changed the working copy")
	}
	// a logout frees its share
	ts.do(req{method: "POST", path: "/logout", cookie: cks[0], header: map[string]string{CSRFHeader: sessions[0].CSRF, "Sec-Fetch-Site": "same-origin"}})
	if w := up(2, 'c'); w.Code != http.StatusSeeOther {
		t.Fatalf("upload after a logout: %d %.300s", w.Code, w.Body)
	}
	// sessions 1 and 2 hold about 1.8 MiB; a login (the mounted bundle is
	// small) fits, then an upload by it is refused until a login evicts
	ck4, sess4 := ts.login(t)
	if w := uploadAs(ts, ck4, sess4, zeroTarGz(t, 'd', map[string]int{"f": 900 << 10})); w.Code != http.StatusServiceUnavailable {
		t.Fatalf("fourth upload: %d", w.Code)
	}
	// idle sessions expire and take their bytes with them
	ts.clock.Add(9 * time.Hour)
	ts.sessions.mu.Lock()
	ts.sessions.sweepLocked()
	ts.sessions.mu.Unlock()
	if got := ts.budget.Held(); got != 0 {
		t.Errorf("%d bytes still counted after every session expired", got)
	}
}

// TestLoginPastTheTotalEvictsLeastRecentlyUsed: logins themselves are
// never refused; when the sessions hold more than MaxHeldBytes, the least
// recently used session goes, as with the session count cap.
func TestLoginPastTheTotalEvictsLeastRecentlyUsed(t *testing.T) {
	// two uploads of 1000 KiB (plus their config.yaml twice) fit; the
	// mounted bundle of a third login does not
	ts := newTestServer(t, true, func(c *Config) { c.MaxBundleBytes, c.MaxHeldBytes = 1<<20, 2*1000<<10+200 })
	ck1, s1 := ts.login(t)
	ts.clock.Add(1)
	ck2, s2 := ts.login(t)
	ts.clock.Add(1)
	for i, p := range []struct {
		ck *http.Cookie
		s  *Session
	}{{ck1, s1}, {ck2, s2}} {
		if w := uploadAs(ts, p.ck, p.s, zeroTarGz(t, byte('a'+i), map[string]int{"f": 1000 << 10})); w.Code != http.StatusSeeOther {
			t.Fatalf("upload %d: %d", i, w.Code)
		}
		ts.clock.Add(1)
	}
	// a third login takes the total over 2 MiB: session 1 (least recently used) goes
	ts.login(t)
	if w := ts.do(req{method: "GET", path: "/api/v1/config", cookie: ck1}); w.Code != http.StatusUnauthorized {
		t.Errorf("least recently used session still live: %d", w.Code)
	}
	if w := ts.do(req{method: "GET", path: "/api/v1/config", cookie: ck2}); w.Code != http.StatusOK {
		t.Errorf("second session evicted: %d", w.Code)
	}
	if held := ts.budget.Held(); held > 2*1000<<10+200 {
		t.Errorf("sessions hold %d bytes after the eviction", held)
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
