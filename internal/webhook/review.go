package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/quay-tools/config-editor/internal/bundle"
	"github.com/quay-tools/config-editor/internal/operator"
	"github.com/quay-tools/config-editor/internal/problem"
	"github.com/quay-tools/config-editor/internal/schema"
	"github.com/quay-tools/config-editor/internal/validators"
)

// Registries answers which QuayRegistries exist, from a cache (see
// [Cache]); a review never calls the API server for them.
type Registries interface {
	// Get returns the QuayRegistry namespace/name, or nil.
	Get(namespace, name string) *operator.QuayRegistry
	// Referencing returns the QuayRegistries of namespace whose
	// spec.configBundleSecret is secret, sorted by name.
	Referencing(namespace, secret string) []*operator.QuayRegistry
}

// SecretGetter reads one Secret (a bounded Get); it returns an error
// satisfying apierrors.IsNotFound when the Secret does not exist.
type SecretGetter func(ctx context.Context, namespace, name string) (*operator.Secret, error)

// Results of a review, the values of the metrics' "result" label.
const (
	ResultAdmitted = "admitted" // reviewed; no errors (maybe warnings)
	ResultDenied   = "denied"   // reviewed; errors
	ResultSkipped  = "skipped"  // not a bundle (or no new content): admitted unreviewed
)

// Kinds of reviewed objects, the values of the metrics' "kind" label.
const (
	KindSecret       = "Secret"
	KindQuayRegistry = "QuayRegistry"
	KindOther        = "other"
)

// Defaults of a Reviewer.
const (
	DefaultMaxLines      = 25
	DefaultSecretTimeout = 2 * time.Second
	maxWarningRunes      = 240
)

// Reviewer decides AdmissionRequests for bundle Secrets and QuayRegistry
// updates. It is safe for concurrent use once configured.
type Reviewer struct {
	// Registries is the cache of QuayRegistries (nil: none known).
	Registries Registries
	// GetSecret reads the Secret a QuayRegistry update switches to (nil:
	// such a switch is admitted with a warning that it was not reviewed).
	GetSecret SecretGetter
	// SecretTimeout bounds GetSecret (DefaultSecretTimeout).
	SecretTimeout time.Duration
	// MaxLines caps the problem lines of a denial's message (the warnings
	// carry every problem); DefaultMaxLines when 0.
	MaxLines int
	// Now is the clock for certificate validity (time.Now).
	Now func() time.Time
	// Limits bound the bundle read from a Secret.
	Limits bundle.Limits
}

// Outcome says what a review decided, for metrics and the log line.
type Outcome struct {
	Kind      string
	Result    string
	Namespace string
	Name      string
	Registry  string // the QuayRegistries reviewed against, comma-separated
	Errors    int
	Warnings  int
}

// Review answers one AdmissionRequest. It never returns nil.
func (r *Reviewer) Review(ctx context.Context, req *admissionv1.AdmissionRequest) (*admissionv1.AdmissionResponse, Outcome) {
	out := Outcome{Kind: KindOther, Result: ResultSkipped, Namespace: req.Namespace, Name: req.Name}
	resp := &admissionv1.AdmissionResponse{UID: req.UID, Allowed: true}
	switch {
	case req.Kind.Group == "" && req.Kind.Kind == "Secret":
		out.Kind = KindSecret
		r.reviewSecret(ctx, req, resp, &out)
	case req.Kind.Group == operator.Group && req.Kind.Kind == operator.Kind:
		out.Kind = KindQuayRegistry
		r.reviewRegistry(ctx, req, resp, &out)
	}
	return resp, out
}

func (r *Reviewer) reviewSecret(ctx context.Context, req *admissionv1.AdmissionRequest, resp *admissionv1.AdmissionResponse, out *Outcome) {
	if req.Operation != admissionv1.Create && req.Operation != admissionv1.Update {
		return
	}
	var s operator.Secret
	if err := json.Unmarshal(req.Object.Raw, &s); err != nil {
		refuse(resp, out, http.StatusBadRequest, "config-editor: the request's object is not a Secret: "+err.Error())
		return
	}
	if s.Name == "" {
		s.Name = req.Name
	}
	out.Name = s.Name
	if req.Operation == admissionv1.Update && len(req.OldObject.Raw) > 0 {
		var old operator.Secret
		if err := json.Unmarshal(req.OldObject.Raw, &old); err == nil && sameData(old.Data, s.Data) {
			return // metadata only: nothing new to review
		}
	}
	regs := r.registriesOf(req.Namespace, &s)
	if s.Labels[operator.LabelBundle] != "true" && len(regs) == 0 {
		return // not a bundle Secret we know of
	}
	what := fmt.Sprintf("config bundle Secret %s/%s", req.Namespace, s.Name)
	b, err := bundle.FromSecretData(s.Data, r.Limits)
	if err != nil {
		// The error names keys and sizes, never values.
		refuse(resp, out, http.StatusForbidden, fmt.Sprintf("%s is not a config bundle: %v", what, err))
		return
	}
	r.decide(ctx, b, regs, what, resp, out)
}

