package editor

// The htmx pages: the overview, one page per field group generated from
// the catalogue, the storage / geo-replication editor, custom CA
// certificates, bundle files (TLS pair, database CA), validation (one
// group or all, offline or online with per-group progress), the diff,
// download and upload. Every form is a real <form method=post> that works
// without JavaScript (POST-redirect-GET); htmx only makes it smoother.

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/quay-tools/config-editor/internal/bundle"
	"github.com/quay-tools/config-editor/internal/problem"
	"github.com/quay-tools/config-editor/internal/schema"
	"github.com/quay-tools/config-editor/internal/validators"
)

// pages holds the UI's per-session state that is not part of the working
// copy: the last validation results and running online validations.
type pages struct {
	s       *Server
	mu      sync.Mutex
	results map[string]*validationState // by session ID
}

type validationState struct {
	Rev      int
	Mode     validators.Mode
	All      bool
	When     time.Time
	Problems map[string][]problem.Problem // by group
	Passed   map[string][]problem.Problem // what online probes proved, by group
	Checked  map[string]bool              // groups validated
	Job      *validationJob
	used     time.Time
}

// validationJob is an online validation in progress.
type validationJob struct {
	ID       string
	Started  time.Time
	Total    int
	Done     []string // groups in completion order
	Finished bool
	Problems []problem.Problem
}

const maxResultSessions = 512

func (s *Server) registerPages(g *echo.Group) {
	p := &pages{s: s, results: map[string]*validationState{}}
	getHead(g, "/", p.overview)
	getHead(g, "/group/:name", p.groupPage)
	g.POST("/group/:name", p.groupSave)
	g.POST("/storage", p.storageSave)
	getHead(g, "/certs", p.certsPage)
	g.POST("/certs", p.certUpload)
	g.POST("/certs/remove", p.certRemove)
	g.POST("/files", p.fileUpload)
	g.POST("/files/remove", p.fileRemove)
	g.POST("/validate", p.validate)
	getHead(g, "/validate/job", p.validateJob)
	getHead(g, "/diff", p.diffPage)
	getHead(g, "/download", p.download)
	g.POST("/upload", p.upload)
	p.registerOperator(g)
}

// navSection is a heading of the left navigation.
type navSection struct {
	Title string
	Items []navItem
}

type navItem struct {
	Href, Title string
	Active      bool
	ReadOnly    bool
	Errors      int
}

var sectionTitles = map[string]string{
	"basic": "Basic", "storage": "Storage", "auth": "Authentication", "features": "Features", "advanced": "Advanced",
}

var sectionOrder = []string{"basic", "storage", "auth", "features", "advanced"}

func (p *pages) nav(active string, st *validationState) []navSection {
	cat := schema.Get()
	out := []navSection{{Title: "Bundle", Items: []navItem{
		{Href: "/", Title: "Overview", Active: active == "overview"},
		{Href: "/certs", Title: "Custom SSL certificates", Active: active == "certs", Errors: st.count(groupCerts)},
		{Href: "/diff", Title: "Changes", Active: active == "diff"},
	}}}
	bySection := map[string][]navItem{}
	for _, g := range cat.Groups() {
		sec := g.Section
		if sectionTitles[sec] == "" {
			sec = "advanced"
		}
		bySection[sec] = append(bySection[sec], navItem{Href: "/group/" + g.Name, Title: g.Title,
			Active: active == g.Name, ReadOnly: p.s.readOnly[g.Name], Errors: st.count(g.Name)})
	}
	for _, sec := range sectionOrder {
		if len(bySection[sec]) > 0 {
			out = append(out, navSection{Title: sectionTitles[sec], Items: bySection[sec]})
		}
	}
	return out
}

const groupCerts = "CustomCertificates"

func (st *validationState) count(group string) int {
	if st == nil {
		return 0
	}
	n := 0
	for _, pr := range st.Problems[group] {
		if pr.Severity == problem.Error {
			n++
		}
	}
	return n
}

// state returns (creating) the session's validation state.
func (p *pages) state(sess *Session) *validationState {
	p.mu.Lock()
	defer p.mu.Unlock()
	st := p.results[sess.ID]
	if st == nil {
		if len(p.results) >= maxResultSessions {
			var oldest string
			for id, o := range p.results {
				if oldest == "" || o.used.Before(p.results[oldest].used) {
					oldest = id
				}
			}
			delete(p.results, oldest)
		}
		st = &validationState{Problems: map[string][]problem.Problem{}, Passed: map[string][]problem.Problem{}, Checked: map[string]bool{}}
		p.results[sess.ID] = st
	}
	st.used = time.Now()
	return st
}

