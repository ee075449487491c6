package kubetest_test

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/quay-tools/config-editor/internal/testenv"
	"github.com/quay-tools/config-editor/internal/testenv/kubetest"
)

func TestMain(m *testing.M) { testenv.Main(m) }

var qrResource = schema.GroupVersionResource{Group: "quay.redhat.com", Version: "v1", Resource: "quayregistries"}

func TestKubeServerAndCRD(t *testing.T) {
	start := time.Now()
	k := kubetest.Server(t)
	t.Logf("etcd + kube-apiserver + CRD ready in %s", time.Since(start).Round(time.Millisecond))
	if k.Version != testenv.KubeVersion {
		t.Errorf("kube-apiserver reports %q, want %q", k.Version, testenv.KubeVersion)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ns := k.Namespace(t)

	// The admin (system:masters) can do anything.
	admin := kubetest.Clientset(t, k, testenv.KubeAdmin)
	if _, err := admin.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "s1"}, Data: map[string][]byte{"config.yaml": []byte("A: 1\n")},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("admin create secret: %v", err)
	}

	// The limited user can do nothing until granted, then exactly that.
	editor := kubetest.Clientset(t, k, testenv.KubeEditor)
	if _, err := editor.CoreV1().Secrets(ns).Get(ctx, "s1", metav1.GetOptions{}); !apierrors.IsForbidden(err) {
		t.Fatalf("editor get secret before grant: %v, want Forbidden", err)
	}
	k.Grant(t, ns, testenv.KubeEditor, `[{"apiGroups":[""],"resources":["secrets"],"verbs":["get"]}]`)
	waitAllowed(t, func() error {
		_, err := editor.CoreV1().Secrets(ns).Get(ctx, "s1", metav1.GetOptions{})
		return err
	})
	if _, err := editor.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("editor list secrets (not granted): %v, want Forbidden", err)
	}
	// Another namespace stays closed.
	other := k.Namespace(t)
	if _, err := editor.CoreV1().Secrets(other).Get(ctx, "s1", metav1.GetOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("editor in another namespace: %v, want Forbidden", err)
	}

	// The CRD is served: a QuayRegistry round-trips, status is a subresource.
	dc := kubetest.Dynamic(t, k, testenv.KubeAdmin)
	qr := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "quay.redhat.com/v1", "kind": "QuayRegistry",
		"metadata": map[string]any{"name": "example-registry"},
		"spec": map[string]any{
			"configBundleSecret": "s1",
			"components": []any{
				map[string]any{"kind": "quay", "managed": true, "overrides": map[string]any{
					"env": []any{map[string]any{"name": "QUAY_DISTRIBUTED_STORAGE_PREFERENCE", "value": "usstorage"}}}},
				map[string]any{"kind": "route", "managed": false},
			},
		},
	}}
	created, err := dc.Resource(qrResource).Namespace(ns).Create(ctx, qr, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create QuayRegistry: %v", err)
	}
	if v, _, _ := unstructured.NestedString(created.Object, "spec", "configBundleSecret"); v != "s1" {
		t.Errorf("configBundleSecret = %q", v)
	}
	bad := qr.DeepCopy()
	bad.SetName("bad")
	_ = unstructured.SetNestedSlice(bad.Object, []any{map[string]any{"kind": "nosuchcomponent", "managed": true}}, "spec", "components")
	if _, err := dc.Resource(qrResource).Namespace(ns).Create(ctx, bad, metav1.CreateOptions{}); !apierrors.IsInvalid(err) {
		t.Errorf("unknown component kind: %v, want Invalid", err)
	}

	// A kubeconfig file works with clientcmd, for the admin context.
	path := k.KubeconfigFile(t, testenv.KubeAdmin, ns)
	cfg, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		t.Fatalf("kubeconfig: %v", err)
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	sv, err := cs.Discovery().ServerVersion()
	if err != nil {
		t.Fatalf("server version through kubeconfig: %v", err)
	}
	t.Logf("server version through the kubeconfig: %s", sv.GitVersion)
}

// waitAllowed retries while RBAC has not yet seen a new binding (the
// authorizer's informer lags the write by milliseconds).
func waitAllowed(t *testing.T, f func() error) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := f()
		if err == nil {
			return
		}
		if !apierrors.IsForbidden(err) || time.Now().After(deadline) {
			t.Fatalf("not allowed after grant: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