func (r *Reviewer) reviewRegistry(ctx context.Context, req *admissionv1.AdmissionRequest, resp *admissionv1.AdmissionResponse, out *Outcome) {
	if req.Operation != admissionv1.Update {
		return
	}
	now, err := decodeRegistry(req.Object.Raw)
	if err != nil {
		refuse(resp, out, http.StatusBadRequest, "config-editor: the request's object is not a QuayRegistry: "+err.Error())
		return
	}
	old, err := decodeRegistry(req.OldObject.Raw)
	if err != nil {
		refuse(resp, out, http.StatusBadRequest, "config-editor: the request's old object is not a QuayRegistry: "+err.Error())
		return
	}
	if now.Namespace == "" {
		now.Namespace = req.Namespace
	}
	out.Name = now.Name
	to, from := now.Spec.ConfigBundleSecret, old.Spec.ConfigBundleSecret
	// Only a switch to another Secret is reviewed. Setting it for the first
	// time is the Operator's own initial assignment of the bundle it made.
	if to == "" || to == from || from == "" {
		return
	}
	what := fmt.Sprintf("QuayRegistry %s/%s: configBundleSecret %s", req.Namespace, now.Name, to)
	if r.GetSecret == nil {
		resp.Warnings = []string{what + " was not reviewed (the webhook cannot read Secrets)"}
		return
	}
	timeout := r.SecretTimeout
	if timeout <= 0 {
		timeout = DefaultSecretTimeout
	}
	gctx, cancel := context.WithTimeout(ctx, timeout)
	s, err := r.GetSecret(gctx, req.Namespace, to)
	cancel()
	switch {
	case apierrors.IsNotFound(err):
		// Admitted: a manifest set may create the Secret right after.
		resp.Warnings = []string{what + " does not exist (yet): the Operator cannot use it until it does; not reviewed"}
		return
	case err != nil:
		resp.Warnings = []string{what + " was not reviewed: reading it failed: " + oneLine(err.Error())}
		return
	}
	b, err := bundle.FromSecretData(s.Data, r.Limits)
	if err != nil {
		refuse(resp, out, http.StatusForbidden, fmt.Sprintf("%s is not a config bundle: %v", what, err))
		return
	}
	r.decide(ctx, b, []*operator.QuayRegistry{now}, what, resp, out)
}

func decodeRegistry(raw []byte) (*operator.QuayRegistry, error) {
	var obj map[string]any
	if err := json.Unmarshal(raw, &obj); err != nil {
		return nil, err
	}
	return operator.FromUnstructured(&unstructured.Unstructured{Object: obj})
}

// registriesOf returns the known QuayRegistries a Secret belongs to: the
// one its quay-registry label names and those referencing it by name.
func (r *Reviewer) registriesOf(namespace string, s *operator.Secret) []*operator.QuayRegistry {
	if r.Registries == nil {
		return nil
	}
	var out []*operator.QuayRegistry
	seen := map[string]bool{}
	if name := s.Labels[operator.LabelRegistry]; name != "" {
		if qr := r.Registries.Get(namespace, name); qr != nil {
			out = append(out, qr)
			seen[qr.Name] = true
		}
	}
	for _, qr := range r.Registries.Referencing(namespace, s.Name) {
		if !seen[qr.Name] {
			out = append(out, qr)
			seen[qr.Name] = true
		}
	}
	return out
}

// Check is the review of a bundle: the offline validation (never a probe)
// and, for each known registry, the Operator's pre-flight rules, with the
// field groups of the components that registry manages left out (the
// Operator supplies those). With no registry known, the groups of
// components the bundle sets no key of are left out (the Operator may
// manage them). Messages are scrubbed of the bundle's secrets.
func Check(ctx context.Context, b *bundle.Bundle, regs []*operator.QuayRegistry, now time.Time) []problem.Problem {
	if now.IsZero() {
		now = time.Now()
	}
	cat := schema.Get()
	all := validators.Validate(ctx, b, validators.Options{Mode: validators.Offline, Now: now, Catalogue: cat})
	var ps []problem.Problem
	if len(regs) == 0 {
		ps = operator.DropGroups(all, unsetComponentGroups(b, cat))
	} else {
		seen := map[string]bool{}
		add := func(p problem.Problem) {
			k := string(p.Severity) + "\x00" + p.FieldGroup + "\x00" + p.Path.String() + "\x00" + p.Message
			if !seen[k] {
				seen[k] = true
				ps = append(ps, p)
			}
		}
		for _, qr := range regs {
			ref := fmt.Sprintf("QuayRegistry %s/%s", qr.Namespace, qr.Name)
			parts := operator.ReadOnlyParts(qr.Spec, b, cat, ref)
			for _, p := range operator.DropGroups(all, operator.ManagedGroupNames(parts)) {
				add(p)
			}
			for _, p := range operator.Preflight(qr.Spec, b, cat, now) {
				if len(regs) > 1 {
					p.Message = qr.Name + ": " + p.Message
				}
				add(p)
			}
		}
	}
	sc := schema.NewScrubber(cat.SecretValues(b.Config().Value()))
	for i := range ps {
		ps[i].Message = sc.Scrub(ps[i].Message)
	}
	problem.Sort(ps)
	return ps
}

