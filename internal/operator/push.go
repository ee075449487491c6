package operator

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/quay-tools/config-editor/internal/bundle"
	"github.com/quay-tools/config-editor/internal/problem"
	"github.com/quay-tools/config-editor/internal/schema"
	"github.com/quay-tools/config-editor/internal/validators"
)

// DefaultKeep is how many bundle Secrets a push keeps (besides the current
// and the previous one, which are always kept).
const DefaultKeep = 10

// FieldManager names config-editor in managedFields.
const FieldManager = "config-editor"

// PushOptions tune a push or a rollback.
type PushOptions struct {
	// Force pushes despite validation or pre-flight errors.
	Force bool
	// Confirmed, when positive, pushes despite errors if the push finds
	// exactly this many: someone saw that count and said push anyway. A
	// different count (the bundle or the cluster changed since) refuses.
	Confirmed int
	// Base is the configBundleSecret the pushed bundle was edited from (the
	// one Load returned). When set and the registry now points elsewhere,
	// someone else pushed meanwhile: the push stops with ErrConflict.
	Base string
	// Validate checks the bundle that is about to be pushed; nil runs the
	// offline validation. Problems of the Operator-managed groups are
	// dropped either way (the Operator supplies those).
	Validate func(ctx context.Context, b *bundle.Bundle) []problem.Problem
	// Keep bundle Secrets after a push (DefaultKeep when 0; negative: no
	// garbage collection).
	Keep int
	// User is recorded as the pusher; empty asks the API server who we are.
	User string
	// Source is recorded on the Secret ("editor", "cli", …).
	Source string
	// Now is the clock (time.Now).
	Now func() time.Time

	// beforeUpdate runs between the dry run and the real update (tests
	// change the registry there to provoke a conflict).
	beforeUpdate func()
}

// PushResult says what a push did.
type PushResult struct {
	Secret    string // the configBundleSecret now
	Previous  string // the configBundleSecret before
	Created   bool   // a new Secret was created
	Unchanged bool   // the content equals the current bundle: nothing was written
	// ResourceVersion of the QuayRegistry after the update.
	ResourceVersion string
	// Problems are the validation and pre-flight problems (warnings too).
	Problems []problem.Problem
	// Kept lists the Operator-owned keys and files whose cluster value was
	// kept over the pushed one.
	Kept []string
	// Deleted are the bundle Secrets garbage-collected after the push.
	Deleted []string
	// At is when the push happened.
	At time.Time
	// Baseline is what Watch needs to tell the Operator's answer to this
	// change from older status.
	Baseline Baseline
}

// Errors counts the error problems.
func (r *PushResult) Errors() int {
	n := 0
	for _, p := range r.Problems {
		if p.Severity == problem.Error {
			n++
		}
	}
	return n
}

func (o PushOptions) now() time.Time {
	if o.Now != nil {
		return o.Now()
	}
	return time.Now()
}

