package operator

import (
	"context"
	"fmt"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/watch"
)

// Phase of a rollout as seen from the QuayRegistry's status.
type Phase string

// Phases.
const (
	PhaseProgressing Phase = "progressing" // the Operator has not settled yet
	PhaseAvailable   Phase = "available"   // Available=True, HealthChecksPassing
	PhaseFailed      Phase = "failed"      // RolloutBlocked=True or a failure reason
)

// Rollout is one observation of the registry during a rollout.
type Rollout struct {
	Phase              Phase
	Reason, Message    string // of the condition that decided the phase
	ConfigBundleSecret string
	ResourceVersion    string
	Status             Status
	// Resumes counts how often the watch was re-established after being cut.
	Resumes int
}

// Done reports whether the rollout settled (available or failed).
func (r Rollout) Done() bool { return r.Phase == PhaseAvailable || r.Phase == PhaseFailed }

// failureReasons are reasons that end a rollout as failed.
var failureReasons = map[string]bool{
	ReasonConfigInvalid: true, ReasonMigrationsFailed: true, ReasonComponentCreationFailed: true,
	"MigrationsJobMissing": true, "PostgresUpgradeFailed": true, "UpgradeUnsupported": true,
	"ComponentOverrideInvalid": true, "RouteComponentDependencyError": true,
	"ObjectStorageComponentDependencyError": true, "MonitoringComponentDependencyError": true,
}

// Baseline is the registry's status when a rollout started (a push or a
// rollback): only conditions the Operator wrote after it answer the change.
type Baseline struct {
	At     time.Time // when the change was made
	Before Status    // the status read just before it
}

// fresh reports whether a condition was written after the baseline.
// Condition times have a resolution of one second: within the second of
// the change, a condition counts only when it differs from the one before.
func (b Baseline) fresh(c *Condition) bool {
	t := c.LastUpdateTime.Time
	if c.LastTransitionTime.After(t) {
		t = c.LastTransitionTime.Time
	}
	sec := b.At.Truncate(time.Second)
	switch {
	case t.Before(sec):
		return false
	case t.After(sec):
		return true
	}
	p := b.Before.Condition(c.Type)
	return p == nil || p.Status != c.Status || p.Reason != c.Reason || p.Message != c.Message ||
		!p.LastUpdateTime.Equal(&c.LastUpdateTime) || !p.LastTransitionTime.Equal(&c.LastTransitionTime)
}

// Evaluate decides the phase of a rollout that started at base. A status
// the Operator wrote before the change (it has not looked at it yet) is
// progressing, whatever it says.
func Evaluate(st Status, base Baseline) (Phase, string, string) {
	fresh := base.fresh
	if rb := st.Condition(ConditionRolloutBlocked); rb != nil && rb.Status == "True" && fresh(rb) {
		return PhaseFailed, rb.Reason, rb.Message
	}
	for i := range st.Conditions {
		c := &st.Conditions[i]
		if fresh(c) && failureReasons[c.Reason] && !(c.Type == ConditionRolloutBlocked && c.Status == "False") {
			return PhaseFailed, c.Reason, c.Message
		}
	}
	av := st.Condition(ConditionAvailable)
	if av == nil || av.Status != "True" || av.Reason != ReasonHealthChecksPassing {
		if av != nil {
			return PhaseProgressing, av.Reason, av.Message
		}
		return PhaseProgressing, "", "waiting for the Operator"
	}
	// Available and healthy: settled once the Operator has processed the
	// change, i.e. some condition was written since.
	for i := range st.Conditions {
		if fresh(&st.Conditions[i]) {
			return PhaseAvailable, av.Reason, av.Message
		}
	}
	return PhaseProgressing, "", "waiting for the Operator to pick up the change"
}