// unsetComponentGroups lists the field groups owned by an Operator
// component of which the bundle sets no key.
func unsetComponentGroups(b *bundle.Bundle, cat *schema.Catalogue) []string {
	cfg := b.Config().Value()
	var out []string
	for _, g := range cat.Groups() {
		if g.Component == "" {
			continue
		}
		set := false
		for _, k := range g.Keys() {
			if _, ok := cfg[k]; ok {
				set = true
				break
			}
		}
		if !set {
			out = append(out, g.Name)
		}
	}
	return out
}

func (r *Reviewer) decide(ctx context.Context, b *bundle.Bundle, regs []*operator.QuayRegistry, what string, resp *admissionv1.AdmissionResponse, out *Outcome) {
	now := time.Time{}
	if r.Now != nil {
		now = r.Now()
	}
	names := make([]string, 0, len(regs))
	for _, qr := range regs {
		names = append(names, qr.Name)
	}
	out.Registry = strings.Join(names, ",")
	ps := Check(ctx, b, regs, now)
	for _, p := range ps {
		if p.Severity == problem.Error {
			out.Errors++
		} else {
			out.Warnings++
		}
	}
	resp.Warnings = Warnings(ps)
	if out.Errors == 0 {
		out.Result = ResultAdmitted
		return
	}
	against := "offline validation"
	if len(names) > 0 {
		against += " and the Operator's pre-flight for QuayRegistry " + strings.Join(names, ", ")
	}
	max := r.MaxLines
	if max <= 0 {
		max = DefaultMaxLines
	}
	refuse(resp, out, http.StatusForbidden, DenyMessage(what, against, ps, max))
}

func refuse(resp *admissionv1.AdmissionResponse, out *Outcome, code int32, msg string) {
	out.Result = ResultDenied
	resp.Allowed = false
	reason := metav1.StatusReasonForbidden
	if code == http.StatusBadRequest {
		reason = metav1.StatusReasonBadRequest
	}
	resp.Result = &metav1.Status{Status: metav1.StatusFailure, Code: code, Reason: reason, Message: msg}
}

// DenyMessage is the status.message of a denial: a summary line, then one
// line per problem (errors first), "path: message", at most max lines.
func DenyMessage(what, against string, ps []problem.Problem, max int) string {
	errs, warns := 0, 0
	sorted := make([]problem.Problem, len(ps))
	copy(sorted, ps)
	sort.SliceStable(sorted, func(i, j int) bool {
		return sorted[i].Severity == problem.Error && sorted[j].Severity != problem.Error
	})
	for _, p := range ps {
		if p.Severity == problem.Error {
			errs++
		} else {
			warns++
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d error(s), %d warning(s) (config-editor %s)", what, errs, warns, against)
	for i, p := range sorted {
		if i == max {
			fmt.Fprintf(&b, "\n… and %d more (see the warnings)", len(sorted)-max)
			break
		}
		b.WriteString("\n")
		if p.Severity != problem.Error {
			b.WriteString("warning: ")
		}
		b.WriteString(Line(p))
	}
	return b.String()
}

// Line renders a problem on one line: "path (line N): message".
func Line(p problem.Problem) string {
	loc := p.Path.String()
	if loc == "" && len(p.Tags) > 0 {
		loc = p.Tags[0]
	}
	if loc == "" {
		loc = p.FieldGroup
	}
	if p.Line > 0 {
		loc = fmt.Sprintf("%s (config.yaml line %d)", loc, p.Line)
	}
	return oneLine(loc + ": " + p.Message)
}

// Warnings renders every problem as an AdmissionResponse warning:
// "error: path: message" or "warning: …", one line, at most 240 runes
// (the API server truncates long warnings itself).
func Warnings(ps []problem.Problem) []string {
	if len(ps) == 0 {
		return nil
	}
	out := make([]string, 0, len(ps))
	for _, p := range ps {
		sev := "warning"
		if p.Severity == problem.Error {
			sev = "error"
		}
		w := sev + ": " + Line(p)
		if rs := []rune(w); len(rs) > maxWarningRunes {
			w = string(rs[:maxWarningRunes-1]) + "…"
		}
		out = append(out, w)
	}
	return out
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

func sameData(a, b map[string][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		w, ok := b[k]
		if !ok || !bytes.Equal(v, w) {
			return false
		}
	}
	return true
}

// errNotReady is returned while the registry cache is not synced.
var errNotReady = errors.New("the QuayRegistry cache is not synced yet")
