package operator_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	authzv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes"

	"github.com/quay-tools/config-editor/internal/operator"
	"github.com/quay-tools/config-editor/internal/testenv"
	"github.com/quay-tools/config-editor/internal/testenv/kubetest"
)

// TestDeployManifests applies deploy/ (the base, then the OpenShift
// overlay) to the test kube-apiserver with `kubectl apply --server-side -k`
// and then works as the deployed ServiceAccount: the Role must allow
// everything the editor does, and nothing more.
func TestDeployManifests(t *testing.T) {
	kubectl := testenv.Kubectl(t)
	k := kubetest.Server(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	route, err := os.ReadFile(filepath.Join("testdata", "route-crd.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := kubetest.InstallCRD(ctx, kubetest.Dynamic(t, k, testenv.KubeAdmin), route); err != nil {
		t.Fatal(err)
	}
	ns := k.Namespace(t)
	kc := k.KubeconfigFile(t, testenv.KubeAdmin, ns)
	deploy, err := filepath.Abs(filepath.Join("..", "..", "deploy"))
	if err != nil {
		t.Fatal(err)
	}
	apply := func(dir string) string {
		t.Helper()
		return kubetest.ApplyKustomize(ctx, t, kubectl, kc, dir)
	}
	base := apply(filepath.Join(deploy, "base"))
	for _, want := range []string{"serviceaccount/example-registry-quay-config-editor", "role.rbac.authorization.k8s.io/example-registry-quay-config-editor",
		"rolebinding.rbac.authorization.k8s.io/example-registry-quay-config-editor", "deployment.apps/example-registry-quay-config-editor",
		"service/example-registry-quay-config-editor"} {
		if !strings.Contains(base, want+" serverside-applied") {
			t.Errorf("base did not apply %s", want)
		}
	}
	over := apply(filepath.Join(deploy, "overlays", "openshift"))
	if !strings.Contains(over, "route.route.openshift.io/quay-config-editor serverside-applied") {
		t.Errorf("overlay did not apply the Route:\n%s", over)
	}
	apply(filepath.Join(deploy, "overlays", "openshift")) // idempotent

	admin := kubetest.Clientset(t, k, testenv.KubeAdmin)
	name := "example-registry-quay-config-editor"
	dep, err := admin.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]corev1.EnvVar{}
	for _, e := range dep.Spec.Template.Spec.Containers[0].Env {
		env[e.Name] = e
	}
	if env["MY_POD_NAME"].ValueFrom == nil || env["MY_POD_NAME"].ValueFrom.FieldRef.FieldPath != "metadata.name" ||
		env["MY_POD_NAMESPACE"].ValueFrom == nil || env["CONFIG_TOOL_PUBLIC_KEY"].Value != "/tls/tls.crt" ||
		dep.Spec.Template.Spec.ServiceAccountName != name {
		t.Errorf("deployment env/serviceAccount: %+v %s", env, dep.Spec.Template.Spec.ServiceAccountName)
	}
	if args := strings.Join(dep.Spec.Template.Spec.Containers[0].Args, " "); !strings.Contains(args, "editor --operator") {
		t.Errorf("deployment args %q", args)
	}
	svc, err := admin.CoreV1().Services(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil || svc.Annotations["service.beta.openshift.io/serving-cert-secret-name"] == "" {
		t.Errorf("service: %v %v", err, svc.Annotations)
	}
	rt, err := kubetest.Dynamic(t, k, testenv.KubeAdmin).Resource(schema.GroupVersionResource{Group: "route.openshift.io", Version: "v1", Resource: "routes"}).
		Namespace(ns).Get(ctx, "quay-config-editor", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if to, _, _ := unstructured.NestedString(rt.Object, "spec", "to", "name"); to != name {
		t.Errorf("route points to %q, want the prefixed Service %q", to, name)
	}

	// Work as the ServiceAccount, in its pod's environment.
	cfg := kubetest.ServiceAccountConfig(ctx, t, k, admin, ns, name)
	c, err := operator.Connect(operator.Options{REST: cfg, Getenv: envOf(map[string]string{
		"MY_POD_NAME": name + "-5f646cbcb7-lbnc2", "MY_POD_NAMESPACE": ns,
	})})
	if err != nil {
		t.Fatal(err)
	}
	if c.Registry != "example-registry" || c.Namespace != ns {
		t.Fatalf("registry from the pod: %s/%s", c.Namespace, c.Registry)
	}
	if who := c.WhoAmI(ctx); who != "system:serviceaccount:"+ns+":"+name {
		t.Errorf("WhoAmI = %q", who)
	}
	missing, err := c.Missing(ctx)
	if err != nil || len(missing) != 0 {
		t.Errorf("the deployed Role lacks %v (%v)", missing, err)
	}
	sa, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, ra := range []authzv1.ResourceAttributes{
		{Namespace: ns, Verb: "update", Resource: "secrets"},
		{Namespace: ns, Verb: "patch", Resource: "secrets"},
		{Namespace: ns, Verb: "delete", Group: "quay.redhat.com", Resource: "quayregistries"},
		{Namespace: ns, Verb: "create", Group: "quay.redhat.com", Resource: "quayregistries"},
		{Namespace: ns, Verb: "list", Resource: "pods"},
		{Namespace: "default", Verb: "get", Resource: "secrets"},
	} {
		if kubetest.Allowed(ctx, t, sa, ra) {
			t.Errorf("the deployed Role allows more than needed: %s %s/%s in %s", ra.Verb, ra.Group, ra.Resource, ra.Namespace)
		}
	}

	// A QuayRegistry next to it: load, push, history, rollback, GC and
	// watch all work with the Role's permissions.
	if _, err := admin.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "example-registry-config-bundle-kt55s", Labels: map[string]string{"quay-registry": "example-registry"}},
		Data:       map[string][]byte{"config.yaml": []byte(baseConfig)},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	comps := []any{}
	for _, m := range unmanagedDeps {
		comps = append(comps, m)
	}
	if _, err := kubetest.Dynamic(t, k, testenv.KubeAdmin).Resource(operator.Resource).Namespace(ns).Create(ctx, &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": operator.APIVersion, "kind": operator.Kind, "metadata": map[string]any{"name": "example-registry"},
		"spec": map[string]any{"configBundleSecret": "example-registry-config-bundle-kt55s", "components": comps},
	}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	l, err := c.Load(ctx)
	if err != nil {
		t.Fatalf("load as the ServiceAccount: %v", err)
	}
	var last string
	for i := 0; i < 3; i++ {
		b := l.Bundle.Clone()
		if err := b.Config().Set([]string{"REGISTRY_TITLE"}, "deployed "+string(rune('a'+i))); err != nil {
			t.Fatal(err)
		}
		res, err := c.Push(ctx, b, operator.PushOptions{Keep: 1})
		if err != nil {
			t.Fatalf("push %d as the ServiceAccount: %v", i, err)
		}
		if i == 2 && len(res.Deleted) == 0 {
			t.Error("GC deleted nothing as the ServiceAccount")
		}
		last = res.Secret
	}
	hist, _, err := c.History(ctx)
	if err != nil || len(hist) < 2 || hist[0].Secret != last || hist[0].PushedBy != "system:serviceaccount:"+ns+":"+name {
		t.Errorf("history as the ServiceAccount: %v %+v", err, hist)
	}
	if _, err := c.Rollback(ctx, "example-registry-config-bundle-kt55s", operator.PushOptions{}); err != nil {
		t.Errorf("rollback as the ServiceAccount: %v", err)
	}
	wctx, wcancel := context.WithTimeout(ctx, time.Second)
	_, err = c.Watch(wctx, operator.Baseline{At: time.Now()}, nil)
	wcancel()
	if operator.KindOf(err) == operator.ErrForbidden {
		t.Errorf("watch as the ServiceAccount: %v", err)
	}
}
