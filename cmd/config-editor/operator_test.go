package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
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

// TestManifestsCommandSeed003: the CLI prints the seed's two manifests and
// the oc command.
func TestManifestsCommandSeed003(t *testing.T) {
	dir := filepath.Join("..", "..", "internal", "operator", "testdata", "seed003")
	code, out, errOut := runCLI(t, "manifests", "-c", filepath.Join(dir, "config.yaml"),
		"--name", "example-registry", "--ns", "quay-enterprise", "--secret", "georep-config-bundle")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, f := range []string{"us.yaml", "eu.yaml"} {
		want, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out, string(want)) {
			t.Errorf("output lacks the seed's %s:\n%s", f, out)
		}
	}
	for _, want := range []string{
		"#   oc create secret generic --from-file config.yaml=./config.yaml georep-config-bundle -n quay-enterprise",
		"one QuayRegistry per cluster", "\n---\n",
		// geo-replication needs TLS certificates in the bundle (seed 003's note)
		"# pre-flight error: required component `tls` marked as unmanaged",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if code, _, errOut := runCLI(t, "manifests"); code != exitUsage || !strings.Contains(errOut, "--from-cluster") {
		t.Errorf("manifests without a bundle: %d %s", code, errOut)
	}
}

// TestOperatorCommands runs push, history (diff, rollback), push --wait
// and manifests --from-cluster against a real kube-apiserver.
func TestOperatorCommands(t *testing.T) {
	k := kubetest.Server(t)
	ns := k.Namespace(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	admin := kubetest.Clientset(t, k, testenv.KubeAdmin)
	dyn := kubetest.Dynamic(t, k, testenv.KubeAdmin)
	if _, err := admin.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "reg-config-bundle-abcde", Labels: map[string]string{"quay-registry": "reg"}},
		Data:       map[string][]byte{"config.yaml": []byte(validConfig)},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	comps := []any{}
	for _, c := range []string{"postgres", "redis", "objectstorage"} {
		comps = append(comps, map[string]any{"kind": c, "managed": false})
	}
	if _, err := dyn.Resource(operator.Resource).Namespace(ns).Create(ctx, &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": operator.APIVersion, "kind": operator.Kind, "metadata": map[string]any{"name": "reg"},
		"spec": map[string]any{"configBundleSecret": "reg-config-bundle-abcde", "components": comps},
	}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	kc := k.KubeconfigFile(t, testenv.KubeAdmin, ns)
	cluster := []string{"--kubeconfig", kc, "--registry", "reg"}
	args := func(a ...string) []string { return append(a, cluster...) }
	current := func() string {
		u, err := dyn.Resource(operator.Resource).Namespace(ns).Get(ctx, "reg", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		s, _, _ := unstructured.NestedString(u.Object, "spec", "configBundleSecret")
		return s
	}

	// push -c DIR
	dir := writeBundle(t, validConfig+"REGISTRY_TITLE: From the CLI\n")
	code, out, errOut := runCLI(t, args("push", "-c", dir)...)
	if code != 0 || !strings.Contains(out, "created Secret "+ns+"/reg-config-bundle-") || !strings.Contains(out, "was reg-config-bundle-abcde") {
		t.Fatalf("push: %d\n%s%s", code, out, errOut)
	}
	pushed := current()
	if pushed == "reg-config-bundle-abcde" {
		t.Fatal("registry not updated")
	}
	// the same again: nothing written
	code, out, _ = runCLI(t, args("push", "-c", dir)...)
	if code != 0 || !strings.Contains(out, "unchanged") {
		t.Errorf("identical push: %d %s", code, out)
	}
	code, out, _ = runCLI(t, args("push", "--from-cluster")...)
	if code != 0 || !strings.Contains(out, "unchanged") {
		t.Errorf("push --from-cluster: %d %s", code, out)
	}
	// an invalid bundle is refused with the count, exit 1
	bad := writeBundle(t, strings.Replace(validConfig, "DB_URI: postgresql://quay:pw@127.0.0.1:1/quay\n", "", 1))
	code, out, errOut = runCLI(t, args("push", "-c", bad)...)
	if code != exitInvalid || !strings.Contains(errOut, "refusing to push: the bundle has") || !strings.Contains(out, "required component `postgres` marked as unmanaged") {
		t.Errorf("refused push: %d\n%s%s", code, out, errOut)
	}
	if current() != pushed {
		t.Error("a refused push changed the registry")
	}

	// history lists both, newest first, the current one starred
	code, out, errOut = runCLI(t, args("history")...)
	if code != 0 {
		t.Fatalf("history: %d %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[2], "*") || !strings.Contains(lines[2], pushed) || !strings.Contains(lines[3], "reg-config-bundle-abcde") || !strings.Contains(lines[2], testenv.KubeAdmin) {
		t.Errorf("history:\n%s", out)
	}
	code, out, _ = runCLI(t, args("history", "diff", "reg-config-bundle-abcde")...)
	if code != 0 || !strings.Contains(out, `+ REGISTRY_TITLE: "From the CLI"`) || strings.Contains(out, "quay:pw@") {
		t.Errorf("history diff: %d\n%s", code, out)
	}
	// rollback, with flags after the subcommand
	code, out, errOut = runCLI(t, append([]string{"history", "rollback", "reg-config-bundle-abcde"}, cluster...)...)
	if code != 0 || !strings.Contains(out, "now uses configBundleSecret reg-config-bundle-abcde") || current() != "reg-config-bundle-abcde" {
		t.Errorf("rollback: %d\n%s%s", code, out, errOut)
	}

	// push --wait: the "Operator" reports migrations, then health.
	setStatus := func(conds ...map[string]any) {
		u, err := dyn.Resource(operator.Resource).Namespace(ns).Get(ctx, "reg", metav1.GetOptions{})
		if err != nil {
			t.Error(err)
			return
		}
		list := []any{}
		for _, c := range conds {
			list = append(list, c)
		}
		_ = unstructured.SetNestedSlice(u.Object, list, "status", "conditions")
		_ = unstructured.SetNestedField(u.Object, "https://quay.example.com", "status", "registryEndpoint")
		_ = unstructured.SetNestedField(u.Object, "3.12.1", "status", "currentVersion")
		if _, err := dyn.Resource(operator.Resource).Namespace(ns).UpdateStatus(ctx, u, metav1.UpdateOptions{}); err != nil {
			t.Error(err)
		}
	}
	cond := func(typ, status, reason string) map[string]any {
		ts := time.Now().UTC().Format(time.RFC3339)
		return map[string]any{"type": typ, "status": status, "reason": reason, "message": reason, "lastUpdateTime": ts, "lastTransitionTime": ts}
	}
	operatorSim := func(final ...map[string]any) chan struct{} {
		done := make(chan struct{})
		go func() {
			defer close(done)
			// wait until the push moved the registry away from the old bundle
			for i := 0; i < 200 && current() == "reg-config-bundle-abcde"; i++ {
				time.Sleep(50 * time.Millisecond)
			}
			setStatus(cond("Available", "False", "MigrationsInProgress"))
			time.Sleep(300 * time.Millisecond)
			setStatus(final...)
		}()
		return done
	}
	done := operatorSim(cond("Available", "True", "HealthChecksPassing"), cond("RolloutBlocked", "False", "ComponentsCreationSuccess"))
	dir2 := writeBundle(t, validConfig+"REGISTRY_TITLE: Waited\n")
	code, out, errOut = runCLI(t, args("push", "-c", dir2, "--wait", "--wait-timeout", "60s")...)
	<-done
	if code != 0 || !strings.Contains(out, "MigrationsInProgress") || !strings.Contains(out, "rollout done") || !strings.Contains(out, "https://quay.example.com") {
		t.Errorf("push --wait: %d\n%s%s", code, out, errOut)
	}
	// roll back and wait for a failure: exit 1 with the Operator's message
	if code, _, errOut := runCLI(t, args("history", "rollback", "reg-config-bundle-abcde")...); code != 0 {
		t.Fatalf("rollback: %s", errOut)
	}
	done = operatorSim(cond("RolloutBlocked", "True", "ConfigInvalid"))
	dir3 := writeBundle(t, validConfig+"REGISTRY_TITLE: Fails\n")
	code, out, errOut = runCLI(t, args("push", "-c", dir3, "--wait", "--wait-timeout", "60s")...)
	<-done
	if code != exitInvalid || !strings.Contains(errOut, "rollout failed: ConfigInvalid") {
		t.Errorf("push --wait, blocked: %d\n%s%s", code, out, errOut)
	}
	// and a timeout is a failure too (the Operator says nothing new)
	setStatus()
	dir4 := writeBundle(t, validConfig+"REGISTRY_TITLE: Slow\n")
	code, _, errOut = runCLI(t, args("push", "-c", dir4, "--wait", "--wait-timeout", "1s")...)
	if code != exitInvalid || !strings.Contains(errOut, "did not settle") {
		t.Errorf("push --wait timeout: %d %s", code, errOut)
	}

	// manifests from the cluster's bundle
	code, out, _ = runCLI(t, args("manifests", "--from-cluster")...)
	if code != 0 || !strings.Contains(out, "name: reg\n  namespace: "+ns) || !strings.Contains(out, "configBundleSecret: "+current()) {
		t.Errorf("manifests --from-cluster: %d\n%s", code, out)
	}

	// editor --operator: the bundle comes from the cluster, the API pushes
	testEditorOperator(t, kc, "Slow")

	// cluster errors exit 3 and say what to fix
	code, _, errOut = runCLI(t, "push", "-c", dir, "--kubeconfig", kc, "--context", "prod", "--registry", "reg")
	if code != exitCluster || !strings.Contains(errOut, `context "prod" does not exist`) {
		t.Errorf("unknown context: %d %s", code, errOut)
	}
	code, _, errOut = runCLI(t, "history", "--kubeconfig", kc, "--registry", "nope")
	if code != exitCluster || !strings.Contains(errOut, "not found") {
		t.Errorf("unknown registry: %d %s", code, errOut)
	}
	if code, _, errOut := runCLI(t, "push", "--kubeconfig", kc, "--registry", "reg"); code != exitUsage || !strings.Contains(errOut, "--from-cluster") {
		t.Errorf("push without a bundle: %d %s", code, errOut)
	}
}

func testEditorOperator(t *testing.T, kc, title string) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	ctx, cancel := context.WithCancel(context.Background())
	var out, errb lockedBuffer
	done := make(chan int)
	go func() {
		done <- run(ctx, []string{"editor", "-p", "pw-operator", "--addr", addr, "--operator", "--kubeconfig", kc, "--registry", "reg"}, &out, &errb)
	}()
	get := func(path string) (int, string) {
		req, _ := http.NewRequest("GET", "http://"+addr+path, nil)
		req.SetBasicAuth("quayconfig", "pw-operator")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if code, _ := get("/healthz"); code == 200 {
			break
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("editor --operator did not start: %s", errb.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	code, body := get("/api/v1/config")
	if code != 200 || !strings.Contains(body, `"REGISTRY_TITLE":"`+title+`"`) {
		t.Errorf("config from the cluster: %d %s", code, body)
	}
	cancel()
	if c := <-done; c != 0 {
		t.Errorf("editor exit %d: %s", c, errb.String())
	}
	// --operator with -c is a usage error; an unknown registry a cluster error
	if code, _, errOut := runCLI(t, "editor", "-p", "pw", "--operator", "-c", "/tmp", "--kubeconfig", kc, "--registry", "reg"); code != exitUsage || !strings.Contains(errOut, "do not give -c") {
		t.Errorf("--operator with -c: %d %s", code, errOut)
	}
	if code, _, errOut := runCLI(t, "editor", "-p", "pw", "--operator", "--kubeconfig", kc, "--registry", "nope"); code != exitCluster || !strings.Contains(errOut, "not found") {
		t.Errorf("--operator, unknown registry: %d %s", code, errOut)
	}
}
