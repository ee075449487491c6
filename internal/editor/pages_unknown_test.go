package editor

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/quay-tools/config-editor/internal/bundle"
	"github.com/quay-tools/config-editor/internal/problem"
	"github.com/quay-tools/config-editor/internal/validators"
)

// An unknown key shows in the navigation and on its page with the
// suggestion, the UI counts the warnings the CLI counts, and one click
// renames it to the suggested key, keeping its value.
func TestUnknownKeysRename(t *testing.T) {
	cfg := passingConfig + "FEATURE_MAILNG: true\n"
	e := newPagesEnv(t, cfg)
	b, err := bundle.New([]byte(cfg), bundle.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	cliWarnings := 0
	for _, pr := range validators.Validate(context.Background(), b, validators.Options{}) {
		if pr.Severity == problem.Warning {
			cliWarnings++
		}
	}
	e.get("/")
	if sm := summaryOf(e.sess.validationSnapshot(), e.rev()); sm.Warnings != cliWarnings {
		t.Fatalf("the UI counts %d warnings, the CLI %d", sm.Warnings, cliWarnings)
	}
	page := e.get("/")
	if !strings.Contains(page, `<a href="/unknown">Unknown keys`) {
		t.Fatal("no Unknown keys item in the navigation")
	}
	page = e.get("/unknown")
	if !strings.Contains(page, "did you mean FEATURE_MAILING?") || !strings.Contains(page, "Rename FEATURE_MAILNG to FEATURE_MAILING") {
		t.Fatalf("no suggestion or rename on the page:\n%s", page)
	}
	form := formOf(t, page, "/unknown/rename")
	if w := e.post("/unknown/rename", form); w.Code != http.StatusSeeOther {
		t.Fatalf("rename: %d %s", w.Code, w.Body)
	}
	got := string(e.work())
	if strings.Contains(got, "FEATURE_MAILNG") || !strings.Contains(got, "FEATURE_MAILING: true") {
		t.Fatalf("not renamed:\n%s", got)
	}
	if page := e.get("/unknown"); !strings.Contains(page, "No unknown keys") || !strings.Contains(page, "Renamed FEATURE_MAILNG to FEATURE_MAILING.") {
		t.Fatalf("the page does not confirm the rename:\n%s", page)
	}
	// a stale revision changes nothing
	rev := e.rev()
	if w := e.post("/unknown/rename", url.Values{"key": {"FEATURE_MAILING"}, "rev": {"1"}}); w.Code != http.StatusConflict || e.rev() != rev {
		t.Fatalf("stale rename: %d, revision %d -> %d", w.Code, rev, e.rev())
	}
}

// A rename onto a key that is already set is refused and changes nothing.
func TestUnknownKeysRenameTaken(t *testing.T) {
	e := newPagesEnv(t, passingConfig+"FEATURE_MAILNG: true\nFEATURE_MAILING: false\n")
	page := e.get("/unknown")
	if strings.Contains(page, "Rename FEATURE_MAILNG") || !strings.Contains(page, "is already set") {
		t.Fatal("a rename onto a set key is offered")
	}
	before := string(e.work())
	w := e.post("/unknown/rename", url.Values{"key": {"FEATURE_MAILNG"}, "rev": {"1"}})
	if w.Code != http.StatusConflict || string(e.work()) != before {
		t.Fatalf("rename onto a set key: %d", w.Code)
	}
}

// The rename keeps the key where it is: the file differs from the one
// before only in the key's own text, comments and order included.
func TestUnknownKeyRenameKeepsItsPlace(t *testing.T) {
	cfg := "# hand-written\nFEATURE_MAILNG: true # typo\n" + passingConfig + "# the end\n"
	e := newPagesEnv(t, cfg)
	before := string(e.work())
	form := formOf(t, e.get("/unknown"), "/unknown/rename")
	if w := e.post("/unknown/rename", form); w.Code != http.StatusSeeOther {
		t.Fatalf("rename: %d %s", w.Code, w.Body)
	}
	after := string(e.work())
	if want := strings.Replace(before, "FEATURE_MAILNG: true # typo", "FEATURE_MAILING: true # typo", 1); after != want {
		t.Fatalf("the rename changed more than the key's text\n--- before\n%s--- after\n%s--- want\n%s", before, after, want)
	}
}
