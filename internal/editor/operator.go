package editor

// Operator mode: the editor's bundle comes from a QuayRegistry's
// configBundleSecret, "Reconfigure Quay" pushes the working copy as a new
// bundle Secret, the rollout is followed with a watch, and the history
// page lists, diffs and rolls back bundle Secrets. The cluster work is
// internal/operator's; this file holds the pages, the API route and the
// mirror directory the sessions load from.

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/quay-tools/config-editor/internal/bundle"
	"github.com/quay-tools/config-editor/internal/operator"
	"github.com/quay-tools/config-editor/internal/problem"
	"github.com/quay-tools/config-editor/internal/schema"
	"github.com/quay-tools/config-editor/internal/validators"
)

// RolloutTimeout bounds how long the editor follows one rollout.
const RolloutTimeout = 15 * time.Minute

// Operator connects the editor to a QuayRegistry. Create it with
// NewOperator, then give Dir() as Config.BundlePath, ReadOnlyGroups() as
// (part of) Config.ReadOnlyGroups and the Operator itself as
// Config.Operator.
type Operator struct {
	client *operator.Client
	keep   int
	root   string // holds the mirror versions and the "current" link

	mu       sync.Mutex
	secret   string // the configBundleSecret mirrored
	readOnly []operator.ReadOnly
	version  int
	rollout  *rolloutState
}

type rolloutState struct {
	Secret  string
	Started time.Time
	Last    operator.Rollout
	Done    bool
	Err     string
	cancel  context.CancelFunc
}

// NewOperator loads the registry's bundle and mirrors it into a private
// directory the editor's sessions load from. keep is how many bundle
// Secrets a push keeps (operator.DefaultKeep when 0).
func NewOperator(ctx context.Context, c *operator.Client, keep int) (*Operator, error) {
	root, err := os.MkdirTemp("", "config-editor-operator-")
	if err != nil {
		return nil, err
	}
	o := &Operator{client: c, keep: keep, root: root}
	if _, err := o.refresh(ctx); err != nil {
		_ = os.RemoveAll(root)
		return nil, err
	}
	return o, nil
}

// Close removes the mirror and stops a followed rollout.
func (o *Operator) Close() error {
	o.mu.Lock()
	if o.rollout != nil && o.rollout.cancel != nil {
		o.rollout.cancel()
	}
	o.mu.Unlock()
	return os.RemoveAll(o.root)
}

// Dir is the bundle directory sessions load from (a link that is swapped
// atomically when the cluster's bundle is mirrored again).
func (o *Operator) Dir() string { return filepath.Join(o.root, "current") }

// Client is the cluster client.
func (o *Operator) Client() *operator.Client { return o.client }

// ReadOnlyGroups lists the field groups the Operator manages.
func (o *Operator) ReadOnlyGroups() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return operator.ManagedGroupNames(o.readOnly)
}

// reasons maps each read-only group to why it is read-only.
func (o *Operator) reasons() map[string]string {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := map[string]string{}
	for _, p := range o.readOnly {
		if p.Group != "" {
			out[p.Group] = p.Reason
		}
	}
	return out
}

