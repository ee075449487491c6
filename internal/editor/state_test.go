package editor

import (
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// postForm posts a urlencoded form as the login of ck.
func (ts *testServer) postForm(ck *http.Cookie, sess *Session, path string, form url.Values) *http.Response {
	form.Set(CSRFField, sess.CSRF)
	w := ts.do(req{method: "POST", path: path, cookie: ck, body: strings.NewReader(form.Encode()),
		header: map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Sec-Fetch-Site": "same-origin"}})
	return w.Result()
}

func editHost(t *testing.T, sess *Session, host string) {
	t.Helper()
	sess.Lock()
	defer sess.Unlock()
	if err := sess.Work.Config().Set([]string{"SERVER_HOSTNAME"}, host); err != nil {
		t.Fatal(err)
	}
	sess.Changed()
}

// TestWorkingCopySurvivesLogoutSecondBrowserAndRestart: the working copy
// is the user's: a second browser sees it, a logout keeps it, and a new
// editor process on the same state directory restores it (revision
// included); the file is 0600 in a 0700 directory.
func TestWorkingCopySurvivesLogoutSecondBrowserAndRestart(t *testing.T) {
	state := t.TempDir()
	ts := newTestServer(t, true, func(c *Config) { c.StateDir = state })
	ck1, s1 := ts.login(t)
	editHost(t, s1, "persisted.example.com")
	rev := s1.Rev
	host := func(ts *testServer, r req) any {
		r.method, r.path = "GET", "/api/v1/config"
		return decodeConfig(t, ts.do(r)).Config["SERVER_HOSTNAME"]
	}
	ck2, _ := ts.login(t) // a second browser
	if h := host(ts, req{cookie: ck2}); h != "persisted.example.com" {
		t.Errorf("second browser sees %v", h)
	}
	if h := host(ts, req{basic: true}); h != "persisted.example.com" {
		t.Errorf("basic-auth client sees %v", h)
	}
	if r := ts.postForm(ck1, s1, "/logout", url.Values{"confirm": {"1"}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout: %d", r.StatusCode)
	}
	p := filepath.Join(state, User, stateFile)
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	di, _ := os.Stat(filepath.Dir(p))
	if fi.Mode().Perm() != 0o600 || di.Mode().Perm() != 0o700 {
		t.Errorf("state file %v, directory %v; want 0600 and 0700", fi.Mode().Perm(), di.Mode().Perm())
	}
	if data, _ := os.ReadFile(p); strings.Contains(string(data), "persisted.example.com") {
		t.Error("the state file is not the encoded bundle")
	}
	// a restart: a new server on the same bundle and state directory
	ts2 := newTestServer(t, false, func(c *Config) { c.StateDir, c.BundlePath = state, ts.dir })
	ck3, s3 := ts2.login(t)
	if h := host(ts2, req{cookie: ck3}); h != "persisted.example.com" || s3.Rev != rev {
		t.Errorf("after a restart: host %v revision %d, want persisted.example.com and %d", h, s3.Rev, rev)
	}
	// the diff is still against the bundle as loaded
	s3.Lock()
	base := s3.Base.Config().Value()["SERVER_HOSTNAME"]
	s3.Unlock()
	if base != "quay.example.com" {
		t.Errorf("restored base has %v", base)
	}
}

// TestLogoutWarnsAboutUnexportedChanges and discard: a logout with changes
// never downloaded asks first; after a download it does not; "discard my
// changes" starts again from the mounted bundle with a higher revision.
func TestLogoutWarnsAboutUnexportedChanges(t *testing.T) {
	ts := newTestServer(t, true)
	ck, sess := ts.login(t)
	if r := ts.postForm(ck, sess, "/logout", url.Values{}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout without changes: %d", r.StatusCode)
	}
	ck, sess = ts.login(t)
	editHost(t, sess, "changed.example.com")
	w := ts.do(req{method: "POST", path: "/logout", cookie: ck, body: strings.NewReader(CSRFField + "=" + url.QueryEscape(sess.CSRF)),
		header: map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Sec-Fetch-Site": "same-origin"}})
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "neither downloaded nor pushed") ||
		!strings.Contains(w.Body.String(), "Discard my changes and log out") {
		t.Fatalf("logout with changes: %d %.300s", w.Code, w.Body)
	}
	if ts.sessions.get(sess.ID) == nil {
		t.Fatal("the warning logged out")
	}
	// a download exports the revision: no more warning
	if w := ts.do(req{method: "GET", path: "/download?confirm=1", cookie: ck}); w.Code != http.StatusOK {
		t.Fatalf("download: %d", w.Code)
	}
	sess.Lock()
	unexported := sess.Unexported()
	sess.Unlock()
	if unexported {
		t.Error("a download did not count")
	}
	editHost(t, sess, "again.example.com")
	rev := sess.Rev
	if r := ts.postForm(ck, sess, "/discard", url.Values{"confirm": {"1"}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("discard: %d", r.StatusCode)
	}
	sess.Lock()
	host, newRev, pristine := sess.Work.Config().Value()["SERVER_HOSTNAME"], sess.Rev, sess.pristine()
	sess.Unlock()
	if host != "quay.example.com" || newRev <= rev || !pristine {
		t.Errorf("after discard: host %v revision %d (was %d) pristine %v", host, newRev, rev, pristine)
	}
}

// TestUnwritableStateDirFallsBack: a state directory that cannot be
// created does not stop the editor: it logs a warning and keeps the
// copies in a temporary directory.
func TestUnwritableStateDirFallsBack(t *testing.T) {
	// A regular file where the directory would go: no one, root included
	// (CI runs as root, and root writes into a 0500 directory), can create
	// the state directory below it.
	ro := filepath.Join(t.TempDir(), "not-a-directory")
	if err := os.WriteFile(ro, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	ts := newTestServer(t, true, func(c *Config) { c.StateDir = filepath.Join(ro, "state") })
	if !strings.Contains(ts.logs.String(), "the state directory is not writable") {
		t.Errorf("no warning in the log:\n%s", ts.logs.String())
	}
	if ts.state == nil || strings.HasPrefix(ts.state.dir, ro) {
		t.Fatalf("state store %+v", ts.state)
	}
	t.Cleanup(func() { os.RemoveAll(ts.state.dir) })
	_, sess := ts.login(t)
	editHost(t, sess, "x.example.com")
	if _, err := os.Stat(filepath.Join(ts.state.dir, User, stateFile)); err != nil {
		t.Errorf("not saved in the fallback: %v", err)
	}
}

// TestEmptyBundleDirStartsSetup: a mounted directory without config.yaml
// starts a setup session (202) instead of failing; nothing is written
// into it until "Save to"; then it holds config.yaml and GET answers 200.
func TestEmptyBundleDirStartsSetup(t *testing.T) {
	dir := t.TempDir()
	ts := newTestServer(t, false, func(c *Config) { c.BundlePath = dir })
	w := ts.do(req{method: "GET", path: "/api/v1/config", basic: true})
	if w.Code != http.StatusAccepted {
		t.Fatalf("GET on an empty directory: %d %.200s", w.Code, w.Body)
	}
	ck, sess := ts.login(t)
	if page := ts.do(req{method: "GET", path: "/", cookie: ck}).Body.String(); !strings.Contains(page, "Save to "+dir) {
		t.Error("the overview offers no Save to the directory")
	}
	editHost(t, sess, "new.example.com")
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Fatalf("the directory was written before saving: %v", ents)
	}
	if r := ts.postForm(ck, sess, "/save", url.Values{}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("save: %d", r.StatusCode)
	}
	data, err := os.ReadFile(filepath.Join(dir, "config.yaml"))
	if err != nil || !strings.Contains(string(data), "SERVER_HOSTNAME: new.example.com") {
		t.Fatalf("config.yaml after save: %v %q", err, data)
	}
	if w := ts.do(req{method: "GET", path: "/api/v1/config", basic: true}); w.Code != http.StatusOK {
		t.Errorf("GET after the save: %d", w.Code)
	}
	// the API route, and its refusal on an ordinary mounted bundle
	if w := ts.do(req{method: "POST", path: "/api/v1/config/save", basic: true}); w.Code != http.StatusOK {
		t.Errorf("API save: %d %s", w.Code, w.Body)
	}
	tm := newTestServer(t, true)
	if w := tm.do(req{method: "POST", path: "/api/v1/config/save", basic: true}); w.Code != http.StatusConflict {
		t.Errorf("save on a mounted bundle: %d", w.Code)
	}
}
