package editor

// The unknown keys: top-level keys of config.yaml that Quay does not know
// (typos such as FEATURE_MAILNG), with the "did you mean" of the
// validation and a one-click rename to the suggested key.

import (
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/quay-tools/config-editor/internal/problem"
	"github.com/quay-tools/config-editor/internal/schema"
)

func (p *pages) registerUnknown(g *echo.Group) {
	getHead(g, "/unknown", p.unknownPage)
	g.POST("/unknown/rename", p.unknownRename)
}

// unknownKey is a row of templates/pages/unknown.html.
type unknownKey struct {
	Key, Suggestion string
	Line            int
	Problem         problem.Problem
	Taken           bool // the suggested key is already set: no rename
}

// unknownData is the data of templates/pages/unknown.html.
type unknownData struct {
	layoutData
	Keys []unknownKey
}

func (p *pages) unknownPage(c echo.Context) error {
	sess, err := p.session(c)
	if err != nil {
		return err
	}
	sess.Lock()
	defer sess.Unlock()
	return p.renderUnknown(c, sess, http.StatusOK, "")
}

func (p *pages) renderUnknown(c echo.Context, sess *Session, status int, msg string) error {
	p.ensureHealth(sess)
	st := sess.validationSnapshot()
	cat := schema.Get()
	cfg := sess.Work.Config().Value()
	data := &unknownData{layoutData: layoutData{Message: msg}}
	for _, pr := range st.Problems[schema.UnknownGroup] {
		uk := unknownKey{Line: pr.Line, Problem: pr}
		if pr.Path != nil {
			uk.Key = pr.Path.String()
		}
		if pr.Path != nil && pr.Path.Len() == 1 {
			uk.Suggestion = cat.Suggest(pr.Path.Root())
		}
		if uk.Suggestion != "" {
			_, uk.Taken = cfg[uk.Suggestion]
		}
		data.Keys = append(data.Keys, uk)
	}
	return p.page(c, sess, status, "unknown", "unknown", "Unknown keys", data)
}

// unknownRename renames an unknown top-level key to the key the editor
// suggests for it, keeping its value, comments and place in the file.
func (p *pages) unknownRename(c echo.Context) error {
	sess, err := p.session(c)
	if err != nil {
		return err
	}
	from := c.FormValue("key")
	sess.Lock()
	defer sess.Unlock()
	if !checkRev(c, sess) {
		return p.renderUnknown(c, sess, http.StatusConflict, conflictMsg)
	}
	cat := schema.Get()
	cfg := sess.Work.Config().Value()
	_, ok := cfg[from]
	to := cat.Suggest(from)
	switch {
	case !ok || cat.Field(from) != nil:
		return p.renderUnknown(c, sess, http.StatusUnprocessableEntity, fmt.Sprintf("There is no unknown key %q in config.yaml; nothing was changed.", from))
	case to == "":
		return p.renderUnknown(c, sess, http.StatusUnprocessableEntity, fmt.Sprintf("There is no suggestion for %s; edit it by hand. Nothing was changed.", from))
	case p.s.readOnly[cat.GroupOf(to)]:
		return p.renderUnknown(c, sess, http.StatusForbidden, fmt.Sprintf("%s belongs to a section managed by the Operator; nothing was changed.", to))
	}
	if _, taken := cfg[to]; taken {
		return p.renderUnknown(c, sess, http.StatusConflict, fmt.Sprintf("%s is already set, so %s cannot be renamed to it; remove one of them by hand. Nothing was changed.", to, from))
	}
	work := sess.Work.Clone()
	doc := work.Config()
	// in place: only the key's text changes, the entry keeps its line
	if err := doc.RenameKey(from, to); err != nil {
		return p.renderUnknown(c, sess, http.StatusUnprocessableEntity, "Nothing was changed: "+err.Error())
	}
	sess.Work = work
	sess.Changed()
	sess.forgetValidation(schema.UnknownGroup, cat.GroupOf(to))
	sess.Flash = fmt.Sprintf("Renamed %s to %s.", from, to)
	return p.redirect(c, "/unknown")
}
