package editor

import (
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/quay-tools/config-editor/internal/operator"
	"github.com/quay-tools/config-editor/internal/testenv"
	"github.com/quay-tools/config-editor/internal/testenv/kubetest"
)

// TestBrowserOperatorMode is the browser test of Operator mode: a real
// kube-apiserver with a QuayRegistry, the editor in Operator mode on a
// loopback port, a stand-in for the Quay Operator that writes the rollout
// conditions after a push, and tests/browser/operator.test.mjs driving
// Debian's chromium. tests/browser/run.sh runs it (CONFIG_EDITOR_BROWSER=1,
// after npm ci); plain `go test` skips it.
func TestBrowserOperatorMode(t *testing.T) {
	if os.Getenv("CONFIG_EDITOR_BROWSER") != "1" {
		t.Skip("browser test: run tests/browser/run.sh")
	}
	_, file, _, _ := runtime.Caller(0)
	browserDir := filepath.Join(filepath.Dir(file), "..", "..", "tests", "browser")
	if _, err := os.Stat(filepath.Join(browserDir, "node_modules", "playwright-core")); err != nil {
		t.Fatalf("playwright-core is not installed in tests/browser (run.sh runs npm ci): %v", err)
	}
	k := kubetest.Server(t)
	ns := k.Namespace(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	dyn := kubetest.Dynamic(t, k, testenv.KubeAdmin)
	cfgYAML := strings.Replace(strings.Replace(opConfig, "REGISTRY_TITLE: Before", "REGISTRY_TITLE: From the cluster", 1),
		"quay.example.com", "quay.example.test", 1)
	if _, err := kubetest.Clientset(t, k, testenv.KubeAdmin).CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "reg-config-bundle-first", Labels: map[string]string{"quay-registry": "reg"}},
		Data:       map[string][]byte{"config.yaml": []byte(cfgYAML)},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	comps := []any{}
	for _, c := range []string{"postgres", "redis", "objectstorage"} {
		comps = append(comps, map[string]any{"kind": c, "managed": false})
	}
	if _, err := dyn.Resource(operator.Resource).Namespace(ns).Create(ctx, &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": operator.APIVersion, "kind": operator.Kind, "metadata": map[string]any{"name": "reg"},
		"spec": map[string]any{"configBundleSecret": "reg-config-bundle-first", "components": comps},
	}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	c, err := operator.Connect(operator.Options{REST: kubetest.Config(k, testenv.KubeAdmin), Namespace: ns, Registry: "reg"})
	if err != nil {
		t.Fatal(err)
	}
	op, err := NewOperator(ctx, c, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer op.Close()
	const pw = "browser-operator-pw"
	srv, err := New(Config{Password: pw, Operator: op, BundlePath: op.Dir(), ReadOnlyGroups: op.ReadOnlyGroups(),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Version: "browser-test"})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sctx, stop := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(sctx, ln) }()
	defer func() { stop(); <-served }()

	// The Operator's stand-in: after the push, migrations, then healthy.
	simDone := make(chan struct{})
	go func() {
		defer close(simDone)
		for ctx.Err() == nil {
			u, err := dyn.Resource(operator.Resource).Namespace(ns).Get(ctx, "reg", metav1.GetOptions{})
			if err == nil {
				if s, _, _ := unstructured.NestedString(u.Object, "spec", "configBundleSecret"); s != "reg-config-bundle-first" {
					break
				}
			}
			time.Sleep(100 * time.Millisecond)
		}
		set := func(conds ...map[string]any) {
			u, err := dyn.Resource(operator.Resource).Namespace(ns).Get(ctx, "reg", metav1.GetOptions{})
			if err != nil {
				return
			}
			list := []any{}
			for _, c := range conds {
				list = append(list, c)
			}
			_ = unstructured.SetNestedSlice(u.Object, list, "status", "conditions")
			_ = unstructured.SetNestedField(u.Object, "https://quay.example.test", "status", "registryEndpoint")
			_ = unstructured.SetNestedField(u.Object, "3.12.1", "status", "currentVersion")
			_, _ = dyn.Resource(operator.Resource).Namespace(ns).UpdateStatus(ctx, u, metav1.UpdateOptions{})
		}
		set(cond("Available", "False", "MigrationsInProgress", "running database migrations"),
			cond("RolloutBlocked", "False", "ComponentsCreationSuccess", "all objects created/updated successfully"))
		select {
		case <-ctx.Done():
			return
		case <-time.After(4 * time.Second):
		}
		set(cond("Available", "True", "HealthChecksPassing", "all registry component healthchecks passing"),
			cond("RolloutBlocked", "False", "ComponentsCreationSuccess", "all objects created/updated successfully"))
	}()

	cmd := exec.CommandContext(ctx, "node", "--test", "--test-reporter=spec", "operator.test.mjs")
	cmd.Dir = browserDir
	cmd.Env = append(os.Environ(), "OPERATOR_EDITOR_URL=http://"+ln.Addr().String(), "OPERATOR_EDITOR_PASSWORD="+pw)
	out, err := cmd.CombinedOutput()
	t.Logf("node operator.test.mjs:\n%s", out)
	if err != nil {
		t.Fatalf("browser test failed: %v", err)
	}
	if !strings.Contains(string(out), "pass 1") {
		t.Fatal("the browser test did not run (skipped?)")
	}
	<-simDone
	if cur := func() string {
		u, _ := dyn.Resource(operator.Resource).Namespace(ns).Get(ctx, "reg", metav1.GetOptions{})
		s, _, _ := unstructured.NestedString(u.Object, "spec", "configBundleSecret")
		return s
	}(); cur == "reg-config-bundle-first" {
		t.Error("the browser's push did not reach the cluster")
	}
}
