package editor

// Validation from the pages: one group or all, offline or online (in the
// background with per-group progress for htmx), and the results kept on
// the session for the navigation, the summary and the group pages.

import (
	"context"
	"maps"
	"net/http"
	"slices"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/quay-tools/config-editor/internal/problem"
	"github.com/quay-tools/config-editor/internal/schema"
	"github.com/quay-tools/config-editor/internal/validators"
)

// validationState is a session's last validation results and its running
// online validation (Session.validation, guarded by Session.vmu).
type validationState struct {
	Rev      int
	Mode     validators.Mode
	When     time.Time
	Problems map[string][]problem.Problem // by group
	Passed   map[string][]problem.Problem // what online probes proved, by group
	Checked  map[string]bool              // groups validated
	// FullRev and FullMode are the revision and mode of the last
	// validation of the whole bundle (0: none since loading); GroupRev
	// and GroupMode the revision and mode each group's results belong to.
	FullRev   int
	FullMode  validators.Mode
	GroupRev  map[string]int
	GroupMode map[string]validators.Mode
	Job       *validationJob
}

// validationJob is an online validation in progress.
type validationJob struct {
	ID       string
	Started  time.Time
	Total    int
	Done     []string // groups in completion order
	Finished bool
	Problems []problem.Problem
	Rev      int  // the revision it validated
	Dropped  bool // its results were older than the stored ones and not kept
}

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

// validationLocked returns the session's validation state, made ready for
// use; the caller holds vmu.
func (s *Session) validationLocked() *validationState {
	st := &s.validation
	if st.Problems == nil {
		st.Problems = map[string][]problem.Problem{}
	}
	if st.Passed == nil {
		st.Passed = map[string][]problem.Problem{}
	}
	if st.Checked == nil {
		st.Checked = map[string]bool{}
	}
	if st.GroupRev == nil {
		st.GroupRev = map[string]int{}
	}
	if st.GroupMode == nil {
		st.GroupMode = map[string]validators.Mode{}
	}
	return st
}

// validationSnapshot copies the session's validation state for rendering.
func (s *Session) validationSnapshot() *validationState {
	s.vmu.Lock()
	defer s.vmu.Unlock()
	st := s.validationLocked()
	cp := *st
	cp.Problems = maps.Clone(st.Problems)
	cp.Passed = maps.Clone(st.Passed)
	cp.Checked = maps.Clone(st.Checked)
	cp.GroupRev = maps.Clone(st.GroupRev)
	cp.GroupMode = maps.Clone(st.GroupMode)
	if st.Job != nil {
		j := *st.Job
		j.Done = slices.Clone(st.Job.Done)
		cp.Job = &j
	}
	return &cp
}

// forgetValidation drops the stored results of groups that were just
// edited.
func (s *Session) forgetValidation(groups ...string) {
	s.vmu.Lock()
	defer s.vmu.Unlock()
	st := s.validationLocked()
	for _, g := range groups {
		delete(st.Problems, g)
		delete(st.Passed, g)
		delete(st.Checked, g)
		delete(st.GroupRev, g)
		delete(st.GroupMode, g)
	}
}

// resetValidation forgets every result (a new bundle was loaded).
func (s *Session) resetValidation() {
	s.vmu.Lock()
	defer s.vmu.Unlock()
	st := s.validationLocked()
	st.Problems, st.Checked = map[string][]problem.Problem{}, map[string]bool{}
	st.Passed, st.GroupRev, st.GroupMode = map[string][]problem.Problem{}, map[string]int{}, map[string]validators.Mode{}
	st.FullRev, st.FullMode = 0, ""
}

