package editor

// Health without asking: an offline validation of the whole bundle runs
// whenever a page is drawn for a revision that has none (on load and after
// every save; it costs well under a millisecond), so the navigation
// badges, the summary and the overview always speak of the current
// revision.

import (
	"context"
	"net/url"

	"github.com/labstack/echo/v4"

	"github.com/quay-tools/config-editor/internal/problem"
	"github.com/quay-tools/config-editor/internal/validators"
)

// ensureHealth validates the working copy offline unless its current
// revision already has a validation of the whole bundle (the caller holds
// the session lock).
func (p *pages) ensureHealth(sess *Session) {
	sess.vmu.Lock()
	done := sess.validationLocked().FullRev == sess.Rev
	sess.vmu.Unlock()
	if done {
		return
	}
	probs := validators.Validate(context.Background(), sess.Work, validators.Options{Mode: validators.Offline, Timeout: p.s.cfg.ValidateTimeout})
	sess.storeValidation(p.s.cfg.Now(), sess.Rev, validators.Offline, "", probs, nil)
}

// warnings counts a group's stored warnings.
func (st *validationState) warnings(group string) int {
	if st == nil {
		return 0
	}
	n := 0
	for _, pr := range st.Problems[group] {
		if pr.Severity == problem.Warning {
			n++
		}
	}
	return n
}

// sectionStatus is the verdict of one section, shown on its page: it
// speaks of that section only.
type sectionStatus struct {
	Title            string
	Checked          bool
	Errors, Warnings int
	Mode             string
	Rev              int
	Stale            bool // the configuration changed since
}

func sectionStatusOf(st *validationState, group, title string, current int) sectionStatus {
	ss := sectionStatus{Title: title, Checked: st.Checked[group], Errors: st.count(group), Warnings: st.warnings(group),
		Mode: string(st.GroupMode[group]), Rev: st.GroupRev[group]}
	ss.Stale = ss.Checked && ss.Rev != current
	return ss
}

// groupState is a section's state in a line of the overview: "invalid (2
// errors)", "1 warning", or nothing.
type groupState struct {
	Href             string
	Errors, Warnings int
}

func stateOf(sm summary, group string) groupState {
	gs := groupState{Href: groupHref(group)}
	for _, g := range sm.Groups {
		if g.Name == group {
			gs.Errors, gs.Warnings = g.Errors, g.Warnings
		}
	}
	return gs
}

// testableGroups have a "Test connection" button that runs the section's
// online probes only; the storage locations and the OIDC providers have
// one each.
var testableGroups = map[string]bool{"Database": true, "Redis": true, "LDAP": true, "Email": true, "SecurityScanner": true}

// probeFilter picks the probes of one storage location (?location=) or one
// OIDC provider (?provider=, its key) when the request names one; nil runs
// all the group's probes.
func probeFilter(c echo.Context, group string) func(string, string) bool {
	switch {
	case group == groupStorage && c.QueryParam("location") != "":
		want := validators.StorageProbeName(c.QueryParam("location"))
		return func(_, name string) bool { return name == want }
	case group == "OIDC" && c.QueryParam("provider") != "":
		want := c.QueryParam("provider")
		return func(_, name string) bool { return name == want }
	}
	return nil
}

// providersOf lists the OIDC providers of a section's form (their keys).
func providersOf(fields []*fieldView) []string {
	var out []string
	for _, f := range fields {
		if f.Removable && len(f.Segs) == 1 {
			out = append(out, f.Segs[0])
		}
	}
	return out
}

// testButton is the data of the "testbtn" partial.
type testButton struct{ URL, Target string }

// testArgs builds a Test connection button of a group, or of one target
// (param "location" or "provider") of it.
func testArgs(group, param, target string) testButton {
	q := url.Values{"group": {group}, "mode": {"online"}}
	if param != "" {
		q.Set(param, target)
	}
	return testButton{URL: "/validate?" + q.Encode(), Target: target}
}