// refresh reads the registry's current bundle and mirrors it: a new
// version directory, then the "current" link is replaced by a rename.
func (o *Operator) refresh(ctx context.Context) (*operator.Loaded, error) {
	l, err := o.client.Load(ctx)
	if err != nil {
		return nil, err
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	o.version++
	vdir := filepath.Join(o.root, "v"+strconv.Itoa(o.version))
	if err := os.Mkdir(vdir, 0o700); err != nil {
		return nil, err
	}
	if err := l.Bundle.WriteDir(vdir); err != nil {
		return nil, fmt.Errorf("mirroring the cluster's bundle: %w", err)
	}
	tmp := filepath.Join(o.root, "current.tmp")
	_ = os.Remove(tmp)
	if err := os.Symlink(filepath.Base(vdir), tmp); err != nil {
		return nil, err
	}
	if err := os.Rename(tmp, o.Dir()); err != nil {
		return nil, err
	}
	// Keep the previous version: a session may be reading it right now.
	if o.version > 2 {
		_ = os.RemoveAll(filepath.Join(o.root, "v"+strconv.Itoa(o.version-2)))
	}
	o.secret, o.readOnly = l.Secret, l.ReadOnly
	return l, nil
}

// follow starts watching the rollout of a push (replacing one followed
// before); the pages poll its state.
func (o *Operator) follow(res *operator.PushResult) {
	ctx, cancel := context.WithTimeout(context.Background(), RolloutTimeout)
	st := &rolloutState{Secret: res.Secret, Started: res.At, cancel: cancel,
		Last: operator.Rollout{Phase: operator.PhaseProgressing, Message: "waiting for the Operator", ConfigBundleSecret: res.Secret}}
	o.mu.Lock()
	if o.rollout != nil && o.rollout.cancel != nil {
		o.rollout.cancel()
	}
	o.rollout = st
	o.mu.Unlock()
	go func() {
		defer cancel()
		last, err := o.client.Watch(ctx, res.Baseline, func(r operator.Rollout) bool {
			o.mu.Lock()
			st.Last = r
			o.mu.Unlock()
			return ctx.Err() == nil
		})
		o.mu.Lock()
		st.Last, st.Done = last, true
		if err != nil && !errors.Is(err, context.Canceled) {
			st.Err = err.Error()
		}
		o.mu.Unlock()
	}()
}

func (o *Operator) rolloutSnapshot() *rolloutState {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.rollout == nil {
		return nil
	}
	cp := *o.rollout
	cp.cancel = nil
	return &cp
}

// readOnlyReasons is what templates show next to a read-only group.
func (s *Server) readOnlyReasons() map[string]string {
	if s.cfg.Operator == nil {
		return map[string]string{}
	}
	return s.cfg.Operator.reasons()
}

// operator is POST /api/v1/config/operator: the historical push route. In
// Operator mode it pushes the posted ConfigBundle as a new bundle Secret
// (managedFieldGroups are ignored: the cluster says what is managed) and
// answers what happened; validation or pre-flight errors give 422 with the
// problems, ?force=true pushes anyway.
func (s *Server) operator(c echo.Context) error {
	op := s.cfg.Operator
	if op == nil {
		return c.JSON(http.StatusNotImplemented, apiError{Message: "Operator push is not available: start the editor with --operator (and --namespace, --registry or the pod's MY_POD_NAMESPACE/MY_POD_NAME)."})
	}
	data, err := readBody(c)
	if err != nil {
		return err
	}
	b, _, err := bundle.ReadJSON(data, s.limits)
	if err != nil {
		return badBundle(err)
	}
	force, _ := strconv.ParseBool(c.QueryParam("force"))
	res, err := s.push(c.Request().Context(), b, "", operator.PushOptions{Force: force}, "api")
	return c.JSON(pushStatus(err), pushAnswer(res, err))
}

type pushReply struct {
	Secret    string            `json:"secret,omitempty"`
	Previous  string            `json:"previous,omitempty"`
	Created   bool              `json:"created"`
	Unchanged bool              `json:"unchanged"`
	Kept      []string          `json:"kept,omitempty"`
	Deleted   []string          `json:"deleted,omitempty"`
	Problems  []problem.Problem `json:"problems"`
	Message   string            `json:"message,omitempty"`
	Error     string            `json:"error,omitempty"` // the operator.ErrorKind
}

func pushAnswer(res *operator.PushResult, err error) pushReply {
	r := pushReply{Problems: []problem.Problem{}}
	if res != nil {
		r.Secret, r.Previous, r.Created, r.Unchanged = res.Secret, res.Previous, res.Created, res.Unchanged
		r.Kept, r.Deleted = res.Kept, res.Deleted
		if res.Problems != nil {
			r.Problems = res.Problems
		}
	}
	if err != nil {
		r.Message, r.Error = err.Error(), string(operator.KindOf(err))
	}
	return r
}

// pushStatus maps a push error to an HTTP status.
func pushStatus(err error) int {
	switch operator.KindOf(err) {
	case "":
		if err != nil {
			return http.StatusBadGateway
		}
		return http.StatusOK
	case operator.ErrRefused:
		return http.StatusUnprocessableEntity
	case operator.ErrInvalid:
		return http.StatusBadRequest
	case operator.ErrConflict:
		return http.StatusConflict
	case operator.ErrForbidden:
		return http.StatusForbidden
	case operator.ErrNotFound, operator.ErrNoCRD:
		return http.StatusNotFound
	}
	return http.StatusBadGateway // the cluster did not answer as it should
}

// push validates and pushes b; base is the bundle the user edited from
// (nil: no content check). When base differs from the cluster's current
// bundle, someone else pushed meanwhile: ErrConflict, nothing written.
func (s *Server) push(ctx context.Context, b *bundle.Bundle, baseHash string, opts operator.PushOptions, source string) (*operator.PushResult, error) {
	op := s.cfg.Operator
	c := op.client
	qr, err := c.Get(ctx)
	if err != nil {
		return nil, err
	}
	if baseHash != "" && qr.Spec.ConfigBundleSecret != "" {
		cur, err := c.ReadBundle(ctx, qr.Spec.ConfigBundleSecret)
		if err != nil {
			return nil, err
		}
		if h, err := hashOf(cur); err == nil && h != baseHash {
			return &operator.PushResult{Secret: qr.Spec.ConfigBundleSecret}, &operator.Error{Kind: operator.ErrConflict, Msg: fmt.Sprintf(
				"the cluster's bundle changed since you loaded it (%s now uses %s): nothing was pushed; reload from the cluster and re-apply your changes",
				c.Ref(), qr.Spec.ConfigBundleSecret)}
		}
	}
	opts.Base, opts.Keep, opts.Source = qr.Spec.ConfigBundleSecret, op.keep, source
	opts.Validate = func(ctx context.Context, b *bundle.Bundle) []problem.Problem {
		return validators.Validate(ctx, b, validators.Options{Mode: validators.Offline, Timeout: s.cfg.ValidateTimeout})
	}
	res, err := c.Push(ctx, b, opts)
	if err != nil {
		return res, err
	}
	if !res.Unchanged {
		if _, err := op.refresh(ctx); err != nil {
			s.log.Warn("operator: pushed, but mirroring the new bundle failed", "err", err.Error())
		}
		op.follow(res)
	}
	s.log.Info("operator push", "registry", c.Ref(), "secret", res.Secret, "previous", res.Previous,
		"created", res.Created, "unchanged", res.Unchanged, "source", source)
	return res, nil
}

func hashOf(b *bundle.Bundle) (string, error) {
	data, err := operator.SecretData(b)
	if err != nil {
		return "", err
	}
	return operator.ContentHash(data), nil
}

// registerOperator adds the Operator-mode pages (only in Operator mode).
func (p *pages) registerOperator(g *echo.Group) {
	if p.s.cfg.Operator == nil {
		return
	}
	g.GET("/operator", p.operatorPage)
	g.POST("/operator/push", p.operatorPush)
	g.GET("/operator/rollout", p.operatorRollout)
	g.POST("/operator/reload", p.operatorReload)
	g.GET("/operator/history", p.operatorHistory)
	g.GET("/operator/diff", p.operatorDiff)
	g.POST("/operator/rollback", p.operatorRollback)
}

// rolloutView is what the rollout fragment shows.
type rolloutView struct {
	Registry string
	Tracked  bool   // a push of this editor is being followed
	Secret   string // configBundleSecret the registry uses now
	Phase    string
	Reason   string
	Message  string
	Status   operator.Status
	Done     bool
	Failed   bool
	Err      string
	Resumes  int
}

func (p *pages) rolloutData(ctx context.Context) rolloutView {
	op := p.s.cfg.Operator
	v := rolloutView{Registry: op.client.Ref()}
	if st := op.rolloutSnapshot(); st != nil {
		v.Tracked, v.Secret = true, st.Secret
		v.Phase, v.Reason, v.Message = string(st.Last.Phase), st.Last.Reason, st.Last.Message
		v.Status, v.Done, v.Err, v.Resumes = st.Last.Status, st.Done, st.Err, st.Last.Resumes
		if st.Last.ConfigBundleSecret != "" {
			v.Secret = st.Last.ConfigBundleSecret
		}
		v.Failed = st.Last.Phase == operator.PhaseFailed || st.Err != ""
		if st.Last.Done() {
			v.Done = true
		}
		return v
	}
	// Nothing pushed from here: show the registry as it is.
	qr, err := op.client.Get(ctx)
	if err != nil {
		v.Err, v.Done = err.Error(), true
		return v
	}
	v.Secret, v.Status, v.Done = qr.Spec.ConfigBundleSecret, qr.Status, true
	if a := qr.Status.Condition(operator.ConditionAvailable); a != nil {
		v.Phase, v.Reason, v.Message = "Available="+a.Status, a.Reason, a.Message
	}
	return v
}

func (p *pages) operatorPage(c echo.Context) error {
	sess := p.s.sessionOf(c)
	sess.Lock()
	defer sess.Unlock()
	data := map[string]any{}
	if sess.Flash == "" {
		if changes := operator.Diff(sess.Base, sess.Work, schema.Get()); len(changes) > 0 {
			data["Pending"] = len(changes)
		}
	}
	return p.operatorView(c, sess, http.StatusOK, data)
}

// operatorView renders the Operator page with data, the rollout and what
// every Operator page shows added (caller holds the session lock).
func (p *pages) operatorView(c echo.Context, sess *Session, status int, data map[string]any) error {
	ctx := c.Request().Context()
	data["Rollout"] = p.rolloutData(ctx)
	p.operatorCommon(ctx, sess, data)
	return p.page(c, sess, status, "operator", "operator", "Reconfigure Quay", data)
}

// operatorCommon fills what every Operator page shows (caller holds the
// session lock).
func (p *pages) operatorCommon(ctx context.Context, sess *Session, data map[string]any) {
	op := p.s.cfg.Operator
	op.mu.Lock()
	data["ReadOnlyParts"] = append([]operator.ReadOnly(nil), op.readOnly...)
	data["Mirrored"] = op.secret
	op.mu.Unlock()
	data["Registry"] = op.client.Ref()
	data["Where"] = op.client.Where
	if qr, err := op.client.Get(ctx); err == nil {
		data["Components"] = operator.ManagedComponents(qr.Spec, sess.Work)
		data["Current"] = qr.Spec.ConfigBundleSecret
	} else {
		data["ClusterError"] = err.Error()
	}
}

func (p *pages) operatorRollout(c echo.Context) error {
	return p.s.render(c, http.StatusOK, "rollout", map[string]any{"Rollout": p.rolloutData(c.Request().Context())})
}

func (p *pages) operatorPush(c echo.Context) error {
	sess := p.s.sessionOf(c)
	ctx := c.Request().Context()
	sess.Lock()
	defer sess.Unlock()
	base, err := hashOf(sess.Base)
	if err != nil {
		base = ""
	}
	// A bundle with errors is pushed only once the user confirmed that
	// number of errors (force=on, confirm=<count>), as a download asks
	// first: a refused push shows the count and a "Push anyway" button.
	// The count is the push's own (managed groups dropped, the Operator's
	// pre-flight rules added); when it changed since, the push asks again.
	confirmed := 0
	if c.FormValue("force") == "on" {
		if n, err := strconv.Atoi(c.FormValue("confirm")); err == nil && n > 0 {
			confirmed = n
		}
	}
	res, err := p.s.push(ctx, sess.Work, base, operator.PushOptions{Confirmed: confirmed}, "editor")
	data := map[string]any{}
	status := http.StatusOK
	switch {
	case err != nil:
		status = pushStatus(err)
		if status == http.StatusForbidden || status == http.StatusNotFound || status == http.StatusBadGateway || status == http.StatusBadRequest {
			status = http.StatusUnprocessableEntity // shown in the page, not an error page
		}
		data["Message"] = err.Error()
		data["Conflict"] = operator.KindOf(err) == operator.ErrConflict
		data["Refused"] = operator.KindOf(err) == operator.ErrRefused
	case res.Unchanged:
		sess.Flash = "Nothing to push: the cluster already uses this configuration (" + res.Secret + ")."
	default:
		// The working copy is now what the cluster has (managed keys
		// included): reload both from the new mirror.
		if b, rerr := bundle.Read(p.s.cfg.Operator.Dir(), p.s.limits); rerr == nil {
			sess.Base, sess.Work = b, b.Clone()
			sess.Changed()
			sess.Exported()
		}
		verb := "Created"
		if !res.Created {
			verb = "Reused"
		}
		sess.Flash = fmt.Sprintf("%s bundle Secret %s; %s now uses it (was %s). Following the rollout below.", verb, res.Secret, p.s.cfg.Operator.client.Ref(), res.Previous)
		if len(res.Kept) > 0 {
			sess.Flash += fmt.Sprintf(" Kept the cluster's values of %v: the Operator manages them.", res.Kept)
		}
	}
	if res != nil {
		data["Problems"] = res.Problems
		data["Errors"] = res.Errors()
	}
	return p.operatorView(c, sess, status, data)
}

func (p *pages) operatorReload(c echo.Context) error {
	sess := p.s.sessionOf(c)
	ctx := c.Request().Context()
	sess.Lock()
	defer sess.Unlock()
	data := map[string]any{}
	status := http.StatusOK
	if _, err := p.s.cfg.Operator.refresh(ctx); err != nil {
		data["Message"], status = err.Error(), http.StatusUnprocessableEntity
	} else if err := p.s.load(sess.Copy); err != nil {
		data["Message"], status = err.Error(), http.StatusUnprocessableEntity
	} else {
		sess.Flash = "Reloaded the configuration from the cluster; unsaved edits were discarded."
	}
	return p.operatorView(c, sess, status, data)
}

func (p *pages) operatorHistory(c echo.Context) error {
	sess := p.s.sessionOf(c)
	ctx := c.Request().Context()
	sess.Lock()
	defer sess.Unlock()
	data := map[string]any{}
	hist, qr, err := p.s.cfg.Operator.client.History(ctx)
	if err != nil {
		data["Message"] = err.Error()
	}
	data["History"] = hist
	if qr != nil {
		data["Current"] = qr.Spec.ConfigBundleSecret
	}
	data["Registry"] = p.s.cfg.Operator.client.Ref()
	return p.page(c, sess, http.StatusOK, "operator_history", "operator", "Bundle history", data)
}

func (p *pages) operatorDiff(c echo.Context) error {
	sess := p.s.sessionOf(c)
	ctx := c.Request().Context()
	from, to := c.QueryParam("from"), c.QueryParam("to")
	sess.Lock()
	defer sess.Unlock()
	data := map[string]any{"From": from, "To": to, "Registry": p.s.cfg.Operator.client.Ref()}
	status := http.StatusOK
	if to == "" {
		if qr, err := p.s.cfg.Operator.client.Get(ctx); err == nil {
			to = qr.Spec.ConfigBundleSecret
			data["To"] = to
		}
	}
	changes, err := p.s.cfg.Operator.client.DiffSecrets(ctx, from, to)
	if err != nil {
		data["Message"], status = err.Error(), http.StatusNotFound
	}
	sort.SliceStable(changes, func(i, j int) bool { return changes[i].Path < changes[j].Path })
	data["Changes"] = changes
	return p.page(c, sess, status, "operator_diff", "operator", "Bundle differences", data)
}

func (p *pages) operatorRollback(c echo.Context) error {
	sess := p.s.sessionOf(c)
	ctx := c.Request().Context()
	name := c.FormValue("secret")
	force := c.FormValue("force") == "on"
	op := p.s.cfg.Operator
	sess.Lock()
	defer sess.Unlock()
	data := map[string]any{}
	status := http.StatusOK
	res, err := op.client.Rollback(ctx, name, operator.PushOptions{Force: force, Base: c.FormValue("base"), Keep: op.keep, Source: "editor rollback"})
	switch {
	case err != nil:
		data["Message"], status = err.Error(), http.StatusUnprocessableEntity
		if res != nil {
			data["Problems"] = res.Problems
		}
	case res.Unchanged:
		sess.Flash = "The registry already uses " + name + "."
	default:
		if _, err := op.refresh(ctx); err == nil {
			_ = p.s.load(sess.Copy)
		}
		op.follow(res)
		sess.Flash = fmt.Sprintf("Rolled back: %s uses %s again (was %s). Following the rollout below.", op.client.Ref(), res.Secret, res.Previous)
	}
	return p.operatorView(c, sess, status, data)
}
