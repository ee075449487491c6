package operator_test

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quay-tools/config-editor/internal/operator"
	"github.com/quay-tools/config-editor/internal/testenv"
	"github.com/quay-tools/config-editor/internal/testenv/kubetest"
)

func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestConnectFromKubeconfigAndPod(t *testing.T) {
	e := setup(t, unmanagedDeps, baseConfig)
	path := e.k.KubeconfigFile(t, testenv.KubeAdmin, e.ns)

	// --kubeconfig + --registry, the namespace from the context.
	c, err := operator.Connect(operator.Options{Kubeconfig: path, Registry: registry, Getenv: envOf(nil)})
	if err != nil {
		t.Fatal(err)
	}
	if c.Namespace != e.ns || !strings.Contains(c.Where, "context admin") {
		t.Errorf("namespace %q where %q", c.Namespace, c.Where)
	}
	if _, err := c.Check(ctxT(t)); err != nil {
		t.Errorf("check via kubeconfig: %v", err)
	}

	// KUBECONFIG, --context, and the registry derived from the pod name.
	c, err = operator.Connect(operator.Options{Context: testenv.KubeAdmin, Getenv: envOf(map[string]string{
		"KUBECONFIG": path, "MY_POD_NAMESPACE": e.ns, "MY_POD_NAME": registry + "-quay-config-editor-5f646cbcb7-lbnc2",
	})})
	if err != nil {
		t.Fatal(err)
	}
	if c.Registry != registry || c.Namespace != e.ns {
		t.Errorf("from the pod: %s/%s", c.Namespace, c.Registry)
	}
	if _, err := c.Load(ctxT(t)); err != nil {
		t.Errorf("load via KUBECONFIG: %v", err)
	}

	// A pod name without the suffix cannot name a registry.
	_, err = operator.Connect(operator.Options{Kubeconfig: path, Getenv: envOf(map[string]string{"MY_POD_NAME": "some-pod-123"})})
	if operator.KindOf(err) != operator.ErrConfig || !strings.Contains(err.Error(), "--registry") {
		t.Errorf("bad pod name: %v", err)
	}
	// No registry at all.
	_, err = operator.Connect(operator.Options{Kubeconfig: path, Getenv: envOf(nil)})
	if operator.KindOf(err) != operator.ErrConfig || !strings.Contains(err.Error(), "--registry") {
		t.Errorf("no registry: %v", err)
	}
}

func TestConnectWrongContext(t *testing.T) {
	k := kubetest.Server(t)
	path := k.KubeconfigFile(t, testenv.KubeAdmin, "")
	_, err := operator.Connect(operator.Options{Kubeconfig: path, Context: "prod", Namespace: "ns", Registry: "r", Getenv: envOf(nil)})
	if operator.KindOf(err) != operator.ErrConfig {
		t.Fatalf("unknown context: %v", err)
	}
	for _, want := range []string{`"prod" does not exist`, "admin, editor, viewer", "--context"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q does not say %q", err, want)
		}
	}
	// A context of a cluster without the Quay Operator: the CRD is missing.
	other := testenv.KubePrivate(t)
	t.Logf("second kube-apiserver %s", other.Version)
	opath := other.KubeconfigFile(t, testenv.KubeAdmin, "default")
	c, err := operator.Connect(operator.Options{Kubeconfig: opath, Registry: registry, Getenv: envOf(nil)})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Check(ctxT(t))
	if operator.KindOf(err) != operator.ErrNoCRD {
		t.Fatalf("cluster without the CRD: %v", err)
	}
	for _, want := range []string{"does not serve quay.redhat.com/v1 QuayRegistry", "Quay Operator", "--context"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q does not say %q", err, want)
		}
	}
	// No kubeconfig at all.
	empty := filepath.Join(t.TempDir(), "empty")
	if err := os.WriteFile(empty, []byte("apiVersion: v1\nkind: Config\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = operator.Connect(operator.Options{Kubeconfig: empty, Registry: "r", Namespace: "n", Getenv: envOf(nil)})
	if operator.KindOf(err) != operator.ErrConfig || !strings.Contains(err.Error(), "no contexts") {
		t.Errorf("empty kubeconfig: %v", err)
	}
}

func TestConnectErrors(t *testing.T) {
	e := setup(t, unmanagedDeps, baseConfig)
	ctx := ctxT(t)

	// RBAC: the viewer may do nothing here.
	c := e.client(t, testenv.KubeViewer)
	_, err := c.Load(ctx)
	if operator.KindOf(err) != operator.ErrForbidden {
		t.Fatalf("viewer: %v", err)
	}
	for _, want := range []string{`"viewer"`, "quayregistries", "deploy/base/role.yaml", e.ns} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q does not say %q", err, want)
		}
	}

	// Rejected credentials.
	cfg := kubetest.Config(e.k, testenv.KubeAdmin)
	cfg.BearerToken = "not-a-token"
	c, err = operator.Connect(operator.Options{REST: cfg, Namespace: e.ns, Registry: registry})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Check(ctx); operator.KindOf(err) != operator.ErrUnauthorized || !strings.Contains(err.Error(), "401") {
		t.Errorf("bad token: %v", err)
	}

	// A registry that does not exist: the message lists the ones that do.
	c, err = operator.Connect(operator.Options{REST: kubetest.Config(e.k, testenv.KubeAdmin), Namespace: e.ns, Registry: "nope"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Check(ctx); operator.KindOf(err) != operator.ErrNotFound || !strings.Contains(err.Error(), registry) {
		t.Errorf("missing registry: %v", err)
	}

	// A closed port: refused at once.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	_ = l.Close()
	cfg = kubetest.Config(e.k, testenv.KubeAdmin)
	cfg.Host = "https://" + closed
	c, err = operator.Connect(operator.Options{REST: cfg, Namespace: e.ns, Registry: registry, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Check(ctx); operator.KindOf(err) != operator.ErrUnreachable || !strings.Contains(err.Error(), "refused") {
		t.Errorf("closed port: %v", err)
	}

	// An API server that accepts and never answers: bounded by the timeout.
	cfg.Host = "https://" + testenv.Blackhole(t)
	c, err = operator.Connect(operator.Options{REST: cfg, Namespace: e.ns, Registry: registry, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = c.Check(ctx)
	took := time.Since(start)
	if operator.KindOf(err) != operator.ErrUnreachable || !strings.Contains(err.Error(), "cannot reach the Kubernetes API server") {
		t.Errorf("blackhole: %v", err)
	}
	t.Logf("blackhole API server reported after %s (timeout 1s): %v", took.Round(time.Millisecond), err)
	if took > 20*time.Second {
		t.Errorf("the 1s timeout did not bound the check (%s)", took)
	}
}
