package editor

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

var yamlTextRE = regexp.MustCompile(`(?s)<textarea id="yaml-text" name="text"[^>]*>(.*?)</textarea>`)

// textareaOfYAML is the textarea's text of the /yaml page, unescaped.
func textareaOfYAML(t *testing.T, page string) string {
	t.Helper()
	m := yamlTextRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no YAML textarea in:\n%s", page)
	}
	return html.UnescapeString(m[1])
}

// The raw view shows no secret, keeps comments, and a save of edited text
// with the placeholders keeps every secret while applying the edit.
func TestYAMLViewRoundTripKeepsSecrets(t *testing.T) {
	e := newPagesEnv(t, pagesConfig)
	page := e.get("/yaml")
	if m := markerRE.FindAllString(page, -1); len(m) > 0 {
		t.Fatalf("/yaml shows secrets %v", m)
	}
	text := textareaOfYAML(t, page)
	for _, want := range []string{"# pages test bundle", "password: <secret> # keep this comment", "postgresql://quay:<secret>@db.example.com:5432/quay", "SECRET_KEY: <secret>"} {
		if !strings.Contains(text, want) {
			t.Errorf("text lacks %q:\n%s", want, text)
		}
	}
	// unchanged: nothing saved
	rev := e.rev()
	if w := e.post("/yaml", url.Values{"rev": {strconv.Itoa(rev)}, "text": {text}}); w.Code != http.StatusSeeOther || e.rev() != rev {
		t.Fatalf("unchanged save: %d, rev %d→%d", w.Code, rev, e.rev())
	}
	edited := strings.Replace(text, "SERVER_HOSTNAME: quay.example.com", "SERVER_HOSTNAME: quay2.example.com # moved", 1)
	edited = strings.Replace(edited, "# pages test bundle", "# pages test bundle, edited as text", 1)
	w := e.post("/yaml", url.Values{"rev": {strconv.Itoa(rev)}, "text": {edited}})
	if w.Code != http.StatusOK {
		t.Fatalf("save: %d %s", w.Code, w.Body)
	}
	if m := markerRE.FindAllString(w.Body.String(), -1); len(m) > 0 {
		t.Fatalf("the answer to a save shows secrets %v", m)
	}
	if !strings.Contains(w.Body.String(), "Offline validation of revision") {
		t.Error("the save answer lists no validation")
	}
	work := string(e.work())
	for _, want := range []string{"SERVER_HOSTNAME: quay2.example.com # moved", "# pages test bundle, edited as text",
		"quay:Mk1dbpass@db.example.com", "SECRET_KEY: Mk2secretkey", "password: Mk4redispass # keep this comment",
		"s3_secret_key: Mk6s3secret", "CLIENT_SECRET: Mk10azsecret", "secret_key: Mk12essecret"} {
		if !strings.Contains(work, want) {
			t.Errorf("working copy lacks %q:\n%s", want, work)
		}
	}
	if strings.Contains(work, "<secret>") {
		t.Errorf("a placeholder reached the working copy:\n%s", work)
	}
	if e.rev() != rev+1 {
		t.Errorf("rev %d, want %d", e.rev(), rev+1)
	}
}

// A stale revision answers 409 and keeps the typed text; a syntax error
// answers 422 naming its line; neither changes anything. Problems of the
// saved text are listed with their lines.
func TestYAMLViewConflictSyntaxAndProblems(t *testing.T) {
	e := newPagesEnv(t, pagesConfig)
	text := textareaOfYAML(t, e.get("/yaml"))
	before, rev := string(e.work()), e.rev()
	typed := text + "TYPED_MARKER_KEY: 1\n"
	w := e.post("/yaml", url.Values{"rev": {strconv.Itoa(rev - 1)}, "text": {typed}})
	if w.Code != http.StatusConflict || !strings.Contains(w.Body.String(), "TYPED_MARKER_KEY") {
		t.Fatalf("stale: %d, input kept %v", w.Code, strings.Contains(w.Body.String(), "TYPED_MARKER_KEY"))
	}
	bad := strings.Replace(text, "PREFERRED_URL_SCHEME: https", "PREFERRED_URL_SCHEME: [https", 1)
	w = e.post("/yaml", url.Values{"rev": {strconv.Itoa(rev)}, "text": {bad}})
	if w.Code != http.StatusUnprocessableEntity || !regexp.MustCompile(`line \d+`).MatchString(w.Body.String()) {
		t.Fatalf("syntax error: %d %s", w.Code, w.Body)
	}
	if string(e.work()) != before || e.rev() != rev {
		t.Fatal("a refused save changed the working copy")
	}
	// a value Quay refuses: saved, and the problem is listed with its line
	wrong := strings.Replace(text, "PREFERRED_URL_SCHEME: https", "PREFERRED_URL_SCHEME: gopher", 1)
	w = e.post("/yaml", url.Values{"rev": {strconv.Itoa(rev)}, "text": {wrong}})
	if w.Code != http.StatusOK {
		t.Fatalf("save: %d %s", w.Code, w.Body)
	}
	line := strconv.Itoa(strings.Count(wrong[:strings.Index(wrong, "PREFERRED_URL_SCHEME")], "\n") + 1)
	if !regexp.MustCompile(`line ` + line + ` <strong>[A-Za-z]+</strong> <code>PREFERRED_URL_SCHEME</code>`).MatchString(w.Body.String()) {
		t.Errorf("the problem is not listed with line %s:\n%s", line, w.Body)
	}
}

// A secret repeated in a comment makes the view read-only (masked), and a
// save is refused; a read-only group cannot change through the text.
func TestYAMLViewSecretInCommentAndReadOnly(t *testing.T) {
	e := newPagesEnv(t, pagesConfig+"# old password was Mk7ldappass\n")
	page := e.get("/yaml")
	if m := markerRE.FindAllString(page, -1); len(m) > 0 {
		t.Fatalf("/yaml shows secrets %v", m)
	}
	if strings.Contains(page, `id="yaml-text"`) || !strings.Contains(page, "shown read-only") {
		t.Fatal("a secret in a comment still offers the editable text")
	}
	if w := e.post("/yaml", url.Values{"rev": {strconv.Itoa(e.rev())}, "text": {"SERVER_HOSTNAME: x\n"}}); w.Code != http.StatusForbidden {
		t.Fatalf("save of a read-only view: %d", w.Code)
	}

	ro := newPagesEnvConfig(t, pagesConfig, Config{ReadOnlyGroups: []string{"Database"}})
	text := textareaOfYAML(t, ro.get("/yaml"))
	changed := strings.Replace(text, "db.example.com", "db9.example.com", 1)
	before := string(ro.work())
	if w := ro.post("/yaml", url.Values{"rev": {strconv.Itoa(ro.rev())}, "text": {changed}}); w.Code != http.StatusForbidden {
		t.Fatalf("read-only group via text: %d", w.Code)
	}
	if string(ro.work()) != before {
		t.Fatal("read-only group changed")
	}
}
