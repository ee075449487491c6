package operator

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/quay-tools/config-editor/internal/bundle"
	"github.com/quay-tools/config-editor/internal/schema"
)

// Labels and annotations of the bundle Secrets config-editor creates.
const (
	LabelRegistry  = "quay-registry" // the Operator's own label for a registry's bundles
	LabelBundle    = "quay-config-editor/bundle"
	LabelManagedBy = "app.kubernetes.io/managed-by"
	ManagedBy      = "config-editor"

	AnnotationPushedAt = "quay-config-editor/pushed-at"
	AnnotationPushedBy = "quay-config-editor/pushed-by"
	AnnotationPrevious = "quay-config-editor/previous"
	AnnotationHash     = "quay-config-editor/content-sha256"
	AnnotationSource   = "quay-config-editor/source"
)

// NotPushed are Secret keys the bundle does not own: OpenShift's CAs, which
// the Operator mounts next to the bundle. They are never written to a
// bundle Secret.
var NotPushed = map[string]bool{"service-ca.crt": true, "ca-bundle.crt": true}

// Loaded is a QuayRegistry with the bundle of its current configBundleSecret.
type Loaded struct {
	Registry *QuayRegistry
	Secret   string         // name of the current configBundleSecret
	Bundle   *bundle.Bundle // its content (flat extra_ca_cert_X as extra_ca_certs/X)
	ReadOnly []ReadOnly     // what the Operator manages, with reasons
}

// ManagedGroups lists the read-only field groups.
func (l *Loaded) ManagedGroups() []string { return ManagedGroupNames(l.ReadOnly) }

// Load reads the QuayRegistry and the bundle of its configBundleSecret.
func (c *Client) Load(ctx context.Context) (*Loaded, error) {
	qr, err := c.Get(ctx)
	if err != nil {
		return nil, err
	}
	if qr.Spec.ConfigBundleSecret == "" {
		return nil, errorf(ErrNotFound, nil, "%s has no spec.configBundleSecret yet: wait for the Operator to create one, or push a bundle (config-editor push)", c.Ref())
	}
	b, err := c.ReadBundle(ctx, qr.Spec.ConfigBundleSecret)
	if err != nil {
		return nil, err
	}
	return &Loaded{
		Registry: qr, Secret: qr.Spec.ConfigBundleSecret, Bundle: b,
		ReadOnly: ReadOnlyParts(qr.Spec, b, schema.Get(), c.Ref()),
	}, nil
}

// ReadBundle reads a bundle Secret of the registry's namespace.
func (c *Client) ReadBundle(ctx context.Context, name string) (*bundle.Bundle, error) {
	s, err := c.getSecret(ctx, name)
	if err != nil {
		return nil, err
	}
	b, err := bundle.FromSecretData(s.Data, bundle.Limits{})
	if err != nil {
		return nil, errorf(ErrInvalid, err, "Secret %s/%s is not a config bundle: %v", c.Namespace, name, err)
	}
	return b, nil
}

func (c *Client) getSecret(ctx context.Context, name string) (*Secret, error) {
	ctx, cancel := c.bounded(ctx)
	defer cancel()
	s, err := GetSecret(ctx, c.dyn, c.Namespace, name)
	if err != nil {
		return nil, c.explain(ctx, err, "get", "secrets", name)
	}
	return s, nil
}

// SecretData is the data of the bundle Secret for b: config.yaml plus the
// flattened files, without the keys of NotPushed.
func SecretData(b *bundle.Bundle) (map[string][]byte, error) {
	data, err := b.SecretData()
	if err != nil {
		return nil, errorf(ErrInvalid, err, "the bundle cannot be stored in a Secret: %v", err)
	}
	for k := range NotPushed {
		delete(data, k)
	}
	return data, nil
}

