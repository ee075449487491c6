// Package kubetest gives client-go access to the test Kubernetes API server
// of [testenv.Kube]: rest.Configs per user, clients, and the QuayRegistry
// CRD installed and Established. It lives apart from testenv so that only
// the tests that talk to Kubernetes link client-go.
package kubetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/yaml"

	"github.com/quay-tools/config-editor/internal/testenv"
	"github.com/quay-tools/config-editor/schemas"
)

// CRDResource is the resource of CustomResourceDefinitions.
var CRDResource = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

// QuayRegistryCRDName is the name of the QuayRegistry CRD.
const QuayRegistryCRDName = "quayregistries.quay.redhat.com"

// Config returns a rest.Config for user (testenv.KubeAdmin, KubeEditor,
// KubeViewer) that verifies the server against the test CA.
func Config(k *testenv.KubeServer, user string) *rest.Config {
	return &rest.Config{
		Host:            k.URL,
		BearerToken:     k.Token(user),
		TLSClientConfig: rest.TLSClientConfig{CAData: k.CAPEM},
		Timeout:         30 * time.Second,
		UserAgent:       "config-editor-tests",
	}
}

// Clientset returns a typed clientset for user.
func Clientset(t testing.TB, k *testenv.KubeServer, user string) kubernetes.Interface {
	t.Helper()
	cs, err := kubernetes.NewForConfig(Config(k, user))
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// Dynamic returns a dynamic client for user.
func Dynamic(t testing.TB, k *testenv.KubeServer, user string) dynamic.Interface {
	t.Helper()
	dc, err := dynamic.NewForConfig(Config(k, user))
	if err != nil {
		t.Fatal(err)
	}
	return dc
}

var (
	crdMu   sync.Mutex
	crdDone = map[string]bool{} // by server URL
)

// Server returns the shared test API server with the QuayRegistry CRD
// (schemas/quayregistry.crd.yaml) installed and Established. It logs the
// kube-apiserver version.
func Server(t testing.TB) *testenv.KubeServer {
	t.Helper()
	k := testenv.Kube(t)
	t.Logf("kube-apiserver %s at %s", k.Version, k.URL)
	crdMu.Lock()
	defer crdMu.Unlock()
	if crdDone[k.URL] {
		return k
	}
	start := time.Now()
	if err := InstallCRD(context.Background(), Dynamic(t, k, testenv.KubeAdmin), schemas.QuayRegistryCRD); err != nil {
		t.Fatalf("kubetest: %v", err)
	}
	t.Logf("QuayRegistry CRD Established in %s", time.Since(start).Round(time.Millisecond))
	crdDone[k.URL] = true
	return k
}

// InstallCRD creates (or updates) a CRD from its YAML and waits until it
// is Established.
func InstallCRD(ctx context.Context, dc dynamic.Interface, crdYAML []byte) error {
	var obj map[string]any
	if err := yaml.Unmarshal(crdYAML, &obj); err != nil {
		return fmt.Errorf("CRD YAML: %w", err)
	}
	u := &unstructured.Unstructured{Object: obj}
	name := u.GetName()
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	crds := dc.Resource(CRDResource)
	if _, err := crds.Create(ctx, u, metav1.CreateOptions{}); apierrors.IsAlreadyExists(err) {
		cur, gerr := crds.Get(ctx, name, metav1.GetOptions{})
		if gerr != nil {
			return gerr
		}
		u.SetResourceVersion(cur.GetResourceVersion())
		if _, err := crds.Update(ctx, u, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("update CRD %s: %w", name, err)
		}
	} else if err != nil {
		return fmt.Errorf("create CRD %s: %w", name, err)
	}
	for {
		cur, err := crds.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return fmt.Errorf("get CRD %s: %w", name, err)
		}
		if Established(cur) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("CRD %s not Established: %w", name, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Established reports whether a CRD object has condition Established=True.
func Established(crd *unstructured.Unstructured) bool {
	conds, _, _ := unstructured.NestedSlice(crd.Object, "status", "conditions")
	for _, c := range conds {
		m, _ := c.(map[string]any)
		if m["type"] == "Established" && m["status"] == "True" {
			return true
		}
	}
	return false
}