// snapshot copies the state for rendering.
func (p *pages) snapshot(sess *Session) *validationState {
	st := p.state(sess)
	p.mu.Lock()
	defer p.mu.Unlock()
	cp := *st
	cp.Problems = make(map[string][]problem.Problem, len(st.Problems))
	for k, v := range st.Problems {
		cp.Problems[k] = v
	}
	cp.Passed = make(map[string][]problem.Problem, len(st.Passed))
	for k, v := range st.Passed {
		cp.Passed[k] = v
	}
	cp.Checked = make(map[string]bool, len(st.Checked))
	for k, v := range st.Checked {
		cp.Checked[k] = v
	}
	if st.Job != nil {
		j := *st.Job
		j.Done = append([]string(nil), st.Job.Done...)
		cp.Job = &j
	}
	return &cp
}

func isHX(c echo.Context) bool {
	return c.Request().Header.Get("HX-Request") == "true" && c.Request().Header.Get("HX-Boosted") == ""
}

// page renders a full page (or its content for htmx) with the common data.
func (p *pages) page(c echo.Context, sess *Session, status int, name, active, title string, data map[string]any) error {
	if data == nil {
		data = map[string]any{}
	}
	st := p.snapshot(sess)
	data["Nav"] = p.nav(active, st)
	data["Title"] = title
	data["HX"] = isHX(c)
	data["Mounted"] = sess.Mounted
	data["Rev"] = sess.Rev // the caller holds the session lock
	if _, ok := data["Summary"]; !ok {
		data["Summary"] = summaryOf(st, "")
	}
	if sess.Flash != "" {
		if _, ok := data["Flash"]; !ok {
			data["Flash"] = sess.Flash
		}
		sess.Flash = ""
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return p.s.render(c, status, name, data)
}

// summary is the content of the aria-live summary region.
type summary struct {
	Validated bool
	Mode      string
	Rev       int
	Errors    int
	Warnings  int
	Groups    []summaryGroup
	Job       *validationJob
	Scope     string
}

type summaryGroup struct {
	Name, Title string
	Problems    []problem.Problem
	Passed      []problem.Problem // what the online probes proved
}

func summaryOf(st *validationState, only string) summary {
	sm := summary{Validated: len(st.Checked) > 0, Mode: string(st.Mode), Rev: st.Rev, Job: st.Job}
	if only != "" {
		sm.Scope = only
		sm.Validated = st.Checked[only]
	}
	cat := schema.Get()
	groups := append([]string{groupCerts}, groupNames(cat)...)
	for _, g := range groups {
		if only != "" && g != only {
			continue
		}
		probs, passed := st.Problems[g], st.Passed[g]
		if len(probs) == 0 && len(passed) == 0 {
			continue
		}
		title := g
		if cg := cat.Group(g); cg != nil {
			title = cg.Title
		} else if g == groupCerts {
			title = "Custom SSL certificates"
		}
		sm.Groups = append(sm.Groups, summaryGroup{Name: g, Title: title, Problems: probs, Passed: passed})
		for _, pr := range probs {
			if pr.Severity == problem.Error {
				sm.Errors++
			} else {
				sm.Warnings++
			}
		}
	}
	return sm
}

func groupNames(cat *schema.Catalogue) []string {
	var out []string
	for _, g := range cat.Groups() {
		out = append(out, g.Name)
	}
	return out
}

// session returns the caller's login session or an error page.
func (p *pages) session(c echo.Context) (*Session, error) {
	sess := p.s.sessionOf(c)
	if sess == nil {
		return nil, echo.NewHTTPError(http.StatusUnauthorized, "log in first")
	}
	return sess, nil
}

// overview is the main page.
func (p *pages) overview(c echo.Context) error {
	sess, err := p.session(c)
	if err != nil {
		return err
	}
	sess.Lock()
	defer sess.Unlock()
	return p.renderOverview(c, sess, http.StatusOK, "")
}

func (p *pages) renderOverview(c echo.Context, sess *Session, status int, msg string) error {
	cfg := sess.Work.Config().Value()
	dsc, _ := cfg[keyStorageConfig].(map[string]any)
	auth := scalarText(cfg["AUTHENTICATION_TYPE"])
	if auth == "" {
		auth = "Database"
	}
	data := map[string]any{
		"Host":      scalarText(cfg["SERVER_HOSTNAME"]),
		"Keys":      len(cfg),
		"Files":     len(sess.Work.FileNames()),
		"Locations": len(dsc),
		"Auth":      auth,
		"Changed":   !sess.pristine(),
		"Message":   msg,
	}
	return p.page(c, sess, status, "overview", "overview", "Overview", data)
}

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
		if g.Name == groupStorage && storageKeys[f.Key] {
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

// fileSlot is a bundle file edited on a group page.
type fileSlot struct {
	Name, Label, Help string
	Key               bool // private key: never shown, only its presence
	Present           bool
	Info              []string
	Err               string
	ID                string
}

var groupFiles = map[string][]fileSlot{
	"HostSettings": {
		{Name: "ssl.cert", Label: "TLS certificate (ssl.cert)", Help: "PEM certificate chain Quay serves; the first certificate must cover SERVER_HOSTNAME."},
		{Name: "ssl.key", Label: "TLS private key (ssl.key)", Help: "PEM private key matching ssl.cert. It is stored in the bundle and never shown.", Key: true},
	},
	"Database": {
		{Name: "database.pem", Label: "Database CA certificate (database.pem)", Help: "CA that signed the database server's certificate; refer to it as conf/stack/database.pem in the connection arguments."},
	},
}

func slotsFor(group string, b *bundle.Bundle, now time.Time) []fileSlot {
	var out []fileSlot
	for _, fs := range groupFiles[group] {
		fs.ID = "file-" + strings.ReplaceAll(fs.Name, ".", "-")
		data, ok := b.File(fs.Name)
		fs.Present = ok
		if ok && !fs.Key {
			certs, err := validators.ParseCertPEM(data)
			if err != nil {
				fs.Err = err.Error()
			} else {
				fs.Info = certSummary(certs[0], now)
			}
		}
		out = append(out, fs)
	}
	return out
}

func certSummary(c *x509.Certificate, now time.Time) []string {
	out := []string{"Subject: " + c.Subject.String()}
	if len(c.DNSNames) > 0 {
		out = append(out, "Names: "+strings.Join(c.DNSNames, ", "))
	}
	out = append(out, "Expires: "+c.NotAfter.UTC().Format("2006-01-02")+" ("+certStatus(c, now)+")")
	return out
}

func certStatus(c *x509.Certificate, now time.Time) string {
	switch {
	case now.After(c.NotAfter):
		return "expired"
	case now.Before(c.NotBefore):
		return "not yet valid"
	case c.NotAfter.Sub(now) < validators.ExpiryWarning:
		return "expires soon"
	}
	return "valid"
}

func (p *pages) groupPage(c echo.Context) error {
	sess, err := p.session(c)
	if err != nil {
		return err
	}
	sess.Lock()
	defer sess.Unlock()
	return p.renderGroup(c, sess, http.StatusOK, c.Param("name"), nil, nil, nil, "")
}

// renderGroup draws a group page; form/errs re-show what the user typed.
func (p *pages) renderGroup(c echo.Context, sess *Session, status int, name string, form url.Values, errs map[string]string, storageForm *storageRender, msg string) error {
	cat := schema.Get()
	g := cat.Group(name)
	if g == nil {
		return echo.NewHTTPError(http.StatusNotFound, "there is no field group named "+name)
	}
	cfg := sess.Work.Config().Value()
	st := p.snapshot(sess)
	fields := p.groupFields(cat, g, cfg, form)
	for _, f := range fields {
		attachInputErrors(f, errs)
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
		if storageForm != nil {
			sv = buildStorageView(cat, cfg, storageForm.locs, storageForm.form, storProbs)
			applyStorageErrors(sv, storageForm.errs)
			sv.NewName = storageForm.newName
		} else {
			sv = buildStorageView(cat, cfg, locationsFromConfig(cat, cfg), nil, storProbs)
		}
	} else {
		rest = attachProblems(fields, probs)
	}
	data := map[string]any{
		"Group":     g,
		"Fields":    fields,
		"Rest":      rest,
		"ReadOnly":  p.s.readOnly[g.Name],
		"Checked":   st.Checked[g.Name],
		"Passed":    st.Passed[g.Name],
		"Storage":   sv,
		"Slots":     slotsFor(g.Name, sess.Work, time.Now()),
		"Message":   msg,
		"GroupSumm": summaryOf(st, g.Name),
	}
	if form != nil && storageForm == nil {
		data["Dirty"] = true
	}
	if storageForm != nil {
		data["StorageDirty"] = true
	}
	return p.page(c, sess, status, "group", g.Name, g.Title, data)
}

func storageProblem(pr problem.Problem) bool {
	for _, k := range []string{keyStorageConfig, keyStoragePref, keyStorageDefaults, keyReplication} {
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

// checkRev compares the submitted revision with the session's.
func checkRev(c echo.Context, sess *Session) bool {
	rev, err := strconv.Atoi(c.FormValue("rev"))
	return err == nil && rev == sess.Rev
}

const conflictMsg = "The configuration changed since this page was loaded (another tab or an upload). Nothing was saved; your input is shown below — check it against the current values and save again."

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
		return false, p.renderGroup(c, sess, http.StatusForbidden, name, nil, nil, nil, "This group is managed by the Operator and cannot be edited here.")
	}
	if !checkRev(c, sess) {
		return false, p.renderGroup(c, sess, http.StatusConflict, name, form, nil, nil, conflictMsg)
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
		return false, p.renderGroup(c, sess, http.StatusUnprocessableEntity, name, form, errs, nil, msg)
	}
	if len(edits) == 0 {
		sess.Flash = "No changes to save in " + g.Title + "."
		return true, nil
	}
	work := sess.Work.Clone()
	if err := applyEdits(work.Config(), edits); err != nil {
		return false, p.renderGroup(c, sess, http.StatusUnprocessableEntity, name, form, nil, nil, "Nothing was saved: "+err.Error())
	}
	sess.Work = work
	sess.Changed()
	p.forget(sess, name)
	sess.Flash = fmt.Sprintf("Saved %s: %d change(s).", g.Title, len(edits))
	return true, nil
}

// forget drops stored results of a group that was just edited.
func (p *pages) forget(sess *Session, groups ...string) {
	st := p.state(sess)
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, g := range groups {
		delete(st.Problems, g)
		delete(st.Checked, g)
	}
}

// redirect is the R of POST-redirect-GET (htmx follows it transparently).
func (p *pages) redirect(c echo.Context, to string) error {
	return c.Redirect(http.StatusSeeOther, to)
}

type storageRender struct {
	locs    []formLoc
	form    url.Values // the submitted form, for the replication choice
	errs    map[storageField]string
	newName string
}

func applyStorageErrors(sv *storageView, errs map[storageField]string) {
	for k, msg := range errs {
		switch {
		case k.loc == -1 && k.arg == "":
			sv.NewErr = msg
		case k.loc == -1:
			sv.Replication.Problems = append(sv.Replication.Problems, problem.Problem{Severity: problem.Error, Message: msg})
		case k.loc >= 0 && k.loc < len(sv.Locations) && k.arg == "":
			sv.Locations[k.loc].NameErr = msg
		case k.loc >= 0 && k.loc < len(sv.Locations):
			for _, fv := range sv.Locations[k.loc].Args {
				if fv.Segs[len(fv.Segs)-1] == k.arg {
					fv.Problems = append(fv.Problems, problem.Problem{Severity: problem.Error, Message: msg})
				}
			}
		}
	}
}

func (p *pages) storageSave(c echo.Context) error {
	sess, err := p.session(c)
	if err != nil {
		return err
	}
	form, err := c.FormParams()
	if err != nil {
		return echo.NewHTTPError(http.StatusBadRequest, "the form could not be read")
	}
	sess.Lock()
	defer sess.Unlock()
	if ok, err := p.saveStorageForm(c, sess, form); !ok {
		return err
	}
	return p.redirect(c, "/group/"+groupStorage+"#storage")
}

// saveStorageForm is saveGroupForm for the storage editor.
func (p *pages) saveStorageForm(c echo.Context, sess *Session, form url.Values) (bool, error) {
	cat := schema.Get()
	cfg := sess.Work.Config().Value()
	if p.s.readOnly[groupStorage] {
		return false, p.renderGroup(c, sess, http.StatusForbidden, groupStorage, nil, nil, nil, "Storage is managed by the Operator and cannot be edited here.")
	}
	if !checkRev(c, sess) {
		locs := locationsFromForm(form, cfg)
		return false, p.renderGroup(c, sess, http.StatusConflict, groupStorage, nil, nil,
			&storageRender{locs: locs, form: form, newName: form.Get("new.name")}, conflictMsg)
	}
	newCfg, locs, errs := storageSubmit(cat, cfg, form)
	if len(errs) > 0 {
		return false, p.renderGroup(c, sess, http.StatusUnprocessableEntity, groupStorage, nil, nil,
			&storageRender{locs: locs, form: form, errs: errs, newName: form.Get("new.name")},
			"Nothing was saved: correct the highlighted entries.")
	}
	if bundle.EqualValues(any(newCfg), any(cfg)) {
		sess.Flash = "No changes to the storage locations."
		return true, nil
	}
	work := sess.Work.Clone()
	if err := applyValue(work.Config(), newCfg); err != nil {
		return false, p.renderGroup(c, sess, http.StatusUnprocessableEntity, groupStorage, nil, nil,
			&storageRender{locs: locs, form: form}, "Nothing was saved: "+err.Error())
	}
	sess.Work = work
	sess.Changed()
	p.forget(sess, groupStorage)
	sess.Flash = "Saved the storage locations."
	return true, nil
}

// certRow is one extra CA certificate file.
type certRow struct {
	Name, Status, Subject, Names, Expires, Err string
}

func (p *pages) certsPage(c echo.Context) error {
	sess, err := p.session(c)
	if err != nil {
		return err
	}
	sess.Lock()
	defer sess.Unlock()
	return p.renderCerts(c, sess, http.StatusOK, "")
}

func (p *pages) renderCerts(c echo.Context, sess *Session, status int, msg string) error {
	now := time.Now()
	var rows []certRow
	cas := sess.Work.ExtraCAs()
	for _, name := range sortedKeys(toAnyMap(cas)) {
		row := certRow{Name: name}
		certs, err := validators.ParseCertPEM(cas[name])
		if err != nil {
			row.Status, row.Err = "unusable", err.Error()
		} else {
			c0 := certs[0]
			row.Status = certStatus(c0, now)
			row.Subject = c0.Subject.CommonName
			if row.Subject == "" {
				row.Subject = c0.Subject.String()
			}
			row.Names = strings.Join(append(append([]string(nil), c0.DNSNames...), ipStrings(c0)...), ", ")
			row.Expires = c0.NotAfter.UTC().Format("2006-01-02")
			if len(certs) > 1 {
				row.Subject += fmt.Sprintf(" (+%d more in the file)", len(certs)-1)
			}
		}
		rows = append(rows, row)
	}
	return p.page(c, sess, status, "certs", "certs", "Custom SSL certificates", map[string]any{"Certs": rows, "Message": msg})
}

func ipStrings(c *x509.Certificate) []string {
	var out []string
	for _, ip := range c.IPAddresses {
		out = append(out, ip.String())
	}
	return out
}

func toAnyMap(m map[string][]byte) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// readUpload reads one uploaded file, bounded.
func readUpload(c echo.Context, field string, limit int64) (string, []byte, error) {
	fh, err := c.FormFile(field)
	if err != nil {
		return "", nil, errors.New("choose a file to upload")
	}
	if fh.Size > limit {
		return "", nil, fmt.Errorf("the file is %d bytes, more than the %d allowed", fh.Size, limit)
	}
	f, err := fh.Open()
	if err != nil {
		return "", nil, errors.New("the upload could not be read")
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil || int64(len(data)) > limit {
		return "", nil, errors.New("the upload could not be read completely")
	}
	return fh.Filename, data, nil
}

const maxCertUpload = 1 << 20

func (p *pages) certUpload(c echo.Context) error {
	sess, err := p.session(c)
	if err != nil {
		return err
	}
	fname, data, upErr := readUpload(c, "cert", maxCertUpload)
	sess.Lock()
	defer sess.Unlock()
	if !checkRev(c, sess) {
		return p.renderCerts(c, sess, http.StatusConflict, conflictMsg)
	}
	if upErr != nil {
		return p.renderCerts(c, sess, http.StatusUnprocessableEntity, "Nothing was added: "+upErr.Error()+".")
	}
	base := path.Base(strings.ReplaceAll(fname, "\\", "/"))
	if !strings.HasSuffix(base, ".crt") && !strings.HasSuffix(base, ".pem") && !strings.HasSuffix(base, ".cer") {
		return p.renderCerts(c, sess, http.StatusUnprocessableEntity, "Nothing was added: the file name must end in .crt, .pem or .cer.")
	}
	if _, err := validators.ParseCertPEM(data); err != nil {
		return p.renderCerts(c, sess, http.StatusUnprocessableEntity, "Nothing was added: "+base+": "+err.Error()+".")
	}
	work := sess.Work.Clone()
	if err := work.SetFile(bundle.ExtraCAPrefix+base, data); err != nil {
		return p.renderCerts(c, sess, http.StatusUnprocessableEntity, "Nothing was added: "+err.Error()+".")
	}
	if err := sess.Admit(work, sess.Base); err != nil {
		return p.renderCerts(c, sess, memoryStatus(err), "Nothing was added: "+err.Error()+".")
	}
	sess.Work = work
	sess.Changed()
	p.forget(sess, groupCerts)
	sess.Flash = "Added " + bundle.ExtraCAPrefix + base + "."
	return p.redirect(c, "/certs")
}

func (p *pages) certRemove(c echo.Context) error {
	sess, err := p.session(c)
	if err != nil {
		return err
	}
	name := c.FormValue("name")
	sess.Lock()
	defer sess.Unlock()
	if !checkRev(c, sess) {
		return p.renderCerts(c, sess, http.StatusConflict, conflictMsg)
	}
	if _, ok := sess.Work.ExtraCAs()[name]; !ok {
		return p.renderCerts(c, sess, http.StatusUnprocessableEntity, "There is no certificate file "+name+".")
	}
	work := sess.Work.Clone()
	work.RemoveFile(name)
	sess.Work = work
	sess.Changed()
	p.forget(sess, groupCerts)
	sess.Flash = "Removed " + name + "."
	return p.redirect(c, "/certs")
}

// slotGroup finds the group page that owns a bundle file slot.
func slotGroup(name string) (string, fileSlot, bool) {
	for g, slots := range groupFiles {
		for _, s := range slots {
			if s.Name == name {
				return g, s, true
			}
		}
	}
	return "", fileSlot{}, false
}

func (p *pages) fileUpload(c echo.Context) error {
	sess, err := p.session(c)
	if err != nil {
		return err
	}
	name := c.FormValue("name")
	group, slot, ok := slotGroup(name)
	if !ok {
		return echo.NewHTTPError(http.StatusBadRequest, "unknown bundle file")
	}
	_, data, upErr := readUpload(c, "file", maxCertUpload)
	sess.Lock()
	defer sess.Unlock()
	if refused, err := p.refuseFileEdit(c, sess, group); refused {
		return err
	}
	if upErr == nil {
		if slot.Key {
			_, upErr = validators.ParseKeyPEM(data)
		} else {
			_, upErr = validators.ParseCertPEM(data)
		}
	}
	if upErr != nil {
		return p.renderGroup(c, sess, http.StatusUnprocessableEntity, group, nil, nil, nil, "Nothing was stored for "+name+": "+upErr.Error()+".")
	}
	work := sess.Work.Clone()
	if err := work.SetFile(name, data); err != nil {
		return p.renderGroup(c, sess, http.StatusUnprocessableEntity, group, nil, nil, nil, "Nothing was stored: "+err.Error()+".")
	}
	return p.storeFileEdit(c, sess, group, work, "Stored "+name+".")
}

func (p *pages) fileRemove(c echo.Context) error {
	sess, err := p.session(c)
	if err != nil {
		return err
	}
	name := c.FormValue("name")
	group, _, ok := slotGroup(name)
	if !ok {
		return echo.NewHTTPError(http.StatusBadRequest, "unknown bundle file")
	}
	sess.Lock()
	defer sess.Unlock()
	if refused, err := p.refuseFileEdit(c, sess, group); refused {
		return err
	}
	work := sess.Work.Clone()
	work.RemoveFile(name)
	return p.storeFileEdit(c, sess, group, work, "Removed "+name+".")
}

// refuseFileEdit answers a file edit that may not happen (read-only group,
// stale revision) and reports whether it did. Holds sess's lock.
func (p *pages) refuseFileEdit(c echo.Context, sess *Session, group string) (bool, error) {
	switch {
	case p.s.readOnly[group]:
		return true, p.renderGroup(c, sess, http.StatusForbidden, group, nil, nil, nil, "This group is managed by the Operator and cannot be edited here.")
	case !checkRev(c, sess):
		return true, p.renderGroup(c, sess, http.StatusConflict, group, nil, nil, nil, conflictMsg)
	}
	return false, nil
}

// storeFileEdit makes work the session's copy and returns to the group page.
func (p *pages) storeFileEdit(c echo.Context, sess *Session, group string, work *bundle.Bundle, flash string) error {
	if err := sess.Admit(work, sess.Base); err != nil {
		return p.renderGroup(c, sess, memoryStatus(err), group, nil, nil, nil, "Nothing was stored: "+err.Error()+".")
	}
	sess.Work = work
	sess.Changed()
	p.forget(sess, group)
	sess.Flash = flash
	return p.redirect(c, "/group/"+group)
}

// validate runs a validation of one group (?group=X) or of everything.
// Online validation of everything from htmx runs in the background and the
// page polls /validate/job for per-group progress; without JavaScript it
// runs while the request waits.
func (p *pages) validate(c echo.Context) error {
	sess, err := p.session(c)
	if err != nil {
		return err
	}
	group := c.QueryParam("group")
	if group == "" {
		group = c.FormValue("group")
	}
	modeText := c.QueryParam("mode")
	if modeText == "" {
		modeText = c.FormValue("mode")
	}
	mode, err := validators.ParseMode(modeText)
	if err != nil {
		return echo.NewHTTPError(http.StatusBadRequest, err.Error())
	}
	cat := schema.Get()
	if group != "" && cat.Group(group) == nil && group != groupCerts {
		return echo.NewHTTPError(http.StatusBadRequest, "there is no field group named "+group)
	}
	sess.Lock()
	if group != "" && group != groupCerts {
		// "Save and validate": apply what the section's form holds first,
		// so the validation sees what the user sees.
		if form, err := c.FormParams(); err == nil && form.Has("rev") {
			var ok bool
			var err error
			if form.Has("locs") {
				ok, err = p.saveStorageForm(c, sess, form)
			} else {
				ok, err = p.saveGroupForm(c, sess, group, form)
			}
			if !ok {
				sess.Unlock()
				return err
			}
			sess.Flash = ""
		}
	}
	work := sess.Work.Clone()
	rev := sess.Rev
	sess.Unlock()
	release := func() {}
	if mode == validators.Online {
		// one online run per session, a bounded number in the process
		rel, refused := p.s.online.start(sess.ID, p.s.cfg.Now())
		if refused != nil {
			return p.refuseValidation(c, sess, group, refused)
		}
		release = rel
	}
	opts := validators.Options{Mode: mode, Timeout: p.s.cfg.ValidateTimeout}
	var passed []problem.Problem // OnPassed calls are serialised; read after Validate returns
	opts.OnPassed = func(pr problem.Problem) { passed = append(passed, pr) }
	if group != "" && group != groupCerts {
		opts.Groups = []string{group}
	}
	total := len(cat.Groups())
	if group != "" {
		total = 1
	}
	if mode == validators.Online && group == "" && isHX(c) {
		job := &validationJob{ID: randomToken()[:12], Started: time.Now(), Total: total}
		st := p.state(sess)
		p.mu.Lock()
		st.Job = job
		p.mu.Unlock()
		opts.OnGroup = func(g string, _ []problem.Problem) {
			p.mu.Lock()
			job.Done = append(job.Done, g)
			p.mu.Unlock()
		}
		go func() {
			defer release()
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			probs := validators.Validate(ctx, work, opts)
			p.store(sess, rev, mode, group, probs, passed)
			release() // before Finished shows: a new run may start once it does
			p.mu.Lock()
			job.Finished = true
			job.Problems = probs
			p.mu.Unlock()
		}()
		sess.Lock()
		defer sess.Unlock()
		return p.renderProgress(c, sess, http.StatusOK, "")
	}
	defer release()
	probs := validators.Validate(c.Request().Context(), work, opts)
	p.store(sess, rev, mode, group, probs, passed)
	sess.Lock()
	defer sess.Unlock()
	if group != "" && group != groupCerts {
		return p.renderGroup(c, sess, http.StatusOK, group, nil, nil, nil, "")
	}
	if group == groupCerts {
		return p.renderCerts(c, sess, http.StatusOK, "")
	}
	return p.renderResults(c, sess)
}

// store records results: a group validation replaces that group's results,
// a full one replaces everything.
func (p *pages) store(sess *Session, rev int, mode validators.Mode, group string, probs, passed []problem.Problem) {
	st := p.state(sess)
	p.mu.Lock()
	defer p.mu.Unlock()
	st.Rev, st.Mode, st.When = rev, mode, time.Now()
	if group == "" {
		st.Problems = map[string][]problem.Problem{}
		st.Passed = map[string][]problem.Problem{}
		st.Checked = map[string]bool{groupCerts: true}
		for _, g := range groupNames(schema.Get()) {
			st.Checked[g] = true
		}
	} else {
		delete(st.Problems, group)
		delete(st.Passed, group)
		st.Checked[group] = true
	}
	add := func(into map[string][]problem.Problem, ps []problem.Problem) {
		for _, pr := range ps {
			if group == "" || pr.FieldGroup == group {
				into[pr.FieldGroup] = append(into[pr.FieldGroup], pr)
			}
		}
	}
	problem.Sort(passed)
	add(st.Problems, probs)
	add(st.Passed, passed)
}

func (p *pages) renderResults(c echo.Context, sess *Session) error {
	return p.page(c, sess, http.StatusOK, "results", "overview", "Validation results", nil)
}

// refuseValidation answers an online validation that was not started
// (runRefusal) on the page it was asked from, with the reason; the working
// copy is unchanged and a running validation goes on.
func (p *pages) refuseValidation(c echo.Context, sess *Session, group string, r *runRefusal) error {
	p.s.retryAfter(c)
	sess.Lock()
	defer sess.Unlock()
	switch {
	case group == groupCerts:
		return p.renderCerts(c, sess, r.status, r.msg)
	case group != "":
		return p.renderGroup(c, sess, r.status, group, nil, nil, nil, r.msg)
	}
	if st := p.snapshot(sess); st.Job != nil && !st.Job.Finished {
		return p.renderProgress(c, sess, r.status, r.msg)
	}
	return p.page(c, sess, r.status, "results", "overview", "Validation results", map[string]any{"Message": r.msg})
}

// renderProgress shows the session's background validation (the results
// once it finished); msg, when set, is shown above it.
func (p *pages) renderProgress(c echo.Context, sess *Session, status int, msg string) error {
	st := p.snapshot(sess)
	data := map[string]any{"Job": st.Job}
	if msg != "" {
		data["Message"] = msg
	}
	if st.Job != nil && st.Job.Finished {
		return p.page(c, sess, status, "results", "overview", "Validation results", data)
	}
	if st.Job != nil {
		cat := schema.Get()
		var done []string
		for _, g := range st.Job.Done {
			if cg := cat.Group(g); cg != nil {
				done = append(done, cg.Title)
			} else {
				done = append(done, g)
			}
		}
		data["DoneTitles"] = done
		data["Percent"] = 100 * len(st.Job.Done) / max(1, st.Job.Total)
	}
	return p.page(c, sess, status, "progress", "overview", "Validating", data)
}

func (p *pages) validateJob(c echo.Context) error {
	sess, err := p.session(c)
	if err != nil {
		return err
	}
	sess.Lock()
	defer sess.Unlock()
	return p.renderProgress(c, sess, http.StatusOK, "")
}

func (p *pages) diffPage(c echo.Context) error {
	sess, err := p.session(c)
	if err != nil {
		return err
	}
	sess.Lock()
	defer sess.Unlock()
	hs, files := configDiff(schema.Get(), sess.Base, sess.Work)
	return p.page(c, sess, http.StatusOK, "diff", "diff", "Changes", map[string]any{"Hunks": hs, "FileChanges": files})
}

func (p *pages) download(c echo.Context) error {
	sess, err := p.session(c)
	if err != nil {
		return err
	}
	sess.Lock()
	data, err := sess.Work.TarGz()
	sess.Unlock()
	if err != nil {
		return echo.NewHTTPError(http.StatusInternalServerError, "the tarball could not be built: "+err.Error())
	}
	h := c.Response().Header()
	h.Set("Content-Disposition", "attachment; filename="+bundle.TarballName)
	h.Set("Cache-Control", "no-store")
	return c.Blob(http.StatusOK, bundle.TarballType, data)
}

const maxBundleUpload = BundleBodyLimit

func (p *pages) upload(c echo.Context) error {
	sess, err := p.session(c)
	if err != nil {
		return err
	}
	_, data, upErr := readUpload(c, "bundle", maxBundleUpload)
	sess.Lock()
	defer sess.Unlock()
	if !checkRev(c, sess) {
		return p.renderOverview(c, sess, http.StatusConflict, conflictMsg)
	}
	var b, base *bundle.Bundle
	status := http.StatusUnprocessableEntity
	if upErr == nil {
		b, upErr = bundle.ReadTarGz(bytes.NewReader(data), p.s.limits)
	}
	if upErr == nil {
		base = b.Clone()
		if upErr = sess.Admit(b, base); upErr != nil {
			status = memoryStatus(upErr)
		}
	}
	if upErr != nil {
		return p.renderOverview(c, sess, status,
			"The upload was refused and your working copy is unchanged: "+upErr.Error()+".")
	}
	sess.Work, sess.Base = b, base
	sess.Changed()
	st := p.state(sess)
	p.mu.Lock()
	st.Problems, st.Checked = map[string][]problem.Problem{}, map[string]bool{}
	p.mu.Unlock()
	sess.Flash = fmt.Sprintf("Loaded the uploaded bundle: config.yaml and %d file(s). Changes are now shown against it.", len(b.FileNames()))
	return p.redirect(c, "/")
}

// pageFuncs are extra template functions available to every template.
func (s *Server) pageFuncs() template.FuncMap {
	return template.FuncMap{
		"add":  func(a, b int) int { return a + b },
		"join": strings.Join,
		"lines": func(s string) int {
			n := strings.Count(s, "\n") + 2
			return min(max(n, 3), 16)
		},
	}
}