// Push makes b the registry's configuration: it checks the bundle (the
// Operator's pre-flight rules and validation; errors refuse unless Force),
// creates a new immutable Secret "<registry>-config-bundle-<hash>" owned
// by the registry, and points spec.configBundleSecret at it with
// optimistic concurrency. Both writes are first sent as a server-side dry
// run, so RBAC and admission refusals come before anything changes.
// Pushing the current content again writes nothing. b is not modified.
func (c *Client) Push(ctx context.Context, b *bundle.Bundle, opts PushOptions) (*PushResult, error) {
	res := &PushResult{At: opts.now()}
	qr, err := c.Get(ctx)
	if err != nil {
		return res, err
	}
	res.Previous = qr.Spec.ConfigBundleSecret
	res.Secret = qr.Spec.ConfigBundleSecret
	res.Baseline = Baseline{At: res.At, Before: qr.Status}
	if opts.Base != "" && qr.Spec.ConfigBundleSecret != opts.Base {
		return res, errorf(ErrConflict, nil,
			"%s now uses configBundleSecret %s, not %s that this bundle was edited from: someone pushed meanwhile; reload, re-apply your change and push again",
			c.Ref(), qr.Spec.ConfigBundleSecret, opts.Base)
	}
	var current *bundle.Bundle
	var currentData map[string][]byte
	if qr.Spec.ConfigBundleSecret != "" {
		s, err := c.getSecret(ctx, qr.Spec.ConfigBundleSecret)
		switch {
		case err == nil:
			currentData = s.Data
			if current, err = bundle.FromSecretData(s.Data, bundle.Limits{}); err != nil {
				current = nil // unreadable: nothing to keep from it
			}
		case KindOf(err) != ErrNotFound:
			return res, err
		}
	}

	next := b.Clone()
	cat := schema.Get()
	parts := ReadOnlyParts(qr.Spec, next, cat, c.Ref())
	if res.Kept, err = Protect(next, current, parts); err != nil {
		return res, errorf(ErrInvalid, err, "%v", err)
	}
	res.Problems = c.check(ctx, qr.Spec, next, parts, opts)
	if n := res.Errors(); n > 0 && !opts.Force && n != opts.Confirmed {
		return res, errorf(ErrRefused, nil, "%s", RefuseMessage(n))
	}

	data, err := SecretData(next)
	if err != nil {
		return res, err
	}
	if currentData != nil && sameData(data, currentData) {
		res.Unchanged = true
		res.ResourceVersion = qr.ResourceVersion
		return res, nil
	}
	hash := ContentHash(data)
	name := SecretName(c.Registry, hash)
	user := opts.User
	if user == "" {
		user = c.WhoAmI(ctx)
	}
	source := opts.Source
	if source == "" {
		source = "push"
	}
	secret := &Secret{
		ObjectMeta: metav1.ObjectMeta{
			Name:      name,
			Namespace: c.Namespace,
			Labels: map[string]string{
				LabelRegistry: c.Registry, LabelBundle: "true", LabelManagedBy: ManagedBy,
			},
			Annotations: map[string]string{
				AnnotationPushedAt: res.At.UTC().Format(time.RFC3339Nano),
				AnnotationPushedBy: user,
				AnnotationPrevious: qr.Spec.ConfigBundleSecret,
				AnnotationHash:     hash,
				AnnotationSource:   source,
			},
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: APIVersion, Kind: Kind, Name: qr.Name, UID: qr.UID,
			}},
		},
		Immutable: ptr(true),
		Type:      SecretTypeOpaque,
		Data:      data,
	}
	if user == "" {
		delete(secret.Annotations, AnnotationPushedBy)
	}

	// Same content pushed before (an older bundle): point back to it.
	existing, err := c.getSecret(ctx, name)
	switch {
	case err == nil:
		if !sameData(existing.Data, data) {
			return res, errorf(ErrInvalid, nil, "Secret %s/%s exists with other content than its name says: not touching it", c.Namespace, name)
		}
	case KindOf(err) != ErrNotFound:
		return res, err
	default:
		existing = nil
	}

	// Dry run both writes: RBAC and admission answer before any change.
	if existing == nil {
		if err := c.createSecret(ctx, secret, true); err != nil {
			return res, err
		}
	}
	if _, err := c.pointTo(ctx, qr, name, true); err != nil {
		return res, err
	}

	if existing == nil {
		if err := c.createSecret(ctx, secret, false); err != nil {
			return res, err
		}
		res.Created = true
	}
	if opts.beforeUpdate != nil {
		opts.beforeUpdate()
	}
	rv, err := c.pointTo(ctx, qr, name, false)
	if err != nil {
		return res, err
	}
	res.Secret, res.ResourceVersion = name, rv
	res.Deleted, err = c.gcAfter(ctx, opts, name, res.Previous)
	return res, err
}

func (c *Client) gcAfter(ctx context.Context, opts PushOptions, current, previous string) ([]string, error) {
	keep := opts.Keep
	if keep == 0 {
		keep = DefaultKeep
	}
	if keep < 0 {
		return nil, nil
	}
	deleted, err := c.GC(ctx, keep, current, previous)
	if err != nil {
		return deleted, fmt.Errorf("pushed, but cleaning up old bundle Secrets failed: %w", err)
	}
	return deleted, nil
}

// check runs validation (minus Operator-managed groups) and pre-flight.
func (c *Client) check(ctx context.Context, spec Spec, b *bundle.Bundle, parts []ReadOnly, opts PushOptions) []problem.Problem {
	var ps []problem.Problem
	if opts.Validate != nil {
		ps = opts.Validate(ctx, b)
	} else {
		ps = validators.Validate(ctx, b, validators.Options{Mode: validators.Offline})
	}
	ps = DropGroups(ps, ManagedGroupNames(parts))
	ps = append(ps, Preflight(spec, b, schema.Get(), opts.now())...)
	problem.Sort(ps)
	return ps
}

