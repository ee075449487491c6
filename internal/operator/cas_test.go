package operator

import (
	"context"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/quay-tools/config-editor/internal/bundle"
	"github.com/quay-tools/config-editor/internal/testenv"
	"github.com/quay-tools/config-editor/internal/testenv/kubetest"
)

// The registry changes between our read and our update (the Operator
// writes its status): the update is refused with 409, re-read and
// reported; nothing is overwritten.
func TestPushConflictOnConcurrentUpdate(t *testing.T) {
	k := kubetest.Server(t)
	ns := k.Namespace(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	dyn := kubetest.Dynamic(t, k, testenv.KubeAdmin)
	qr := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": APIVersion, "kind": Kind, "metadata": map[string]any{"name": "reg"},
		"spec": map[string]any{"components": []any{
			map[string]any{"kind": "route", "managed": true}, map[string]any{"kind": "tls", "managed": true},
		}},
	}}
	if _, err := dyn.Resource(Resource).Namespace(ns).Create(ctx, qr, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	c, err := Connect(Options{REST: kubetest.Config(k, testenv.KubeAdmin), Namespace: ns, Registry: "reg"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := bundle.New([]byte("REGISTRY_TITLE: x\n"), bundle.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	var rvOperator string
	res, err := c.Push(ctx, b, PushOptions{Force: true, beforeUpdate: func() {
		u, err := dyn.Resource(Resource).Namespace(ns).Get(ctx, "reg", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		_ = unstructured.SetNestedField(u.Object, "3.12.0", "status", "currentVersion")
		u2, err := dyn.Resource(Resource).Namespace(ns).UpdateStatus(ctx, u, metav1.UpdateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		rvOperator = u2.GetResourceVersion()
	}})
	if KindOf(err) != ErrConflict {
		t.Fatalf("push during a concurrent update: %v (%+v)", err, res)
	}
	if !strings.Contains(err.Error(), rvOperator) || !strings.Contains(err.Error(), "nothing was overwritten") {
		t.Errorf("conflict message: %v", err)
	}
	u, err := dyn.Resource(Resource).Namespace(ns).Get(ctx, "reg", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if s, _, _ := unstructured.NestedString(u.Object, "spec", "configBundleSecret"); s != "" {
		t.Errorf("configBundleSecret set to %q despite the conflict", s)
	}
	if v, _, _ := unstructured.NestedString(u.Object, "status", "currentVersion"); v != "3.12.0" {
		t.Errorf("the concurrent change was lost: %q", v)
	}
	// Pushing again now succeeds, reusing the Secret the failed push made.
	res, err = c.Push(ctx, b, PushOptions{Force: true})
	if err != nil || res.Created {
		t.Errorf("second push: %+v %v", res, err)
	}
}
