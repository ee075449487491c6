package operator_test

// Integration tests against a real kube-apiserver (+ etcd) on loopback,
// with the QuayRegistry CRD of schemas/ installed (internal/testenv).

import (
	"context"
	"encoding/json"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/kubernetes"

	"github.com/quay-tools/config-editor/internal/bundle"
	"github.com/quay-tools/config-editor/internal/operator"
	"github.com/quay-tools/config-editor/internal/problem"
	"github.com/quay-tools/config-editor/internal/testenv"
	"github.com/quay-tools/config-editor/internal/testenv/kubetest"
)

func TestMain(m *testing.M) { testenv.Main(m) }

const registry = "example-registry"

// baseConfig is a bundle Quay accepts, with its own database, Redis and
// storage (so postgres, redis and objectstorage are unmanaged), under a
// comment that edits must keep.
const baseConfig = "# the shared config\n" + kubetest.QuayConfig

// unmanagedDeps: the components baseConfig configures itself. tls stays
// managed (no ssl.cert), clair managed (no scanner keys), and the clair
// database unmanaged needs a connstring, so clairpostgres is managed too.
var unmanagedDeps = []map[string]any{
	{"kind": "postgres", "managed": false},
	{"kind": "redis", "managed": false},
	{"kind": "objectstorage", "managed": false},
	{"kind": "route", "managed": true},
	{"kind": "tls", "managed": true},
	{"kind": "clair", "managed": true},
	{"kind": "clairpostgres", "managed": true},
	{"kind": "horizontalpodautoscaler", "managed": true},
	{"kind": "mirror", "managed": true},
	{"kind": "monitoring", "managed": true},
	{"kind": "quay", "managed": true},
}

