package editor

import (
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/quay-tools/config-editor/internal/problem"
	"github.com/quay-tools/config-editor/internal/validators"
)

// passingConfig has warnings but no errors offline.
const passingConfig = pagesConfig + "EXTERNAL_TLS_TERMINATION: true\n"

// A section's validation speaks of that section only: validating a
// section without problems in a bundle with errors elsewhere never says
// the configuration can be downloaded.
func TestVerdictSectionScoped(t *testing.T) {
	e := newPagesEnv(t, pagesConfig) // errors in HostSettings
	w := e.post("/validate", url.Values{"group": {"Redis"}})
	if w.Code != http.StatusOK {
		t.Fatalf("validate Redis: %d", w.Code)
	}
	body := w.Body.String()
	if strings.Contains(body, "can be downloaded") {
		t.Fatal("a section's validation says the whole configuration can be downloaded")
	}
	if !strings.Contains(body, "This section (Redis): no problems — offline validation of revision 1.") {
		t.Fatalf("the section's own verdict is missing:\n%s", body)
	}
	if !strings.Contains(body, "2 error(s)") {
		t.Fatal("the summary does not keep the whole bundle's errors")
	}
	// a full validation of a passing revision says it can be downloaded
	e2 := newPagesEnv(t, passingConfig)
	w = e2.post("/validate", url.Values{})
	if body := w.Body.String(); !strings.Contains(body, "The configuration can be downloaded.") {
		t.Fatalf("a passing full validation does not say so:\n%s", body)
	}
}

// "No problems" appears only when a section has none, even when its
// problems are all shown under fields.
func TestVerdictNoProblemsOnlyWhenNone(t *testing.T) {
	e := newPagesEnv(t, strings.Replace(passingConfig, "DB_URI: postgresql://", "DB_URI: nosuchdb://", 1))
	w := e.post("/validate", url.Values{"group": {"Database"}})
	body := w.Body.String()
	if !regexp.MustCompile(`aria-invalid="true"`).MatchString(body) {
		t.Fatalf("no field marked invalid on Database:\n%s", body)
	}
	if strings.Contains(body, "no problems") {
		t.Fatal(`"no problems" shown next to a field error`)
	}
	if !strings.Contains(body, "This section (Database): 1 error(s), 0 warning(s) — offline validation of revision 1.") {
		t.Fatalf("the section's counts are missing:\n%s", body)
	}
}

// Results name their revision: after a save the summary speaks of the new
// revision, and results of an older revision are not stored over newer
// ones and show as out of date.
func TestVerdictNamesRevision(t *testing.T) {
	e := newPagesEnv(t, pagesConfig)
	if page := e.get("/"); !strings.Contains(page, "offline validation of the whole configuration, revision 1.") {
		t.Fatal("the summary does not name revision 1")
	}
	form := formOf(t, e.get("/group/HostSettings"), "/group/HostSettings")
	form.Set("f.EXTERNAL_TLS_TERMINATION", "true")
	if w := e.post("/group/HostSettings", form); w.Code != http.StatusSeeOther {
		t.Fatalf("save: %d %s", w.Code, w.Body)
	}
	rev := e.rev()
	page := e.get("/group/HostSettings")
	if !strings.Contains(page, "revision "+strconv.Itoa(rev)+".") || strings.Contains(page, "revision 1.") {
		t.Fatalf("the page does not speak of revision %d only:\n%s", rev, page)
	}
	if !strings.Contains(page, "The configuration can be downloaded.") {
		t.Fatal("the fixed revision is not ready")
	}
	// a late result of revision 1 is not kept
	if e.sess.storeValidation(time.Now(), 1, validators.Online, "", []problem.Problem{{FieldGroup: "Database", Severity: problem.Error, Message: "late"}}, nil) {
		t.Fatal("results of an older revision were stored over newer ones")
	}
	// a summary of another revision is out of date and never ready
	st := e.sess.validationSnapshot()
	sm := summaryOf(st, rev+1)
	if !sm.Stale || sm.Ready() {
		t.Fatalf("summary of revision %d shown for revision %d: stale %v ready %v", sm.Rev, rev+1, sm.Stale, sm.Ready())
	}
}

// After a full validation each result is shown once on the results page.
func TestVerdictShownOnce(t *testing.T) {
	e := newPagesEnv(t, pagesConfig)
	body := e.post("/validate", url.Values{}).Body.String()
	for _, msg := range []string{"so the bundle needs ssl.cert", "DATABASE_SECRET_KEY is shorter than 16 characters"} {
		if n := strings.Count(body, msg); n != 1 {
			t.Errorf("%q shown %d times", msg, n)
		}
	}
}

// Health without asking: counts in the navigation and the overview's
// state on load, updated after a save.
func TestHealthOnLoad(t *testing.T) {
	e := newPagesEnv(t, pagesConfig)
	page := e.get("/")
	if !strings.Contains(page, `<a href="/group/HostSettings">Host settings <span class="badge" title="2 error(s)">`) &&
		!regexp.MustCompile(`href="/group/HostSettings"[^<]*<span class="badge" title="2 error\(s\)">`).MatchString(page) {
		t.Fatalf("no error badge for HostSettings on load:\n%s", page)
	}
	if !regexp.MustCompile(`href="/group/SecurityKeys"[^\n]*<span class="badge warn" title="2 warning\(s\)">`).MatchString(page) {
		t.Fatal("no warning badge for SecurityKeys on load")
	}
	if !strings.Contains(page, `id="health"`) || !strings.Contains(page, "<span class=\"error\">invalid</span>: 2 error(s)") {
		t.Fatal("the overview does not say what is wrong")
	}
	// the authentication line says when its section is invalid
	e2 := newPagesEnv(t, strings.Replace(passingConfig, "AUTHENTICATION_TYPE: LDAP", "AUTHENTICATION_TYPE: Kerberos", 1))
	if p := e2.get("/"); !regexp.MustCompile(`<dt>Authentication</dt><dd>Kerberos — <a href="/group/[A-Za-z]+" class="error">invalid \(\d+ error\(s\)\)</a>`).MatchString(p) {
		t.Fatalf("the overview does not say the authentication is invalid:\n%s", p)
	}
	// after a save that fixes the errors, the badges go
	form := formOf(t, e.get("/group/HostSettings"), "/group/HostSettings")
	form.Set("f.EXTERNAL_TLS_TERMINATION", "true")
	if w := e.post("/group/HostSettings", form); w.Code != http.StatusSeeOther {
		t.Fatalf("save: %d", w.Code)
	}
	if page := e.get("/"); regexp.MustCompile(`href="/group/HostSettings"[^<]*<span class="badge"`).MatchString(page) {
		t.Fatal("the error badge stays after the fix")
	}
}

// A bundle without errors downloads at once.
func TestDownloadWithoutErrors(t *testing.T) {
	e := newPagesEnv(t, passingConfig)
	w := e.send("GET", "/download", "", nil, nil)
	if w.Code != http.StatusOK || w.Header().Get("Content-Disposition") != "attachment; filename=quay-config.tar.gz" {
		t.Fatalf("download of a passing bundle: %d %v", w.Code, w.Header())
	}
}
