package webhook_test

// End to end against the real kube-apiserver of internal/testenv: the
// shipped ValidatingWebhookConfiguration (deploy/webhook/base/webhook.yaml,
// its selectors and match conditions as they are) pointed at the webhook
// on 127.0.0.1 over TLS with the test CA.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	admissionregv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"

	"github.com/quay-tools/config-editor/internal/operator"
	"github.com/quay-tools/config-editor/internal/testenv"
	"github.com/quay-tools/config-editor/internal/testenv/kubetest"
	"github.com/quay-tools/config-editor/internal/webhook"
)

// warnings collects the Warning headers client-go receives.
type warnings struct {
	mu   sync.Mutex
	list []string
}

func (w *warnings) HandleWarningHeader(_ int, _ string, text string) {
	w.mu.Lock()
	w.list = append(w.list, text)
	w.mu.Unlock()
}

func (w *warnings) take() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := w.list
	w.list = nil
	return out
}

type cluster struct {
	k      *testenv.KubeServer
	ns     string
	admin  kubernetes.Interface // collects warnings in warn
	dyn    dynamic.Interface    // same
	warn   *warnings
	seen   *seen
	cache  *webhook.Cache
	url    string // the webhook's base URL
	stop   func() // stops the webhook server
	vwc    string // name of the ValidatingWebhookConfiguration
	ctx    context.Context
	cancel context.CancelFunc
}

// shippedConfig reads deploy/webhook/base/webhook.yaml.
func shippedConfig(t testing.TB) *admissionregv1.ValidatingWebhookConfiguration {
	t.Helper()
	var vwc admissionregv1.ValidatingWebhookConfiguration
	if err := yaml.UnmarshalStrict(readFile(t, "..", "..", "deploy", "webhook", "base", "webhook.yaml"), &vwc); err != nil {
		t.Fatal(err)
	}
	return &vwc
}

