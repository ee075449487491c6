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
	Job      *validationJob
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
		delete(st.Checked, g)
	}
}

// resetValidation forgets every result (a new bundle was loaded).
func (s *Session) resetValidation() {
	s.vmu.Lock()
	defer s.vmu.Unlock()
	st := s.validationLocked()
	st.Problems, st.Checked = map[string][]problem.Problem{}, map[string]bool{}
}

// storeValidation records results: a group validation replaces that
// group's results, a full one (group "") replaces everything.
func (s *Session) storeValidation(now time.Time, rev int, mode validators.Mode, group string, probs, passed []problem.Problem) {
	s.vmu.Lock()
	defer s.vmu.Unlock()
	st := s.validationLocked()
	st.Rev, st.Mode, st.When = rev, mode, now
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
func (s *Session) finishJob(job *validationJob, probs []problem.Problem) {
	s.vmu.Lock()
	defer s.vmu.Unlock()
	job.Finished = true
	job.Problems = probs
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
	if mode == validators.Online && group == "" && isHTMX(c.Request()) {
		job := &validationJob{ID: randomToken()[:12], Started: p.s.cfg.Now(), Total: total}
		sess.startJob(job)
		opts.OnGroup = func(g string, _ []problem.Problem) { sess.jobGroupDone(job, g) }
		go func() {
			defer release()
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			probs := validators.Validate(ctx, work, opts)
			sess.storeValidation(p.s.cfg.Now(), rev, mode, group, probs, passed)
			release() // before Finished shows: a new run may start once it does
			sess.finishJob(job, probs)
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
