package editor

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
)

// Generating stores a fresh random value, never shown in HTML; replacing a
// set key needs the confirmation, and DATABASE_SECRET_KEY carries the
// warning.
func TestGenerateSecretKeys(t *testing.T) {
	e := newPagesEnv(t, "SERVER_HOSTNAME: quay.example.com\nDATABASE_SECRET_KEY: Mk3dbsecret\n")
	page := e.get("/group/SecurityKeys")
	for _, want := range []string{`action="/generate"`, `name="key" value="SECRET_KEY"`, `name="key" value="DATABASE_SECRET_KEY"`,
		"Never change it on an existing deployment", `id="gen-DATABASE_SECRET_KEY-confirm"`} {
		if !strings.Contains(page, want) {
			t.Errorf("SecurityKeys page lacks %q", want)
		}
	}
	if strings.Contains(page, `id="gen-SECRET_KEY-confirm"`) {
		t.Error("an unset SECRET_KEY asks for confirmation")
	}
	rev := e.rev()
	w := e.post("/generate", url.Values{"key": {"SECRET_KEY"}, "rev": {strconv.Itoa(rev)}})
	if w.Code != http.StatusSeeOther {
		t.Fatalf("generate: %d %s", w.Code, w.Body)
	}
	e.sess.Lock()
	first, _ := e.sess.Work.Config().Value()["SECRET_KEY"].(string)
	e.sess.Unlock()
	if len(first) != 64 {
		t.Fatalf("SECRET_KEY %d characters, want 64", len(first))
	}
	after := e.get("/group/SecurityKeys")
	if strings.Contains(after, first) {
		t.Fatal("the generated secret is in the HTML")
	}
	if !strings.Contains(after, "Generated a new SECRET_KEY") || !strings.Contains(after, "download the bundle to see it") {
		t.Error("no message after generating")
	}
	// set now: without the confirmation nothing changes
	w = e.post("/generate", url.Values{"key": {"SECRET_KEY"}, "rev": {strconv.Itoa(e.rev())}})
	if w.Code != http.StatusUnprocessableEntity || strings.Contains(w.Body.String(), first) {
		t.Fatalf("unconfirmed replace: %d", w.Code)
	}
	w = e.post("/generate", url.Values{"key": {"DATABASE_SECRET_KEY"}, "rev": {strconv.Itoa(e.rev())}})
	if w.Code != http.StatusUnprocessableEntity || !strings.Contains(w.Body.String(), "Never change it on an existing deployment") {
		t.Fatalf("unconfirmed DATABASE_SECRET_KEY: %d", w.Code)
	}
	if !strings.Contains(string(e.work()), "DATABASE_SECRET_KEY: Mk3dbsecret") {
		t.Fatal("DATABASE_SECRET_KEY changed without confirmation")
	}
	// stale revision: conflict
	if w := e.post("/generate", url.Values{"key": {"SECRET_KEY"}, "rev": {"0"}, "confirm": {"replace"}}); w.Code != http.StatusConflict {
		t.Fatalf("stale: %d", w.Code)
	}
	w = e.post("/generate", url.Values{"key": {"DATABASE_SECRET_KEY"}, "rev": {strconv.Itoa(e.rev())}, "confirm": {"replace"}})
	if w.Code != http.StatusSeeOther {
		t.Fatalf("confirmed: %d", w.Code)
	}
	e.sess.Lock()
	v := e.sess.Work.Config().Value()
	e.sess.Unlock()
	db, _ := v["DATABASE_SECRET_KEY"].(string)
	if db == "Mk3dbsecret" || len(db) != 64 || db == first || v["SECRET_KEY"] != first {
		t.Fatalf("after confirmed replace: DATABASE_SECRET_KEY %q, SECRET_KEY kept %v", db, v["SECRET_KEY"] == first)
	}
	if m := markerRE.FindAllString(e.get("/group/SecurityKeys"), -1); len(m) > 0 || strings.Contains(e.get("/group/SecurityKeys"), db) {
		t.Fatal("a secret is in the HTML")
	}
	// only the two keys
	if w := e.post("/generate", url.Values{"key": {"SERVER_HOSTNAME"}, "rev": {strconv.Itoa(e.rev())}}); w.Code != http.StatusBadRequest {
		t.Fatalf("other key: %d", w.Code)
	}
}