// setup starts the webhook (its QuayRegistry cache synced) and registers
// the shipped configuration, pointed at it, for a fresh namespace labelled
// quay-config-editor/admission=enabled.
func setup(t *testing.T) *cluster {
	t.Helper()
	k := kubetest.Server(t)
	c := &cluster{k: k, ns: k.Namespace(t), warn: &warnings{}, seen: &seen{}}
	c.ctx, c.cancel = context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(c.cancel)
	cfg := kubetest.Config(k, testenv.KubeAdmin)
	cfg.WarningHandler = c.warn
	var err error
	if c.admin, err = kubernetes.NewForConfig(cfg); err != nil {
		t.Fatal(err)
	}
	if c.dyn, err = dynamic.NewForConfig(cfg); err != nil {
		t.Fatal(err)
	}
	if _, err := c.admin.CoreV1().Namespaces().Patch(c.ctx, c.ns, types.MergePatchType,
		[]byte(`{"metadata":{"labels":{"quay-config-editor/admission":"enabled"}}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}

	clients, err := webhook.Connect("", "", kubetest.Config(k, testenv.KubeAdmin))
	if err != nil {
		t.Fatal(err)
	}
	c.cache = webhook.NewCache(clients.Dynamic, c.ns)
	go c.cache.Run(c.ctx)
	if !c.cache.WaitSynced(c.ctx) {
		t.Fatal("QuayRegistry cache never synced")
	}
	srv := &webhook.Server{
		Reviewer: &webhook.Reviewer{Registries: c.cache, GetSecret: clients.SecretGetter(0)},
		Ready:    c.cache.Synced,
	}
	c.url, c.stop = serveTLS(t, c.seen.wrap(srv.Handler()))
	c.register(t, c.url+"/validate", admissionregv1.Ignore)
	c.waitLive(t)
	return c
}

// register creates (or replaces) the shipped configuration, named after the
// namespace, calling url with the test CA, with the given failure policy.
func (c *cluster) register(t *testing.T, url string, policy admissionregv1.FailurePolicyType) {
	t.Helper()
	vwc := shippedConfig(t)
	vwc.Name = "qce-" + c.ns
	for i := range vwc.Webhooks {
		w := &vwc.Webhooks[i]
		if w.FailurePolicy == nil || *w.FailurePolicy != admissionregv1.Ignore {
			t.Fatalf("shipped webhook %s: failurePolicy %v, want Ignore", w.Name, w.FailurePolicy)
		}
		w.FailurePolicy = &policy
		w.ClientConfig = admissionregv1.WebhookClientConfig{URL: &url, CABundle: c.k.CAPEM}
		// The shipped selector, narrowed to this test's namespace so other
		// tests sharing the API server are never affected.
		w.NamespaceSelector.MatchLabels["kubernetes.io/metadata.name"] = c.ns
	}
	api := c.admin.AdmissionregistrationV1().ValidatingWebhookConfigurations()
	if cur, err := api.Get(c.ctx, vwc.Name, metav1.GetOptions{}); err == nil {
		vwc.ResourceVersion = cur.ResourceVersion
		if _, err := api.Update(c.ctx, vwc, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	} else {
		if _, err := api.Create(c.ctx, vwc, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = api.Delete(context.Background(), vwc.Name, metav1.DeleteOptions{}) })
	}
	c.vwc = vwc.Name
}

// waitLive retries a dry-run create of a broken labelled bundle until the
// webhook denies it (the API server picks the configuration up within ms).
func (c *cluster) waitLive(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := c.createSecret(true, "probe", badConfig, map[string]string{operator.LabelBundle: "true"})
		if apierrors.IsForbidden(err) {
			c.warn.take()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the webhook never denied a broken bundle: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (c *cluster) createSecret(dry bool, name, config string, labels map[string]string) error {
	s := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
		Data:       map[string][]byte{},
	}
	if config != "" {
		s.Data["config.yaml"] = []byte(config)
	}
	o := metav1.CreateOptions{}
	if dry {
		o.DryRun = []string{metav1.DryRunAll}
	}
	_, err := c.admin.CoreV1().Secrets(c.ns).Create(c.ctx, s, o)
	return err
}

func (c *cluster) createRegistry(t *testing.T, name, secret string, components []map[string]any) {
	t.Helper()
	comps := []any{}
	for _, m := range components {
		comps = append(comps, m)
	}
	spec := map[string]any{"components": comps}
	if secret != "" {
		spec["configBundleSecret"] = secret
	}
	if _, err := c.dyn.Resource(operator.Resource).Namespace(c.ns).Create(c.ctx, &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": operator.APIVersion, "kind": operator.Kind, "metadata": map[string]any{"name": name}, "spec": spec,
	}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for c.cache.Get(c.ns, name) == nil {
		if time.Now().After(deadline) {
			t.Fatalf("QuayRegistry %s never reached the cache", name)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (c *cluster) switchRegistry(t *testing.T, name, secret string) error {
	t.Helper()
	patch, _ := json.Marshal(map[string]any{"spec": map[string]any{"configBundleSecret": secret}})
	_, err := c.dyn.Resource(operator.Resource).Namespace(c.ns).
		Patch(c.ctx, name, types.MergePatchType, patch, metav1.PatchOptions{})
	return err
}

// unmanaged: the components goodConfig configures itself.
var unmanaged = []map[string]any{
	{"kind": "postgres", "managed": false},
	{"kind": "redis", "managed": false},
	{"kind": "objectstorage", "managed": false},
	{"kind": "route", "managed": true},
	{"kind": "tls", "managed": true},
	{"kind": "clair", "managed": true},
	{"kind": "clairpostgres", "managed": true},
}

func TestLabelledBundleSecrets(t *testing.T) {
	c := setup(t)
	label := map[string]string{operator.LabelBundle: "true"}

	// A broken bundle: denied, the problems in the error client-go shows.
	err := c.createSecret(false, "broken", badConfig, label)
	if !apierrors.IsForbidden(err) {
		t.Fatalf("broken bundle: got %v, want 403 Forbidden from the webhook", err)
	}
	msg := err.Error()
	for _, want := range []string{
		`admission webhook "bundle-secrets.quay-config-editor.io" denied the request`,
		"config bundle Secret " + c.ns + "/broken: 2 error(s), 0 warning(s)",
		"\nDB_URI (config.yaml line 3): DB_URI cannot be parsed as a URI",
		"\nDEFAULT_TAG_EXPIRATION (config.yaml line 20): DEFAULT_TAG_EXPIRATION is not in the expected form",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("denial lacks %q:\n%s", want, msg)
		}
	}
	ws := c.warn.take()
	if len(ws) != 2 || !strings.HasPrefix(ws[0], "error: DB_URI (config.yaml line 3): ") || !strings.HasPrefix(ws[1], "error: DEFAULT_TAG_EXPIRATION") {
		t.Errorf("warnings of the denial: %q", ws)
	}
	if strings.Contains(msg+strings.Join(ws, ""), "dbsecretpw") {
		t.Errorf("the database password leaked:\n%s\n%q", msg, ws)
	}
	if _, err := c.admin.CoreV1().Secrets(c.ns).Get(c.ctx, "broken", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the denied Secret exists: %v", err)
	}

	// A valid one: admitted, nothing to say.
	if err := c.createSecret(false, "good", goodConfig, label); err != nil {
		t.Fatalf("valid bundle refused: %v", err)
	}
	if ws := c.warn.take(); len(ws) != 0 {
		t.Errorf("valid bundle got warnings %q", ws)
	}

	// Warnings only: admitted, the warnings returned.
	if err := c.createSecret(false, "warn", warnConfig, label); err != nil {
		t.Fatalf("warning-only bundle refused: %v", err)
	}
	if ws := c.warn.take(); len(ws) != 1 || !strings.HasPrefix(ws[0], "warning: SECRET_KEY: SECRET_KEY is not set") {
		t.Errorf("warning-only bundle: warnings %q", ws)
	}

	// Updating the good one into a broken one is denied too; a metadata
	// update never reaches the webhook.
	s, err := c.admin.CoreV1().Secrets(c.ns).Get(c.ctx, "good", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	before := c.seen.count("Secret", "good")
	s.Annotations = map[string]string{"touched": "yes"}
	if s, err = c.admin.CoreV1().Secrets(c.ns).Update(c.ctx, s, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("metadata update: %v", err)
	}
	if n := c.seen.count("Secret", "good"); n != before {
		t.Errorf("a metadata-only update reached the webhook (%d → %d requests)", before, n)
	}
	s.Data["config.yaml"] = []byte(badConfig)
	if _, err := c.admin.CoreV1().Secrets(c.ns).Update(c.ctx, s, metav1.UpdateOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("update to a broken bundle: got %v, want denied", err)
	}
	if n := c.seen.count("Secret", "good"); n != before+1 {
		t.Errorf("the data update made %d requests, want 1", n-before)
	}

	// Not a bundle at all.
	err = c.createSecret(false, "empty", "", label)
	if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "is not a config bundle: secret has no config.yaml key") {
		t.Errorf("labelled Secret without config.yaml: %v", err)
	}
}

func TestUnrelatedSecretsNeverReachTheWebhook(t *testing.T) {
	c := setup(t)
	// No label, no config.yaml: the API server never sends it.
	for _, name := range []string{"app-credentials", "tls-pair"} {
		s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name}, StringData: map[string]string{"password": "x", "tls.crt": "y"}}
		if _, err := c.admin.CoreV1().Secrets(c.ns).Create(c.ctx, s, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	// A config.yaml nobody references and without our label reaches it (the
	// name might be referenced) and is admitted unreviewed, however broken.
	if err := c.createSecret(false, "someones-config", badConfig, nil); err != nil {
		t.Fatalf("unreferenced Secret with a config.yaml refused: %v", err)
	}
	if ws := c.warn.take(); len(ws) != 0 {
		t.Errorf("unreferenced Secret got warnings %q", ws)
	}
	// And a Secret in a namespace not labelled for admission never reaches it.
	other := c.k.Namespace(t)
	if _, err := c.admin.CoreV1().Secrets(other).Create(c.ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "bundle-elsewhere", Labels: map[string]string{operator.LabelBundle: "true"}},
		Data:       map[string][]byte{"config.yaml": []byte(badConfig)},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("bundle in an unlabelled namespace refused: %v", err)
	}
	for _, name := range []string{"app-credentials", "tls-pair", "bundle-elsewhere"} {
		if n := c.seen.count("", name); n != 0 {
			t.Errorf("%s reached the webhook %d time(s)", name, n)
		}
	}
	if n := c.seen.count("Secret", "someones-config"); n != 1 {
		t.Errorf("someones-config reached the webhook %d time(s), want 1", n)
	}
}

func TestRegistryBundleSecrets(t *testing.T) {
	c := setup(t)
	// An unlabelled Secret that a QuayRegistry names: found through the
	// informer cache, reviewed with the registry's pre-flight rules. The
	// registry leaves postgres unmanaged, so a bundle without DB_URI is
	// broken in the Operator's words.
	c.createRegistry(t, "example-registry", "init-config-bundle-secret", unmanaged)
	noDB := replaceLine(goodConfig, "DB_URI: ", "")
	err := c.createSecret(false, "init-config-bundle-secret", noDB, nil)
	if !apierrors.IsForbidden(err) {
		t.Fatalf("referenced broken bundle: got %v, want denied", err)
	}
	for _, want := range []string{
		`admission webhook "registry-secrets.quay-config-editor.io" denied the request`,
		"Operator's pre-flight for QuayRegistry example-registry",
		"spec.components.postgres: required component `postgres` marked as unmanaged, but `configBundleSecret` is missing necessary fields (DB_CONNECTION_ARGS, DB_CONNECTION_POOLING, DB_URI)",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("denial lacks %q:\n%v", want, err)
		}
	}
	c.warn.take()
	if err := c.createSecret(false, "init-config-bundle-secret", goodConfig, nil); err != nil {
		t.Fatalf("referenced valid bundle refused: %v", err)
	}

	// The Operator's label names the registry: its rules apply. With the
	// registry managing postgres, a DB_URI in the bundle is the error.
	c.createRegistry(t, "managed-registry", "", []map[string]any{{"kind": "postgres", "managed": true}})
	err = c.createSecret(false, "managed-registry-config-bundle-x", goodConfig, map[string]string{operator.LabelRegistry: "managed-registry"})
	if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "postgres component marked as managed, but `configBundleSecret` contains required fields (DB_URI)") {
		t.Errorf("bundle of a registry managing postgres: %v", err)
	}
	c.warn.take()

	// Switching a registry to another Secret reviews that Secret (one
	// bounded Get) against the registry.
	if err := c.createSecret(false, "next-bundle", noDB, nil); err != nil {
		t.Fatalf("unreferenced Secret refused: %v", err) // nobody references it yet
	}
	err = c.switchRegistry(t, "example-registry", "next-bundle")
	if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), `admission webhook "quayregistries.quay-config-editor.io" denied the request`) ||
		!strings.Contains(err.Error(), "QuayRegistry "+c.ns+"/example-registry: configBundleSecret next-bundle: ") {
		t.Errorf("switch to a broken bundle: %v", err)
	}
	c.warn.take()
	if err := c.createSecret(false, "fine-bundle", warnConfig, nil); err != nil {
		t.Fatal(err)
	}
	if err := c.switchRegistry(t, "example-registry", "fine-bundle"); err != nil {
		t.Errorf("switch to a valid bundle: %v", err)
	}
	if ws := c.warn.take(); len(ws) != 1 || !strings.Contains(ws[0], "SECRET_KEY is not set") {
		t.Errorf("switch to a warning-only bundle: warnings %q", ws)
	}
	// A Secret that does not exist (yet): admitted with a warning.
	if err := c.switchRegistry(t, "example-registry", "not-yet"); err != nil {
		t.Errorf("switch to a missing Secret: %v", err)
	}
	if ws := c.warn.take(); len(ws) != 1 || !strings.Contains(ws[0], "configBundleSecret not-yet does not exist (yet)") {
		t.Errorf("switch to a missing Secret: warnings %q", ws)
	}
	// Other registry updates never reach the webhook.
	before := c.seen.count(operator.Kind, "example-registry")
	if _, err := c.dyn.Resource(operator.Resource).Namespace(c.ns).Patch(c.ctx, "example-registry",
		types.MergePatchType, []byte(`{"metadata":{"labels":{"x":"y"}}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	if n := c.seen.count(operator.Kind, "example-registry"); n != before {
		t.Errorf("a label change of the QuayRegistry reached the webhook")
	}
}

func TestFailurePolicy(t *testing.T) {
	c := setup(t)
	// The webhook goes away: a loopback port nobody listens on.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := "https://" + l.Addr().String() + "/validate"
	_ = l.Close()
	c.stop()

	// Fail first, so we know the API server uses the new configuration…
	c.register(t, down, admissionregv1.Fail)
	deadline := time.Now().Add(30 * time.Second)
	for i := 0; ; i++ {
		err := c.createSecret(true, fmt.Sprintf("probe-%d", i), goodConfig, map[string]string{operator.LabelBundle: "true"})
		var se apierrors.APIStatus
		if err != nil && errors.As(err, &se) && strings.Contains(err.Error(), "failed calling webhook") {
			t.Logf("failurePolicy Fail, webhook down: %v", err)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("failurePolicy Fail with the webhook down never refused: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// …then the shipped Ignore: a broken bundle is admitted.
	c.register(t, down, admissionregv1.Ignore)
	deadline = time.Now().Add(30 * time.Second)
	for i := 0; ; i++ {
		err := c.createSecret(false, fmt.Sprintf("admitted-%d", i), badConfig, map[string]string{operator.LabelBundle: "true"})
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("failurePolicy Ignore with the webhook down still refuses: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestKubectlShowsProblems: the README's hand-editing workflow. `kubectl
// replace` of an edited, labelled bundle Secret prints each problem as a
// Warning and the denial with one line per problem; nothing changes.
func TestKubectlShowsProblems(t *testing.T) {
	kubectl := testenv.Kubectl(t)
	c := setup(t)
	c.createRegistry(t, "example-registry", "init-config-bundle-secret", unmanaged)
	if err := c.createSecret(false, "init-config-bundle-secret", goodConfig, nil); err != nil {
		t.Fatal(err)
	}
	s, err := c.admin.CoreV1().Secrets(c.ns).Get(c.ctx, "init-config-bundle-secret", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s.Data["config.yaml"] = []byte(badConfig)
	s.Labels = map[string]string{operator.LabelBundle: "true"}
	s.APIVersion, s.Kind = "v1", "Secret"
	edited, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	before := c.seen.count("Secret", "init-config-bundle-secret")
	cmd := exec.CommandContext(c.ctx, kubectl, "--kubeconfig", c.k.KubeconfigFile(t, testenv.KubeAdmin, c.ns), "replace", "-f", "-")
	cmd.Stdin = bytes.NewReader(edited)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err == nil {
		t.Fatalf("kubectl replace of a broken bundle succeeded: %s", out.String())
	}
	got := errb.String()
	t.Logf("kubectl replace:\n%s", got)
	// The label is added by this update: the old object matches one
	// webhook's objectSelector, the new one the other's; exactly one reviews.
	if n := c.seen.count("Secret", "init-config-bundle-secret") - before; n != 1 {
		t.Errorf("the replace was reviewed %d times, want 1", n)
	}
	for _, want := range []string{
		"Warning: error: DB_URI (config.yaml line 3): DB_URI cannot be parsed as a URI",
		"Warning: error: DEFAULT_TAG_EXPIRATION (config.yaml line 20): ",
		`Error from server (Forbidden): error when replacing "STDIN": admission webhook "bundle-secrets.quay-config-editor.io" denied the request: ` +
			"config bundle Secret " + c.ns + "/init-config-bundle-secret: 2 error(s), 0 warning(s) (config-editor offline validation and the Operator's pre-flight for QuayRegistry example-registry)\n" +
			"DB_URI (config.yaml line 3): DB_URI cannot be parsed as a URI",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("kubectl output lacks %q", want)
		}
	}
	if strings.Contains(got, "dbsecretpw") {
		t.Error("kubectl output shows the database password")
	}
	now, err := c.admin.CoreV1().Secrets(c.ns).Get(c.ctx, "init-config-bundle-secret", metav1.GetOptions{})
	if err != nil || string(now.Data["config.yaml"]) != goodConfig {
		t.Errorf("the Secret changed: %v", err)
	}
}