// storeValidation records results: a group validation replaces that
// group's results, a full one (group "") replaces everything. Results of
// a revision older than the stored ones (a background run that finished
// after a save) are not kept: it reports false.
func (s *Session) storeValidation(now time.Time, rev int, mode validators.Mode, group string, probs, passed []problem.Problem) bool {
	s.vmu.Lock()
	defer s.vmu.Unlock()
	st := s.validationLocked()
	if rev < st.Rev || (group != "" && rev < st.FullRev) {
		return false
	}
	st.Rev, st.Mode, st.When = rev, mode, now
	if group == "" {
		st.Problems = map[string][]problem.Problem{}
		st.Passed = map[string][]problem.Problem{}
		st.Checked = map[string]bool{groupCerts: true, schema.UnknownGroup: true}
		st.GroupRev, st.GroupMode = map[string]int{}, map[string]validators.Mode{}
		for _, g := range append(groupNames(schema.Get()), groupCerts, schema.UnknownGroup) {
			st.Checked[g] = true
			st.GroupRev[g], st.GroupMode[g] = rev, mode
		}
		st.FullRev, st.FullMode = rev, mode
	} else {
		delete(st.Problems, group)
		delete(st.Passed, group)
		st.Checked[group] = true
		st.GroupRev[group], st.GroupMode[group] = rev, mode
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
	return true
}

// startJob makes job the session's running online validation.
func (s *Session) startJob(job *validationJob) {
	s.vmu.Lock()
	defer s.vmu.Unlock()
	s.validationLocked().Job = job
}

// jobGroupDone records that job finished a group.
func (s *Session) jobGroupDone(job *validationJob, group string) {
	s.vmu.Lock()
	defer s.vmu.Unlock()
	job.Done = append(job.Done, group)
}

// finishJob marks job finished with its problems.
func (s *Session) finishJob(job *validationJob, probs []problem.Problem, dropped bool) {
	s.vmu.Lock()
	defer s.vmu.Unlock()
	job.Finished = true
	job.Dropped = dropped
	job.Problems = probs
}

// summary is the content of the aria-live summary region: the verdict of
// the last validation of the whole bundle, which names its revision.
type summary struct {
	Validated bool // a validation of the whole bundle is stored
	Mode      string
	Rev       int  // the revision the verdict belongs to
	Current   int  // the working copy's revision now
	Stale     bool // the configuration changed since (Rev != Current)
	Errors    int
	Warnings  int
	Groups    []summaryGroup
	Job       *validationJob
}

// Ready reports whether the verdict allows a download: a validation of
// the whole current revision found no errors.
func (sm summary) Ready() bool { return sm.Validated && !sm.Stale && sm.Errors == 0 }

type summaryGroup struct {
	Name, Title, Href string
	Problems          []problem.Problem
	Passed            []problem.Problem // what the online probes proved
	Errors, Warnings  int
	Mode              string // the mode of this group's results
	Rev               int    // the revision this group's results belong to
}

// groupTitle is the title of a group, of the certificates page or of the
// unknown keys.
func groupTitle(cat *schema.Catalogue, g string) string {
	switch g {
	case groupCerts:
		return "Custom SSL certificates"
	case schema.UnknownGroup:
		return "Unknown keys"
	}
	if cg := cat.Group(g); cg != nil {
		return cg.Title
	}
	return g
}

// groupHref is the page of a group.
func groupHref(g string) string {
	switch g {
	case groupCerts:
		return "/certs"
	case schema.UnknownGroup:
		return "/unknown"
	}
	return "/group/" + g
}

// summaryOf sums up the stored results; current is the working copy's
// revision.
func summaryOf(st *validationState, current int) summary {
	sm := summary{Validated: st.FullRev > 0, Mode: string(st.FullMode), Rev: st.FullRev, Current: current, Job: st.Job}
	sm.Stale = sm.Validated && st.FullRev != current
	cat := schema.Get()
	groups := append([]string{groupCerts}, groupNames(cat)...)
	groups = append(groups, schema.UnknownGroup)
	for _, g := range groups {
		probs, passed := st.Problems[g], st.Passed[g]
		if len(probs) == 0 && len(passed) == 0 {
			continue
		}
		sg := summaryGroup{Name: g, Title: groupTitle(cat, g), Href: groupHref(g), Problems: probs, Passed: passed,
			Mode: string(st.GroupMode[g]), Rev: st.GroupRev[g]}
		for _, pr := range probs {
			if pr.Severity == problem.Error {
				sg.Errors++
			} else {
				sg.Warnings++
			}
		}
		sm.Errors += sg.Errors
		sm.Warnings += sg.Warnings
		sm.Groups = append(sm.Groups, sg)
	}
	return sm
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
	// the whole bundle's offline verdict first, so that a section's
	// results stored below are not replaced by it when the page is drawn
	p.ensureHealth(sess)
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
		opts.Probe = probeFilter(c, group)
	}
	total := len(cat.Groups())
	if group != "" {
		total = 1
	}
	if mode == validators.Online && group == "" && isHTMX(c.Request()) {
		job := &validationJob{ID: randomToken()[:12], Started: p.s.cfg.Now(), Total: total, Rev: rev}
		sess.startJob(job)
		opts.OnGroup = func(g string, _ []problem.Problem) { sess.jobGroupDone(job, g) }
		go func() {
			defer release()
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			probs := validators.Validate(ctx, work, opts)
			kept := sess.storeValidation(p.s.cfg.Now(), rev, mode, group, probs, passed)
			release() // before Finished shows: a new run may start once it does
			sess.finishJob(job, probs, !kept)
		}()
		sess.Lock()
		defer sess.Unlock()
		return p.renderProgress(c, sess, http.StatusOK, "")
	}
	defer release()
	probs := validators.Validate(c.Request().Context(), work, opts)
	sess.storeValidation(p.s.cfg.Now(), rev, mode, group, probs, passed)
	sess.Lock()
	defer sess.Unlock()
	if group != "" && group != groupCerts {
		return p.renderGroup(c, sess, http.StatusOK, group, groupInput{})
	}
	if group == groupCerts {
		return p.renderCerts(c, sess, http.StatusOK, "")
	}
	return p.renderResults(c, sess)
}

// validationData is the data of templates/pages/results.html and
// templates/pages/progress.html.
type validationData struct {
	layoutData
	Job        *validationJob
	DoneTitles []string // the titles of the groups the job finished
	Percent    int
}

func (p *pages) renderResults(c echo.Context, sess *Session) error {
	return p.page(c, sess, http.StatusOK, "results", "overview", "Validation results", &validationData{})
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
		return p.renderGroup(c, sess, r.status, group, groupInput{msg: r.msg})
	}
	if st := sess.validationSnapshot(); st.Job != nil && !st.Job.Finished {
		return p.renderProgress(c, sess, r.status, r.msg)
	}
	return p.page(c, sess, r.status, "results", "overview", "Validation results", &validationData{layoutData: layoutData{Message: r.msg}})
}

// renderProgress shows the session's background validation (the results
// once it finished); msg, when set, is shown above it.
func (p *pages) renderProgress(c echo.Context, sess *Session, status int, msg string) error {
	st := sess.validationSnapshot()
	data := &validationData{layoutData: layoutData{Message: msg}, Job: st.Job}
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
		data.DoneTitles = done
		data.Percent = 100 * len(st.Job.Done) / max(1, st.Job.Total)
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
