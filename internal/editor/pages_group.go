package editor

// A field group's page: its form, generated from the catalogue, and
// saving it (only the keys the user changed are written).

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/quay-tools/config-editor/internal/problem"
	"github.com/quay-tools/config-editor/internal/schema"
)

// groupFields builds the form of a field group.
func (p *pages) groupFields(cat *schema.Catalogue, g *schema.Group, cfg map[string]any, form url.Values) []*fieldView {
	var out []*fieldView
	for _, f := range g.Fields {
		if f.Pattern != nil {
			for _, k := range sortedKeys(cfg) {
				if f.Pattern.MatchString(k) && cat.GroupOf(k) == g.Name {
					if _, literal := literalField(cat, k); literal {
						continue
					}
					fv := buildField(cat, k, f, cfg, form)
					fv.Label = providerName(k) + " provider"
					fv.Removable = true
					out = append(out, fv)
				}
			}
			continue
		}
		if g.Name == groupStorage && slices.Contains(storageEditorKeys, f.Key) {
			continue
		}
		out = append(out, buildField(cat, f.Key, f, cfg, form))
	}
	return out
}

func literalField(cat *schema.Catalogue, key string) (*schema.Field, bool) {
	for _, k := range cat.Keys() {
		if k == key {
			return cat.Field(k), true
		}
	}
	return nil, false
}

func providerName(key string) string { return strings.TrimSuffix(key, "_LOGIN_CONFIG") }

func (p *pages) groupPage(c echo.Context) error {
	sess, err := p.session(c)
	if err != nil {
		return err
	}
	sess.Lock()
	defer sess.Unlock()
	return p.renderGroup(c, sess, http.StatusOK, c.Param("name"), groupInput{})
}

// groupInput is what a group page shows besides the working copy: the
// user's input after a refused save, and a message.
type groupInput struct {
	form    url.Values        // a submitted section form, shown again
	errs    map[string]string // input errors by field path
	storage *storageRender    // a submitted storage form, shown again
	msg     string
}

// groupData is the data of templates/pages/group.html.
type groupData struct {
	layoutData
	Group        *schema.Group
	Fields       []*fieldView
	Advanced     []*fieldView      // rarely used fields, in a closed block
	AdvancedOpen bool              // the block is drawn open
	Rest         []problem.Problem // problems no field shows
	ReadOnly     bool
	Checked      bool              // the group was validated
	Section      sectionStatus     // this section's verdict
	Testable     bool              // the section has a Test connection button
	Providers    []string          // OIDC: the providers, each with its own test
	Passed       []problem.Problem // what its online checks proved
	Storage      *storageView      // the storage editor (DistributedStorage only)
	Slots        []fileSlot
	Dirty        bool // the section form shows unsaved input
	StorageDirty bool // the storage form shows unsaved input
	Generate     []generateKey
}

// renderGroup draws a group page.
func (p *pages) renderGroup(c echo.Context, sess *Session, status int, name string, in groupInput) error {
	cat := schema.Get()
	g := cat.Group(name)
	if g == nil {
		return echo.NewHTTPError(http.StatusNotFound, "there is no field group named "+name)
	}
	cfg := sess.Work.Config().Value()
	p.ensureHealth(sess)
	st := sess.validationSnapshot()
	fields := p.groupFields(cat, g, cfg, in.form)
	for _, f := range fields {
		attachInputErrors(f, in.errs)
	}
	probs := st.Problems[g.Name]
	var rest []problem.Problem
	var sv *storageView
	if g.Name == groupStorage {
		var storProbs []problem.Problem
		for _, pr := range probs {
			if storageProblem(pr) {
				storProbs = append(storProbs, pr)
			} else {
				rest = append(rest, pr)
			}
		}
		rest = attachProblems(fields, rest)
		if sf := in.storage; sf != nil {
			sv = buildStorageView(cat, cfg, sf.locs, sf.form, storProbs)
			applyStorageErrors(sv, sf.errs)
			sv.NewName = sf.newName
		} else {
			sv = buildStorageView(cat, cfg, locationsFromConfig(cat, cfg), nil, storProbs)
		}
	} else {
		rest = attachProblems(fields, probs)
	}
	data := &groupData{
		layoutData:   layoutData{Message: in.msg},
		Group:        g,
		Fields:       fields,
		Rest:         rest,
		ReadOnly:     p.s.readOnly[g.Name],
		Checked:      st.Checked[g.Name],
		Section:      sectionStatusOf(st, g.Name, g.Title, sess.Rev),
		Testable:     testableGroups[g.Name],
		Providers:    providersOf(fields),
		Passed:       st.Passed[g.Name],
		Storage:      sv,
		Slots:        slotsFor(g.Name, sess.Work, p.s.cfg.Now()),
		Dirty:        in.form != nil && in.storage == nil,
		StorageDirty: in.storage != nil,
		Generate:     generateKeysOf(g.Name, cfg),
	}
	data.Fields, data.Advanced, data.AdvancedOpen = splitAdvanced(fields, c.QueryParam("field"))
	return p.page(c, sess, status, "group", g.Name, g.Title, data)
}

