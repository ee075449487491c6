package editor

// The raw YAML view (/yaml): config.yaml as text in a textarea, for admins
// who prefer text. Design, kept simple and safe:
//
//   - The text shown is the working copy's config.yaml with every secret
//     replaced by "<secret>" through the document's own minimal edits
//     (Apply of schema.Redact's value), so comments and layout survive and
//     the text is still valid YAML. A URI keeps everything but its
//     password ("postgresql://quay:<secret>@db/quay").
//   - As a second net, every secret value of the config is searched in the
//     redacted text (a comment or an anchor could repeat one); when one is
//     found the view is read-only (the diff's masked lines) and says why.
//   - On save the text is parsed (a syntax error names its line; nothing is
//     saved), every "<secret>" gets back the current value at the same path
//     (schema.RestoreSecrets, as PUT /api/v1/config does), read-only groups
//     must not change, the revision must be current (409 otherwise, with the
//     text kept), and the result is validated offline: its problems are
//     listed with their lines.

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/quay-tools/config-editor/internal/bundle"
	"github.com/quay-tools/config-editor/internal/problem"
	"github.com/quay-tools/config-editor/internal/schema"
	"github.com/quay-tools/config-editor/internal/validators"
)

// yamlData is the data of templates/pages/yaml.html.
type yamlData struct {
	layoutData
	Text     string   // the textarea's text (redacted, or the user's input)
	Masked   []string // read-only masked lines when the text cannot be edited safely
	Why      string   // why the view is read-only
	ErrLine  int      // the line of a syntax error
	Problems []problem.Problem
	Checked  bool // Problems are the result of this save
}

// redactedText is config.yaml with secrets as placeholders, or "" and the
// reason when that text could still show a secret.
func redactedText(cat *schema.Catalogue, doc *bundle.Document) (string, string) {
	value := doc.Value()
	red := doc.Clone()
	if err := red.Apply(cat.Redact(value)); err != nil {
		return "", "its secrets cannot be replaced by placeholders in the text (" + err.Error() + ")"
	}
	text := string(red.Bytes())
	for _, s := range cat.SecretValues(value) {
		for _, f := range []string{s, strings.Trim(strconv.Quote(s), `"`)} {
			if len(f) >= 3 && strings.Contains(text, f) {
				line := strings.Count(text[:strings.Index(text, f)], "\n") + 1
				return "", fmt.Sprintf("a secret value appears elsewhere in the text (line %d, for example in a comment or an anchor); edit config.yaml by hand or through the forms", line)
			}
		}
	}
	return text, ""
}

func (p *pages) yamlPage(c echo.Context) error {
	sess, err := p.session(c)
	if err != nil {
		return err
	}
	sess.Lock()
	defer sess.Unlock()
	return p.renderYAML(c, sess, http.StatusOK, &yamlData{}, nil)
}

// renderYAML draws the page; in.Text == "" with input == nil shows the
// working copy.
func (p *pages) renderYAML(c echo.Context, sess *Session, status int, d *yamlData, input *string) error {
	cat := schema.Get()
	text, why := redactedText(cat, sess.Work.Config())
	switch {
	case why != "":
		d.Why = why
		secrets := cat.SecretValues(sess.Work.Config().Value())
		d.Masked = maskedLines(cat, sess.Work.Config(), secrets)
		d.Text = ""
	case input != nil:
		d.Text = *input
	default:
		d.Text = text
	}
	return p.page(c, sess, status, "yaml", "yaml", "config.yaml as text", d)
}

func (p *pages) yamlSave(c echo.Context) error {
	sess, err := p.session(c)
	if err != nil {
		return err
	}
	text := strings.ReplaceAll(c.FormValue("text"), "\r\n", "\n")
	sess.Lock()
	defer sess.Unlock()
	cat := schema.Get()
	shown, why := redactedText(cat, sess.Work.Config())
	if why != "" {
		return p.renderYAML(c, sess, http.StatusForbidden, &yamlData{layoutData: layoutData{Message: "Nothing was saved: this configuration cannot be edited as text here."}}, nil)
	}
	if !checkRev(c, sess) {
		return p.renderYAML(c, sess, http.StatusConflict, &yamlData{layoutData: layoutData{Message: conflictMsg}}, &text)
	}
	if text == shown {
		sess.Flash = "No changes to save in config.yaml."
		return p.redirect(c, "/yaml")
	}
	doc, err := bundle.ParseDocument([]byte(text), p.s.limits)
	if err != nil {
		d := &yamlData{layoutData: layoutData{Message: "Nothing was saved: " + err.Error()}}
		if se, ok := err.(*bundle.SyntaxError); ok {
			d.ErrLine = se.Line
		}
		return p.renderYAML(c, sess, http.StatusUnprocessableEntity, d, &text)
	}
	cur := sess.Work.Config().Value()
	if err := doc.Apply(cat.RestoreSecrets(doc.Value(), cur)); err != nil {
		return p.renderYAML(c, sess, http.StatusUnprocessableEntity, &yamlData{layoutData: layoutData{Message: "Nothing was saved: " + err.Error()}}, &text)
	}
	if g := p.s.readOnlyChanged(cur, doc.Value()); g != "" {
		return p.renderYAML(c, sess, http.StatusForbidden, &yamlData{layoutData: layoutData{
			Message: "Nothing was saved: field group " + g + " is read-only in this editor; its keys cannot be changed."}}, &text)
	}
	next := sess.Work.Clone()
	next.SetConfig(doc)
	if err := sess.Admit(next, sess.Base); err != nil {
		return p.renderYAML(c, sess, http.StatusRequestEntityTooLarge, &yamlData{layoutData: layoutData{Message: "Nothing was saved: " + err.Error()}}, &text)
	}
	sess.Work = next
	sess.Changed()
	probs := validators.Validate(c.Request().Context(), next, validators.Options{Mode: validators.Offline, Timeout: p.s.cfg.ValidateTimeout})
	sess.storeValidation(p.s.cfg.Now(), sess.Rev, validators.Offline, "", probs, nil)
	problem.Sort(probs)
	d := &yamlData{Problems: probs, Checked: true}
	d.Flash = fmt.Sprintf("Saved config.yaml (revision %d).", sess.Rev)
	return p.renderYAML(c, sess, http.StatusOK, d, nil)
}