type env struct {
	k     *testenv.KubeServer
	ns    string
	admin kubernetes.Interface
	first string // the Operator-made bundle Secret
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// setup makes a namespace with a QuayRegistry whose configBundleSecret is
// an Operator-style Secret holding config plus an extra CA (flattened) and
// the OpenShift service CA.
func setup(t *testing.T, components []map[string]any, config string) *env {
	t.Helper()
	k := kubetest.Server(t)
	e := &env{k: k, ns: k.Namespace(t), admin: kubetest.Clientset(t, k, testenv.KubeAdmin), first: registry + "-config-bundle-kt55s"}
	ctx := ctxT(t)
	if _, err := e.admin.CoreV1().Secrets(e.ns).Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: e.first, Labels: map[string]string{"quay-registry": registry}},
		Data: map[string][]byte{
			"config.yaml":            []byte(config),
			"extra_ca_cert_corp.crt": testenv.CA().CAPEM,
			"service-ca.crt":         []byte("openshift service CA"),
			"clair-config.yaml":      []byte("indexer:\n  scanlock_retry: 10\n"),
		},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	comps := make([]any, len(components))
	for i, c := range components {
		comps[i] = c
	}
	qr := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": operator.APIVersion, "kind": operator.Kind,
		"metadata": map[string]any{"name": registry},
		"spec":     map[string]any{"configBundleSecret": e.first, "components": comps},
	}}
	if _, err := kubetest.Dynamic(t, k, testenv.KubeAdmin).Resource(operator.Resource).Namespace(e.ns).Create(ctx, qr, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *env) client(t *testing.T, user string) *operator.Client {
	t.Helper()
	c, err := operator.Connect(operator.Options{REST: kubetest.Config(e.k, user), Namespace: e.ns, Registry: registry, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (e *env) spec(t *testing.T) (string, string) {
	t.Helper()
	u, err := kubetest.Dynamic(t, e.k, testenv.KubeAdmin).Resource(operator.Resource).Namespace(e.ns).Get(ctxT(t), registry, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s, _, _ := unstructured.NestedString(u.Object, "spec", "configBundleSecret")
	return s, u.GetResourceVersion()
}

func (e *env) secrets(t *testing.T) []string {
	t.Helper()
	l, err := e.admin.CoreV1().Secrets(e.ns).List(ctxT(t), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, s := range l.Items {
		out = append(out, s.Name)
	}
	sort.Strings(out)
	return out
}

func edited(t *testing.T, b *bundle.Bundle, key string, v any) *bundle.Bundle {
	t.Helper()
	nb := b.Clone()
	if err := nb.Config().Set([]string{key}, v); err != nil {
		t.Fatal(err)
	}
	return nb
}

// load connects as user and loads the registry's bundle, retrying while
// RBAC catches up with a fresh RoleBinding (waitFor). The context ends with
// the test.
func (e *env) load(t *testing.T, user string) (*operator.Client, context.Context, *operator.Loaded) {
	t.Helper()
	c := e.client(t, user)
	ctx := ctxT(t)
	var l *operator.Loaded
	waitFor(t, func() error {
		var err error
		l, err = c.Load(ctx)
		return err
	})
	return c, ctx, l
}

// sameSecrets reports what if the namespace's Secrets are no longer before.
func (e *env) sameSecrets(t *testing.T, before []string, what string) {
	t.Helper()
	if after := e.secrets(t); !slices.Equal(after, before) {
		t.Errorf("%s: %v -> %v", what, before, after)
	}
}

func TestLoadFromCluster(t *testing.T) {
	e := setup(t, unmanagedDeps, baseConfig)
	c := e.client(t, testenv.KubeAdmin)
	if _, err := c.Check(ctxT(t)); err != nil {
		t.Fatalf("check: %v", err)
	}
	l, err := c.Load(ctxT(t))
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if l.Secret != e.first || l.Registry.Name != registry || l.Registry.UID == "" {
		t.Errorf("loaded %s from %+v", l.Secret, l.Registry)
	}
	if string(l.Bundle.Config().Bytes()) != baseConfig {
		t.Error("config.yaml not loaded byte for byte (comments must survive)")
	}
	if _, ok := l.Bundle.File("extra_ca_certs/corp.crt"); !ok {
		t.Errorf("flattened extra_ca_cert_corp.crt not mapped back to extra_ca_certs/corp.crt; files %v", l.Bundle.FileNames())
	}
	if _, ok := l.Bundle.File("clair-config.yaml"); !ok {
		t.Error("clair-config.yaml lost")
	}
	// Read-only groups: the managed components that own config keys.
	got := l.ManagedGroups()
	want := []string{"HostSettings", "RepoMirror", "SecurityScanner"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("read-only groups %v, want %v", got, want)
	}
	for _, p := range l.ReadOnly {
		if !strings.Contains(p.Reason, "managed: true") || !strings.Contains(p.Reason, p.Component) {
			t.Errorf("reason for %s/%v does not say why: %q", p.Group, p.Files, p.Reason)
		}
	}
	var tls bool
	for _, p := range l.ReadOnly {
		if p.Component == "tls" && strings.Join(p.Files, ",") == "ssl.cert,ssl.key" {
			tls = true
		}
	}
	if !tls {
		t.Errorf("managed tls does not make ssl.cert/ssl.key read-only: %+v", l.ReadOnly)
	}
	user := c.WhoAmI(ctxT(t))
	if user != testenv.KubeAdmin {
		t.Errorf("WhoAmI = %q", user)
	}
}

func TestPushCreatesSecretAndUpdatesRegistry(t *testing.T) {
	e := setup(t, unmanagedDeps, baseConfig)
	c, ctx, l := e.load(t, testenv.KubeAdmin)
	_, rvBefore := e.spec(t)
	nb := edited(t, l.Bundle, "REGISTRY_TITLE", "After")
	res, err := c.Push(ctx, nb, operator.PushOptions{Base: l.Secret, Source: "test"})
	if err != nil {
		t.Fatalf("push: %v (problems %v)", err, res.Problems)
	}
	if !res.Created || res.Unchanged || res.Previous != e.first || !strings.HasPrefix(res.Secret, registry+"-config-bundle-") {
		t.Fatalf("result %+v", res)
	}
	cur, rvAfter := e.spec(t)
	if cur != res.Secret || rvAfter == rvBefore || res.ResourceVersion != rvAfter {
		t.Errorf("registry points to %s (rv %s→%s), push said %s rv %s", cur, rvBefore, rvAfter, res.Secret, res.ResourceVersion)
	}
	s, err := e.admin.CoreV1().Secrets(e.ns).Get(ctx, res.Secret, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if s.Immutable == nil || !*s.Immutable {
		t.Error("bundle Secret is not immutable")
	}
	if s.Labels["quay-config-editor/bundle"] != "true" || s.Labels["quay-registry"] != registry {
		t.Errorf("labels %v", s.Labels)
	}
	if len(s.OwnerReferences) != 1 || s.OwnerReferences[0].Kind != "QuayRegistry" || s.OwnerReferences[0].Name != registry || s.OwnerReferences[0].UID != l.Registry.UID {
		t.Errorf("owner references %+v", s.OwnerReferences)
	}
	if s.Annotations[operator.AnnotationPushedBy] != testenv.KubeAdmin || s.Annotations[operator.AnnotationPrevious] != e.first {
		t.Errorf("annotations %v", s.Annotations)
	}
	if _, ok := s.Data["service-ca.crt"]; ok {
		t.Error("OpenShift service-ca.crt was pushed")
	}
	if _, ok := s.Data["extra_ca_cert_corp.crt"]; !ok {
		t.Errorf("extra CA not pushed flattened: keys %v", keys(s.Data))
	}
	if !strings.Contains(string(s.Data["config.yaml"]), "REGISTRY_TITLE: After") || !strings.Contains(string(s.Data["config.yaml"]), "# the shared config") {
		t.Errorf("pushed config.yaml:\n%s", s.Data["config.yaml"])
	}
	// The previous Secret is untouched.
	old, err := e.admin.CoreV1().Secrets(e.ns).Get(ctx, e.first, metav1.GetOptions{})
	if err != nil || string(old.Data["config.yaml"]) != baseConfig {
		t.Errorf("previous bundle changed: %v", err)
	}
	// An immutable Secret refuses edits: the history cannot be rewritten.
	s.Data["config.yaml"] = []byte("X: 1\n")
	if _, err := e.admin.CoreV1().Secrets(e.ns).Update(ctx, s, metav1.UpdateOptions{}); !apierrors.IsInvalid(err) {
		t.Errorf("update of the immutable bundle Secret: %v, want Invalid", err)
	}
}

func keys(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func TestPushIdenticalIsNoop(t *testing.T) {
	e := setup(t, unmanagedDeps, baseConfig)
	c, ctx, l := e.load(t, testenv.KubeAdmin)
	before := e.secrets(t)
	_, rv := e.spec(t)
	res, err := c.Push(ctx, l.Bundle, operator.PushOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Unchanged || res.Created || res.Secret != e.first {
		t.Errorf("identical push: %+v", res)
	}
	e.sameSecrets(t, before, "secrets")
	if _, rv2 := e.spec(t); rv2 != rv {
		t.Errorf("registry written by an identical push (rv %s -> %s)", rv, rv2)
	}
	// Twice the same new content: one new Secret only.
	nb := edited(t, l.Bundle, "REGISTRY_TITLE", "Twice")
	r1, err := c.Push(ctx, nb, operator.PushOptions{})
	if err != nil || !r1.Created {
		t.Fatalf("first push: %+v %v", r1, err)
	}
	n := len(e.secrets(t))
	r2, err := c.Push(ctx, nb, operator.PushOptions{})
	if err != nil || !r2.Unchanged || r2.Created || r2.Secret != r1.Secret {
		t.Fatalf("second push of the same content: %+v %v", r2, err)
	}
	if len(e.secrets(t)) != n {
		t.Error("second identical push created a Secret")
	}
}

func TestPushConflictWhenSomeoneElsePushed(t *testing.T) {
	e := setup(t, unmanagedDeps, baseConfig)
	c, ctx, mine := e.load(t, testenv.KubeAdmin)
	// Someone else pushes in between.
	other, err := c.Push(ctx, edited(t, mine.Bundle, "REGISTRY_TITLE", "Theirs"), operator.PushOptions{Base: mine.Secret})
	if err != nil {
		t.Fatal(err)
	}
	_, rv := e.spec(t)
	before := e.secrets(t)
	res, err := c.Push(ctx, edited(t, mine.Bundle, "REGISTRY_TITLE", "Mine"), operator.PushOptions{Base: mine.Secret})
	if operator.KindOf(err) != operator.ErrConflict {
		t.Fatalf("push over someone else's: err=%v res=%+v", err, res)
	}
	if !strings.Contains(err.Error(), other.Secret) || !strings.Contains(err.Error(), "reload") {
		t.Errorf("conflict message does not say what happened: %v", err)
	}
	cur, rv2 := e.spec(t)
	if cur != other.Secret || rv2 != rv {
		t.Errorf("registry overwritten: %s rv %s->%s", cur, rv, rv2)
	}
	e.sameSecrets(t, before, "secrets changed on conflict")
}

func TestPushDryRunRefusedWithoutCreateOnSecrets(t *testing.T) {
	e := setup(t, unmanagedDeps, baseConfig)
	// A Role like deploy/'s but without create on Secrets.
	e.k.Grant(t, e.ns, testenv.KubeEditor, `[
		{"apiGroups":["quay.redhat.com"],"resources":["quayregistries"],"verbs":["get","list","watch","update","patch"]},
		{"apiGroups":[""],"resources":["secrets"],"verbs":["get","list","delete"]}]`)
	c, ctx, l := e.load(t, testenv.KubeEditor)
	missing, err := c.Missing(ctx)
	if err != nil || len(missing) != 1 || missing[0].String() != "create secrets" {
		t.Errorf("missing permissions: %v %v", missing, err)
	}
	before := e.secrets(t)
	_, rv := e.spec(t)
	_, err = c.Push(ctx, edited(t, l.Bundle, "REGISTRY_TITLE", "Denied"), operator.PushOptions{})
	if operator.KindOf(err) != operator.ErrForbidden {
		t.Fatalf("push without create on secrets: %v", err)
	}
	for _, want := range []string{"dry run refused, nothing was changed", "secrets", testenv.KubeEditor} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	e.sameSecrets(t, before, "secrets changed")
	if cur, rv2 := e.spec(t); cur != e.first || rv2 != rv {
		t.Errorf("registry changed: %s %s->%s", cur, rv, rv2)
	}
}

// Without patch on quayregistries the Secret create would succeed and the
// update fail: the dry run of both writes comes first, so no Secret is
// left behind.
func TestPushDryRunRefusedWithoutPatchOnRegistry(t *testing.T) {
	e := setup(t, unmanagedDeps, baseConfig)
	e.k.Grant(t, e.ns, testenv.KubeEditor, `[
		{"apiGroups":["quay.redhat.com"],"resources":["quayregistries"],"verbs":["get","list","watch"]},
		{"apiGroups":[""],"resources":["secrets"],"verbs":["get","list","create","delete"]}]`)
	c, ctx, l := e.load(t, testenv.KubeEditor)
	before := e.secrets(t)
	_, err := c.Push(ctx, edited(t, l.Bundle, "REGISTRY_TITLE", "Denied"), operator.PushOptions{})
	if operator.KindOf(err) != operator.ErrForbidden || !strings.Contains(err.Error(), "dry run refused") || !strings.Contains(err.Error(), "quayregistries") {
		t.Fatalf("push without patch on the registry: %v", err)
	}
	e.sameSecrets(t, before, "a Secret was left behind")
}

// waitFor retries f while RBAC catches up with a fresh RoleBinding.
func waitFor(t *testing.T, f func() error) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := f()
		if err == nil {
			return
		}
		if operator.KindOf(err) != operator.ErrForbidden || time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestHistoryDiffRollback(t *testing.T) {
	e := setup(t, unmanagedDeps, baseConfig)
	c, ctx, l := e.load(t, testenv.KubeAdmin)
	t0 := time.Now()
	p1, err := c.Push(ctx, edited(t, l.Bundle, "REGISTRY_TITLE", "One"), operator.PushOptions{Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	b2 := edited(t, l.Bundle, "REGISTRY_TITLE", "Two")
	if err := b2.Config().Set([]string{"DB_URI"}, "postgresql://quay:newsecret@db.example.com:5432/quay"); err != nil {
		t.Fatal(err)
	}
	p2, err := c.Push(ctx, b2, operator.PushOptions{Base: p1.Secret, Now: func() time.Time { return t0.Add(time.Second) }})
	if err != nil {
		t.Fatal(err)
	}
	hist, qr, err := c.History(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if qr.Spec.ConfigBundleSecret != p2.Secret {
		t.Errorf("current %s", qr.Spec.ConfigBundleSecret)
	}
	var names []string
	for _, r := range hist {
		names = append(names, r.Secret)
	}
	want := []string{p2.Secret, p1.Secret, e.first}
	if strings.Join(names, ",") != strings.Join(want, ",") {
		t.Fatalf("history %v, want newest first %v", names, want)
	}
	if !hist[0].Current || hist[1].Current || hist[0].PushedBy != testenv.KubeAdmin || hist[0].Previous != p1.Secret || !hist[0].Ours || hist[2].Ours {
		t.Errorf("history entries %+v", hist)
	}
	changes, err := c.DiffSecrets(ctx, p1.Secret, p2.Secret)
	if err != nil {
		t.Fatal(err)
	}
	text := ""
	for _, ch := range changes {
		text += ch.String() + "\n"
	}
	if !strings.Contains(text, `~ REGISTRY_TITLE: "One" → "Two"`) || !strings.Contains(text, "DB_URI") {
		t.Errorf("diff:\n%s", text)
	}
	if strings.Contains(text, "newsecret") || strings.Contains(text, "dbsecret") {
		t.Errorf("diff leaks a secret:\n%s", text)
	}
	// Roll back to the first push: no new Secret, the registry points back.
	n := len(e.secrets(t))
	rb, err := c.Rollback(ctx, p1.Secret, operator.PushOptions{Base: p2.Secret})
	if err != nil {
		t.Fatalf("rollback: %v", err)
	}
	if rb.Secret != p1.Secret || rb.Previous != p2.Secret || rb.Created {
		t.Errorf("rollback result %+v", rb)
	}
	if cur, _ := e.spec(t); cur != p1.Secret {
		t.Errorf("after rollback the registry uses %s", cur)
	}
	if len(e.secrets(t)) != n {
		t.Error("rollback created or deleted Secrets")
	}
	// Rolling back with a stale base is a conflict.
	if _, err := c.Rollback(ctx, e.first, operator.PushOptions{Base: p2.Secret}); operator.KindOf(err) != operator.ErrConflict {
		t.Errorf("rollback from a stale base: %v", err)
	}
	// Rolling back to a missing Secret says so.
	if _, err := c.Rollback(ctx, "nope", operator.PushOptions{}); operator.KindOf(err) != operator.ErrNotFound {
		t.Errorf("rollback to a missing Secret: %v", err)
	}
}

func TestGarbageCollection(t *testing.T) {
	e := setup(t, unmanagedDeps, baseConfig)
	c, ctx, l := e.load(t, testenv.KubeAdmin)
	// A Secret of someone else that happens to carry the registry label.
	if _, err := e.admin.CoreV1().Secrets(e.ns).Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "hand-made", Labels: map[string]string{"quay-registry": registry}},
		Data:       map[string][]byte{"config.yaml": []byte("A: 1\n")},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	var pushed []string
	base := l.Secret
	for i := 0; i < 5; i++ {
		res, err := c.Push(ctx, edited(t, l.Bundle, "REGISTRY_TITLE", "v"+string(rune('0'+i))), operator.PushOptions{
			Keep: 2, Base: base, Now: func() time.Time { return t0.Add(time.Duration(i) * time.Second) },
		})
		if err != nil {
			t.Fatal(err)
		}
		pushed = append(pushed, res.Secret)
		base = res.Secret
	}
	// Roll back to the oldest surviving push, then push again: the
	// rolled-back-from Secret is "previous" and must survive even though it
	// is not among the newest two.
	got := e.secrets(t)
	want := []string{e.first, "hand-made", pushed[3], pushed[4]}
	sort.Strings(want)
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("after 5 pushes with keep=2: %v, want %v", got, want)
	}
	if _, err := c.Rollback(ctx, pushed[3], operator.PushOptions{Keep: 1}); err != nil {
		t.Fatal(err)
	}
	got = e.secrets(t)
	// keep=1 keeps the newest (pushed[4]), which is also "previous", and the
	// current one (pushed[3]); never the Secrets we did not create.
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("after rollback with keep=1: %v, want %v", got, want)
	}
	res, err := c.Push(ctx, edited(t, l.Bundle, "REGISTRY_TITLE", "last"), operator.PushOptions{Keep: 1, Now: func() time.Time { return t0.Add(time.Minute) }})
	if err != nil {
		t.Fatal(err)
	}
	got = e.secrets(t)
	// current = new, previous = pushed[3]; pushed[4] goes.
	want = []string{e.first, "hand-made", pushed[3], res.Secret}
	sort.Strings(want)
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("after a push with keep=1: %v, want %v (deleted %v)", got, want, res.Deleted)
	}
}

func TestWatchFollowsRolloutAcrossCutWatch(t *testing.T) {
	e := setup(t, unmanagedDeps, baseConfig)
	proxy := kubetest.NewProxy(t, e.k.URL)
	cfg := kubetest.Config(e.k, testenv.KubeAdmin)
	cfg.Host = proxy.URL
	c, err := operator.Connect(operator.Options{REST: cfg, Namespace: e.ns, Registry: registry})
	if err != nil {
		t.Fatal(err)
	}
	dyn := kubetest.Dynamic(t, e.k, testenv.KubeAdmin)
	setStatus := func(conds ...map[string]any) {
		t.Helper()
		u, err := dyn.Resource(operator.Resource).Namespace(e.ns).Get(ctxT(t), registry, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		list := make([]any, len(conds))
		for i, c := range conds {
			list[i] = c
		}
		_ = unstructured.SetNestedSlice(u.Object, list, "status", "conditions")
		_ = unstructured.SetNestedField(u.Object, "https://quay.example.com", "status", "registryEndpoint")
		_ = unstructured.SetNestedField(u.Object, "3.12.1", "status", "currentVersion")
		if _, err := dyn.Resource(operator.Resource).Namespace(e.ns).UpdateStatus(ctxT(t), u, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	cond := func(typ, status, reason, msg string, at time.Time) map[string]any {
		ts := at.UTC().Format(time.RFC3339)
		return map[string]any{"type": typ, "status": status, "reason": reason, "message": msg, "lastUpdateTime": ts, "lastTransitionTime": ts}
	}
	old := time.Now().Add(-time.Hour)
	// Before the push the registry was healthy: that must not count.
	setStatus(cond("Available", "True", "HealthChecksPassing", "all registry component healthchecks passing", old))
	since := time.Now()

	seen := make(chan operator.Rollout, 100)
	done := make(chan struct{})
	var final operator.Rollout
	var werr error
	go func() {
		defer close(done)
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		final, werr = c.Watch(ctx, operator.Baseline{At: since}, func(r operator.Rollout) bool { seen <- r; return true })
	}()
	next := func(want operator.Phase, reason string) operator.Rollout {
		t.Helper()
		timeout := time.After(30 * time.Second)
		for {
			select {
			case r := <-seen:
				if r.Phase == want && r.Reason == reason {
					return r
				}
			case <-timeout:
				t.Fatalf("watcher never reported %s/%s", want, reason)
			}
		}
	}
	r := next(operator.PhaseProgressing, "")
	if r.Status.RegistryEndpoint != "https://quay.example.com" {
		t.Errorf("first observation %+v", r)
	}
	now := time.Now()
	setStatus(
		cond("Available", "False", "MigrationsInProgress", "running database migrations", now),
		cond("RolloutBlocked", "False", "ComponentsCreationSuccess", "all objects created/updated successfully", now))
	next(operator.PhaseProgressing, "MigrationsInProgress")

	// Cut every connection: the watch must resume and still see the end.
	if n := proxy.Cut(); n == 0 {
		t.Fatal("no connection to cut: is the watch going through the proxy?")
	}
	time.Sleep(200 * time.Millisecond)
	setStatus(
		cond("Available", "True", "HealthChecksPassing", "all registry component healthchecks passing", time.Now()),
		cond("RolloutBlocked", "False", "ComponentsCreationSuccess", "all objects created/updated successfully", now))
	<-done
	if werr != nil {
		t.Fatalf("watch: %v", werr)
	}
	if final.Phase != operator.PhaseAvailable || final.Reason != "HealthChecksPassing" || final.Status.CurrentVersion != "3.12.1" {
		t.Errorf("final %+v", final)
	}
	if final.Resumes < 1 {
		t.Errorf("the watch was cut but Resumes = %d", final.Resumes)
	}
	t.Logf("watch resumed %d time(s); final: %s", final.Resumes, final.Describe())
}

func TestWatchReportsFailureAndTimeout(t *testing.T) {
	e := setup(t, unmanagedDeps, baseConfig)
	c := e.client(t, testenv.KubeAdmin)
	dyn := kubetest.Dynamic(t, e.k, testenv.KubeAdmin)
	since := time.Now()
	// Nothing happens: the watch ends with the context, as an error.
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	last, err := c.Watch(ctx, operator.Baseline{At: since}, nil)
	cancel()
	if err == nil || last.Phase != operator.PhaseProgressing || !strings.Contains(err.Error(), "did not settle") {
		t.Errorf("watch without news: %+v %v", last, err)
	}
	// The Operator blocks the rollout: failed, with its message.
	u, err := dyn.Resource(operator.Resource).Namespace(e.ns).Get(ctxT(t), registry, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ts := time.Now().UTC().Format(time.RFC3339)
	_ = unstructured.SetNestedSlice(u.Object, []any{map[string]any{
		"type": "RolloutBlocked", "status": "True", "reason": "ConfigInvalid",
		"message":        "required component `route` marked as unmanaged, but `configBundleSecret` is missing necessary fields",
		"lastUpdateTime": ts, "lastTransitionTime": ts,
	}}, "status", "conditions")
	if _, err := dyn.Resource(operator.Resource).Namespace(e.ns).UpdateStatus(ctxT(t), u, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	last, err = c.Watch(ctxT(t), operator.Baseline{At: since}, nil)
	if err != nil || last.Phase != operator.PhaseFailed || last.Reason != "ConfigInvalid" || !strings.Contains(last.Message, "route") {
		t.Errorf("blocked rollout: %+v %v", last, err)
	}
}

// Each pre-flight rule refuses a push against the real registry, in the
// Operator's words, and nothing is written.
func TestPreflightRulesRefusePush(t *testing.T) {
	comps := func(over map[string]map[string]any) []map[string]any {
		var out []map[string]any
		for _, c := range unmanagedDeps {
			if o, ok := over[c["kind"].(string)]; ok {
				out = append(out, o)
				continue
			}
			out = append(out, c)
		}
		return out
	}
	for _, tc := range []struct {
		name   string
		comps  []map[string]any
		config string
		files  map[string]string
		want   string
	}{
		{"unmanaged route without its fields", comps(map[string]map[string]any{"route": {"kind": "route", "managed": false}, "tls": {"kind": "tls", "managed": false}}),
			strings.Replace(strings.Replace(baseConfig, "SERVER_HOSTNAME: quay.example.com\n", "", 1), "PREFERRED_URL_SCHEME: http\n", "", 1), nil,
			"required component `route` marked as unmanaged, but `configBundleSecret` is missing necessary fields"},
		{"managed tls with unmanaged route", comps(map[string]map[string]any{"route": {"kind": "route", "managed": false}}), baseConfig, nil,
			"managed `tls` requires a managed `route`"},
		{"unmanaged tls with a cert for another host", comps(map[string]map[string]any{"tls": {"kind": "tls", "managed": false}}), baseConfig,
			map[string]string{"ssl.cert": string(testenv.CA().ServerCertPEM), "ssl.key": string(testenv.CA().ServerKeyPEM)},
			"provided certificate pair not valid for host 'quay.example.com'"},
		{"managed postgres with DB_URI", comps(map[string]map[string]any{"postgres": {"kind": "postgres", "managed": true}}), baseConfig, nil,
			"postgres component marked as managed, but `configBundleSecret` contains required fields (DB_URI"},
		{"clairpostgres unmanaged, clair managed, no connstring", comps(map[string]map[string]any{"clairpostgres": {"kind": "clairpostgres", "managed": false}}), baseConfig, nil,
			"clairpostgres is unmanaged while clair is managed"},
		{"overrides on an unmanaged component", comps(map[string]map[string]any{"redis": {"kind": "redis", "managed": false, "overrides": map[string]any{"env": []any{map[string]any{"name": "A", "value": "b"}}}}}), baseConfig, nil,
			"cannot set overrides on unmanaged redis"},
		{"replicas with managed HPA", comps(map[string]map[string]any{"quay": {"kind": "quay", "managed": true, "overrides": map[string]any{"replicas": int64(3)}}}), baseConfig, nil,
			"cannot override replicas with managed HPA"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := setup(t, tc.comps, baseConfig)
			c, ctx, l := e.load(t, testenv.KubeAdmin)
			nb, err := bundle.New([]byte(tc.config), bundle.Limits{})
			if err != nil {
				t.Fatal(err)
			}
			for _, n := range l.Bundle.FileNames() {
				d, _ := l.Bundle.File(n)
				_ = nb.SetFile(n, d)
			}
			for n, d := range tc.files {
				_ = nb.SetFile(n, []byte(d))
			}
			before := e.secrets(t)
			res, err := c.Push(ctx, nb, operator.PushOptions{})
			if operator.KindOf(err) != operator.ErrRefused {
				t.Fatalf("push: %v; problems %v", err, res.Problems)
			}
			var found *problem.Problem
			for i, p := range res.Problems {
				if p.FieldGroup == "Operator" && strings.Contains(p.Message, tc.want) && p.Severity == problem.Error {
					found = &res.Problems[i]
				}
			}
			if found == nil {
				t.Fatalf("no Operator problem %q in %v", tc.want, res.Problems)
			}
			if !strings.Contains(err.Error(), "error(s)") {
				t.Errorf("refusal does not count the errors: %v", err)
			}
			e.sameSecrets(t, before, "a refused push wrote Secrets")
			j, _ := json.Marshal(found)
			if !strings.Contains(string(j), `"FieldGroup":"Operator"`) || !strings.Contains(string(j), `"Tags":[`) {
				t.Errorf("wire shape: %s", j)
			}
		})
	}
}

// Managed groups keep the cluster's values: the editor never writes them.
func TestPushKeepsOperatorOwnedKeys(t *testing.T) {
	e := setup(t, unmanagedDeps, baseConfig)
	c, ctx, l := e.load(t, testenv.KubeAdmin)
	nb := edited(t, l.Bundle, "SERVER_HOSTNAME", "evil.example.com") // route is managed
	nb = edited(t, nb, "REPO_MIRROR_INTERVAL", 60)                   // mirror is managed
	nb = edited(t, nb, "REGISTRY_TITLE", "Edited")
	res, err := c.Push(ctx, nb, operator.PushOptions{})
	if err != nil {
		t.Fatalf("push: %v %v", err, res.Problems)
	}
	if strings.Join(res.Kept, ",") != "SERVER_HOSTNAME,REPO_MIRROR_INTERVAL" {
		t.Errorf("kept %v", res.Kept)
	}
	got, err := c.ReadBundle(ctx, res.Secret)
	if err != nil {
		t.Fatal(err)
	}
	v := got.Config().Value()
	if v["SERVER_HOSTNAME"] != "quay.example.com" || v["REGISTRY_TITLE"] != "Edited" {
		t.Errorf("pushed SERVER_HOSTNAME=%v REGISTRY_TITLE=%v", v["SERVER_HOSTNAME"], v["REGISTRY_TITLE"])
	}
	if _, ok := v["REPO_MIRROR_INTERVAL"]; ok {
		t.Error("a managed key absent from the cluster was pushed")
	}
}