func storageProblem(pr problem.Problem) bool {
	for _, k := range storageEditorKeys {
		if pr.Path.WithinSegments(k) {
			return true
		}
	}
	return false
}

func attachInputErrors(f *fieldView, errs map[string]string) {
	if msg, ok := errs[f.Path]; ok {
		f.Problems = append(f.Problems, problem.Problem{Severity: problem.Error, Message: msg, Path: keysPath(f.Segs)})
	}
	for _, ch := range f.Children {
		attachInputErrors(ch, errs)
	}
}

func (p *pages) groupSave(c echo.Context) error {
	sess, err := p.session(c)
	if err != nil {
		return err
	}
	form, err := c.FormParams()
	if err != nil {
		return echo.NewHTTPError(http.StatusBadRequest, "the form could not be read")
	}
	name := c.Param("name")
	if schema.Get().Group(name) == nil {
		return echo.NewHTTPError(http.StatusNotFound, "there is no field group named "+name)
	}
	sess.Lock()
	defer sess.Unlock()
	if ok, err := p.saveGroupForm(c, sess, name, form); !ok {
		return err
	}
	return p.redirect(c, "/group/"+name)
}

// saveGroupForm applies a group form to the working copy. When it returns
// false it has already answered (conflict, read-only or input errors, with
// the user's input shown again). The caller holds the session lock.
func (p *pages) saveGroupForm(c echo.Context, sess *Session, name string, form url.Values) (bool, error) {
	cat := schema.Get()
	g := cat.Group(name)
	if p.s.readOnly[name] {
		return false, p.renderGroup(c, sess, http.StatusForbidden, name, groupInput{msg: "This group is managed by the Operator and cannot be edited here."})
	}
	if !checkRev(c, sess) {
		return false, p.renderGroup(c, sess, http.StatusConflict, name, groupInput{form: form, msg: conflictMsg})
	}
	cfg := sess.Work.Config().Value()
	fields := p.groupFields(cat, g, cfg, nil)
	edits, errs := collectEdits(cat, fields, cfg, form)
	if add := strings.TrimSpace(form.Get("newprovider")); add != "" && name == "OIDC" {
		key := strings.ToUpper(add)
		if !strings.HasSuffix(key, "_LOGIN_CONFIG") {
			key += "_LOGIN_CONFIG"
		}
		_, literal := literalField(cat, key)
		switch {
		case literal || cat.GroupOf(key) != "OIDC":
			errs["newprovider"] = "Use a provider name of capital letters, digits and underscores (for example AZURE); GitHub and Google have their own sections."
		case cfg[key] != nil:
			errs["newprovider"] = "A provider " + key + " already exists."
		default:
			edits = append(edits, edit{segs: []string{key}, value: map[string]any{"SERVICE_NAME": add}})
		}
	}
	if len(errs) > 0 {
		msg := "Nothing was saved: correct the highlighted fields."
		if e, ok := errs["newprovider"]; ok {
			msg = e
		}
		return false, p.renderGroup(c, sess, http.StatusUnprocessableEntity, name, groupInput{form: form, errs: errs, msg: msg})
	}
	if len(edits) == 0 {
		sess.Flash = "No changes to save in " + g.Title + "."
		return true, nil
	}
	work := sess.Work.Clone()
	if err := applyEdits(work.Config(), edits); err != nil {
		return false, p.renderGroup(c, sess, http.StatusUnprocessableEntity, name, groupInput{form: form, msg: "Nothing was saved: " + err.Error()})
	}
	sess.Work = work
	sess.Changed()
	sess.forgetValidation(name)
	sess.Flash = fmt.Sprintf("Saved %s: %d change(s).", g.Title, len(edits))
	return true, nil
}