// ContentHash is the SHA-256 of Secret data (keys sorted, NotPushed keys
// left out), hex.
func ContentHash(data map[string][]byte) string {
	keys := make([]string, 0, len(data))
	for k := range data {
		if !NotPushed[k] {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	h := sha256.New()
	for _, k := range keys {
		fmt.Fprintf(h, "%d:%s\x00%d:", len(k), k, len(data[k]))
		h.Write(data[k])
	}
	return hex.EncodeToString(h.Sum(nil))
}

// sameData compares Secret data ignoring NotPushed keys.
func sameData(a, b map[string][]byte) bool {
	n := 0
	for k, v := range a {
		if NotPushed[k] {
			continue
		}
		n++
		w, ok := b[k]
		if !ok || !bytes.Equal(v, w) {
			return false
		}
	}
	for k := range b {
		if !NotPushed[k] {
			n--
		}
	}
	return n == 0
}

// SecretName is the name of the bundle Secret of registry with content hash.
func SecretName(registry, hash string) string {
	return registry + "-config-bundle-" + hash[:10]
}

// Revision is one bundle Secret of the registry's history.
type Revision struct {
	Secret   string
	PushedAt time.Time // the pushed-at annotation, else the creation time
	PushedBy string    // "" when unknown
	Source   string    // "editor", "cli", "rollback", … ("" when not ours)
	Previous string    // the configBundleSecret this push replaced
	Hash     string
	Current  bool // spec.configBundleSecret names it
	Ours     bool // created by config-editor (labelled)
}

// History lists the registry's bundle Secrets, newest first: every Secret
// config-editor pushed for it, the bundle Secrets the Operator (or its
// historical editor) made for it (label quay-registry=<registry>, name
// containing "config-bundle"), and the current configBundleSecret whoever
// made it.
func (c *Client) History(ctx context.Context) ([]Revision, *QuayRegistry, error) {
	qr, err := c.Get(ctx)
	if err != nil {
		return nil, nil, err
	}
	list, err := c.listLabelled(ctx, labels.Set{LabelRegistry: c.Registry})
	if err != nil {
		return nil, qr, err
	}
	var out []Revision
	seenCurrent := false
	for i := range list {
		s := &list[i]
		if s.Labels[LabelBundle] != "true" && !strings.Contains(s.Name, "config-bundle") && s.Name != qr.Spec.ConfigBundleSecret {
			continue
		}
		if _, ok := s.Data[bundle.ConfigFile]; !ok {
			continue
		}
		r := revisionOf(s, qr.Spec.ConfigBundleSecret)
		seenCurrent = seenCurrent || r.Current
		out = append(out, r)
	}
	if !seenCurrent && qr.Spec.ConfigBundleSecret != "" {
		if s, err := c.getSecret(ctx, qr.Spec.ConfigBundleSecret); err == nil {
			out = append(out, revisionOf(s, qr.Spec.ConfigBundleSecret))
		} else if KindOf(err) != ErrNotFound {
			return nil, qr, err
		}
	}
	sortRevisions(out)
	return out, qr, nil
}

func sortRevisions(rs []Revision) {
	sort.SliceStable(rs, func(i, j int) bool {
		if !rs[i].PushedAt.Equal(rs[j].PushedAt) {
			return rs[i].PushedAt.After(rs[j].PushedAt)
		}
		return rs[i].Secret > rs[j].Secret
	})
}

func revisionOf(s *Secret, current string) Revision {
	r := Revision{
		Secret: s.Name, PushedAt: s.CreationTimestamp.Time, Current: s.Name == current,
		Ours: s.Labels[LabelBundle] == "true", PushedBy: s.Annotations[AnnotationPushedBy],
		Source: s.Annotations[AnnotationSource], Previous: s.Annotations[AnnotationPrevious],
		Hash: s.Annotations[AnnotationHash],
	}
	if t, err := time.Parse(time.RFC3339Nano, s.Annotations[AnnotationPushedAt]); err == nil {
		r.PushedAt = t
	}
	if r.Hash == "" {
		r.Hash = ContentHash(s.Data)
	}
	return r
}

func (c *Client) listOurs(ctx context.Context) ([]Secret, error) {
	return c.listLabelled(ctx, labels.Set{LabelBundle: "true", LabelRegistry: c.Registry})
}

func (c *Client) listLabelled(ctx context.Context, set labels.Set) ([]Secret, error) {
	ctx, cancel := c.bounded(ctx)
	defer cancel()
	l, err := listSecrets(ctx, c.dyn, c.Namespace, labels.SelectorFromSet(set).String())
	if err != nil {
		return nil, c.explain(ctx, err, "list", "secrets", "")
	}
	return l, nil
}

// GC deletes the registry's bundle Secrets (only those config-editor
// created) beyond the keep newest, never current nor previous. It returns
// the names deleted.
func (c *Client) GC(ctx context.Context, keep int, current, previous string) ([]string, error) {
	if keep < 0 {
		return nil, nil
	}
	list, err := c.listOurs(ctx)
	if err != nil {
		return nil, err
	}
	revs := make([]Revision, 0, len(list))
	uids := map[string]Secret{}
	for i := range list {
		revs = append(revs, revisionOf(&list[i], current))
		uids[list[i].Name] = list[i]
	}
	sortRevisions(revs)
	var deleted []string
	for i, r := range revs {
		if i < keep || r.Secret == current || r.Secret == previous {
			continue
		}
		uid := uids[r.Secret].UID
		dctx, cancel := c.bounded(ctx)
		err := c.dyn.Resource(SecretResource).Namespace(c.Namespace).Delete(dctx, r.Secret, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
		cancel()
		if err != nil {
			if KindOf(c.explain(dctx, err, "delete", "secrets", r.Secret)) == ErrNotFound {
				continue
			}
			return deleted, c.explain(dctx, err, "delete", "secrets", r.Secret)
		}
		deleted = append(deleted, r.Secret)
	}
	return deleted, nil
}