// DropGroups removes the problems of the given field groups.
func DropGroups(ps []problem.Problem, groups []string) []problem.Problem {
	skip := map[string]bool{}
	for _, g := range groups {
		skip[g] = true
	}
	out := make([]problem.Problem, 0, len(ps))
	for _, p := range ps {
		if !skip[p.FieldGroup] {
			out = append(out, p)
		}
	}
	return out
}

func (c *Client) createSecret(ctx context.Context, s *Secret, dry bool) error {
	ctx, cancel := c.bounded(ctx)
	defer cancel()
	o := metav1.CreateOptions{FieldManager: FieldManager}
	if dry {
		o.DryRun = []string{metav1.DryRunAll}
	}
	if err := createSecret(ctx, c.dyn, s, o); err != nil {
		e := c.explain(ctx, err, "create", "secrets", s.Name)
		if dry {
			return fmt.Errorf("dry run refused, nothing was changed: %w", e)
		}
		return e
	}
	return nil
}

// pointTo sets spec.configBundleSecret with a merge patch that carries the
// resourceVersion read before: the API server applies it only if the
// QuayRegistry has not changed since (409 Conflict otherwise). On conflict
// it re-reads the registry to say what changed; it never retries blindly.
func (c *Client) pointTo(ctx context.Context, qr *QuayRegistry, name string, dry bool) (string, error) {
	patch, err := json.Marshal(map[string]any{
		"metadata": map[string]any{"resourceVersion": qr.ResourceVersion},
		"spec":     map[string]any{"configBundleSecret": name},
	})
	if err != nil {
		return "", err
	}
	o := metav1.PatchOptions{FieldManager: FieldManager}
	if dry {
		o.DryRun = []string{metav1.DryRunAll}
	}
	bctx, cancel := c.bounded(ctx)
	u, err := c.dyn.Resource(Resource).Namespace(c.Namespace).Patch(bctx, c.Registry, types.MergePatchType, patch, o)
	cancel()
	if err != nil {
		e := c.explain(bctx, err, "patch", "quayregistries.quay.redhat.com", c.Registry)
		if KindOf(e) == ErrConflict {
			now, gerr := c.Get(ctx)
			if gerr == nil {
				return "", errorf(ErrConflict, err,
					"%s changed while pushing (resourceVersion %s → %s; configBundleSecret now %s): nothing was overwritten; reload and push again",
					c.Ref(), qr.ResourceVersion, now.ResourceVersion, now.Spec.ConfigBundleSecret)
			}
		}
		if dry {
			return "", fmt.Errorf("dry run refused, nothing was changed: %w", e)
		}
		return "", e
	}
	return u.GetResourceVersion(), nil
}

// Rollback points the registry back at an existing bundle Secret, with the
// same pre-flight rules and optimistic concurrency as a push (and a dry
// run first). No Secret is created.
func (c *Client) Rollback(ctx context.Context, name string, opts PushOptions) (*PushResult, error) {
	res := &PushResult{At: opts.now()}
	qr, err := c.Get(ctx)
	if err != nil {
		return res, err
	}
	res.Previous, res.Secret = qr.Spec.ConfigBundleSecret, qr.Spec.ConfigBundleSecret
	res.Baseline = Baseline{At: res.At, Before: qr.Status}
	if opts.Base != "" && qr.Spec.ConfigBundleSecret != opts.Base {
		return res, errorf(ErrConflict, nil, "%s now uses configBundleSecret %s, not %s: someone pushed meanwhile; reload the history", c.Ref(), qr.Spec.ConfigBundleSecret, opts.Base)
	}
	if name == qr.Spec.ConfigBundleSecret {
		res.Unchanged, res.ResourceVersion = true, qr.ResourceVersion
		return res, nil
	}
	b, err := c.ReadBundle(ctx, name)
	if err != nil {
		return res, err
	}
	parts := ReadOnlyParts(qr.Spec, b, schema.Get(), c.Ref())
	res.Problems = c.check(ctx, qr.Spec, b, parts, opts)
	if n := res.Errors(); n > 0 && !opts.Force && n != opts.Confirmed {
		return res, errorf(ErrRefused, nil, "%s", RefuseMessage(n))
	}
	if _, err := c.pointTo(ctx, qr, name, true); err != nil {
		return res, err
	}
	rv, err := c.pointTo(ctx, qr, name, false)
	if err != nil {
		return res, err
	}
	res.Secret, res.ResourceVersion = name, rv
	res.Deleted, err = c.gcAfter(ctx, opts, name, res.Previous)
	return res, err
}

func ptr[T any](v T) *T { return &v }