// Watch follows the QuayRegistry with a watch (not polling), calling fn
// with every observed state, starting with the current one, until fn
// returns false, the rollout that started at base settles, or ctx ends.
// A dropped watch is resumed from the last resourceVersion seen; when that
// is too old (410 Gone) the registry is read again. It returns the last
// observation.
func (c *Client) Watch(ctx context.Context, base Baseline, fn func(Rollout) bool) (Rollout, error) {
	var last Rollout
	observe := func(u *unstructured.Unstructured) (bool, error) {
		qr, err := FromUnstructured(u)
		if err != nil {
			return false, err
		}
		ph, reason, msg := Evaluate(qr.Status, base)
		last = Rollout{
			Phase: ph, Reason: reason, Message: msg, ConfigBundleSecret: qr.Spec.ConfigBundleSecret,
			ResourceVersion: qr.ResourceVersion, Status: qr.Status, Resumes: last.Resumes,
		}
		if fn != nil && !fn(last) {
			return true, nil
		}
		return last.Done(), nil
	}
	relist := func() (string, bool, error) {
		u, err := c.getRaw(ctx)
		if err != nil {
			return "", false, err
		}
		stop, err := observe(u)
		return u.GetResourceVersion(), stop, err
	}
	rv, stop, err := relist()
	if err != nil || stop {
		return last, err
	}
	sel := fields.OneTermEqualSelector("metadata.name", c.Registry).String()
	for {
		if err := ctx.Err(); err != nil {
			return last, c.watchTimeout(err, last)
		}
		w, err := c.watch.Resource(Resource).Namespace(c.Namespace).Watch(ctx, metav1.ListOptions{
			FieldSelector: sel, ResourceVersion: rv, AllowWatchBookmarks: true,
		})
		if err != nil {
			if ctx.Err() != nil {
				return last, c.watchTimeout(ctx.Err(), last)
			}
			if apierrors.IsGone(err) || apierrors.IsResourceExpired(err) {
				if rv, stop, err = relist(); err != nil || stop {
					return last, err
				}
				continue
			}
			e := c.explain(ctx, err, "watch", "quayregistries.quay.redhat.com", c.Registry)
			if k := KindOf(e); k == ErrForbidden || k == ErrUnauthorized || k == ErrNoCRD {
				return last, e
			}
			// transient: wait a moment and resume
			select {
			case <-ctx.Done():
				return last, c.watchTimeout(ctx.Err(), last)
			case <-time.After(500 * time.Millisecond):
			}
			last.Resumes++
			continue
		}
		done, newRV, gone, err := c.drain(ctx, w, observe)
		w.Stop()
		if newRV != "" {
			rv = newRV
		}
		if err != nil || done {
			return last, err
		}
		if gone {
			if rv, stop, err = relist(); err != nil || stop {
				return last, err
			}
		}
		last.Resumes++
	}
}

// drain reads events until the watch ends. It reports whether to stop,
// the last resourceVersion seen, and whether the server said 410 Gone.
func (c *Client) drain(ctx context.Context, w watch.Interface, observe func(*unstructured.Unstructured) (bool, error)) (bool, string, bool, error) {
	rv := ""
	for {
		select {
		case <-ctx.Done():
			return false, rv, false, nil // the caller sees ctx.Err()
		case ev, ok := <-w.ResultChan():
			if !ok {
				return false, rv, false, nil
			}
			switch ev.Type {
			case watch.Added, watch.Modified:
				u, ok := ev.Object.(*unstructured.Unstructured)
				if !ok {
					continue
				}
				rv = u.GetResourceVersion()
				stop, err := observe(u)
				if err != nil || stop {
					return true, rv, false, err
				}
			case watch.Bookmark:
				if u, ok := ev.Object.(*unstructured.Unstructured); ok {
					rv = u.GetResourceVersion()
				}
			case watch.Deleted:
				return true, rv, false, errorf(ErrNotFound, nil, "%s was deleted", c.Ref())
			case watch.Error:
				st := apierrors.FromObject(ev.Object)
				if apierrors.IsGone(st) || apierrors.IsResourceExpired(st) {
					return false, "", true, nil
				}
				return false, rv, false, nil
			}
		}
	}
}

func (c *Client) watchTimeout(err error, last Rollout) error {
	what := "no status yet"
	if last.Reason != "" || last.Message != "" {
		what = strings.TrimSpace(last.Reason + ": " + last.Message)
	}
	return errorf(ErrUnreachable, err, "%s did not settle in time (last: %s %s)", c.Ref(), last.Phase, what)
}

// Describe renders a rollout observation on one line.
func (r Rollout) Describe() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s", r.Phase)
	if r.Reason != "" {
		fmt.Fprintf(&b, " (%s)", r.Reason)
	}
	if r.Message != "" {
		fmt.Fprintf(&b, ": %s", r.Message)
	}
	for _, c := range r.Status.Conditions {
		fmt.Fprintf(&b, " | %s=%s", c.Type, c.Status)
		if c.Reason != "" {
			fmt.Fprintf(&b, "/%s", c.Reason)
		}
	}
	if r.Status.CurrentVersion != "" {
		fmt.Fprintf(&b, " | version %s", r.Status.CurrentVersion)
	}
	if r.Status.RegistryEndpoint != "" {
		fmt.Fprintf(&b, " | %s", r.Status.RegistryEndpoint)
	}
	return b.String()
}
