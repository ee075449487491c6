package operator

import (
	"context"
	"encoding/json"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
)

// The few built-in resources config-editor talks to go through the dynamic
// client (and, for discovery, a plain REST client) rather than the typed
// clientset k8s.io/client-go/kubernetes: that one links every API group of
// k8s.io/api and registers them all in kubernetes/scheme at start, which
// cost every command — `validate` included — about 12 MB of binary and
// 30 MB of resident memory. Secrets are decoded into [Secret], not
// k8s.io/api/core/v1's: that package alone is 1.8 MB of code, registered
// at start, for the one type we use.

// Built-in resources used by the Operator and webhook modes.
var (
	SecretResource                   = schema.GroupVersionResource{Version: "v1", Resource: "secrets"}
	selfSubjectReviewResource        = schema.GroupVersionResource{Group: "authentication.k8s.io", Version: "v1", Resource: "selfsubjectreviews"}
	selfSubjectAccessReviewsResource = schema.GroupVersionResource{Group: "authorization.k8s.io", Version: "v1", Resource: "selfsubjectaccessreviews"}
)

// Secret is the part of a core/v1 Secret config-editor reads and writes,
// with the same JSON names.
type Secret struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Immutable         *bool             `json:"immutable,omitempty"`
	Data              map[string][]byte `json:"data,omitempty"`
	Type              string            `json:"type,omitempty"`
}

// SecretTypeOpaque is the type of the bundle Secrets config-editor writes.
const SecretTypeOpaque = "Opaque"

// NewDynamic returns a dynamic client and a REST client (for discovery
// paths such as /version) for cfg, sharing one HTTP client.
func NewDynamic(cfg *rest.Config) (dynamic.Interface, rest.Interface, error) {
	dcfg := dynamic.ConfigFor(cfg)
	hc, err := rest.HTTPClientFor(dcfg)
	if err != nil {
		return nil, nil, err
	}
	dyn, err := dynamic.NewForConfigAndClient(dcfg, hc)
	if err != nil {
		return nil, nil, err
	}
	dcfg.GroupVersion = nil
	dcfg.APIPath = ""
	rc, err := rest.UnversionedRESTClientForConfigAndClient(dcfg, hc)
	if err != nil {
		return nil, nil, err
	}
	return dyn, rc, nil
}

// GetSecret reads one Secret with the dynamic client.
func GetSecret(ctx context.Context, dyn dynamic.Interface, namespace, name string) (*Secret, error) {
	u, err := dyn.Resource(SecretResource).Namespace(namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	return SecretFromUnstructured(u.Object)
}

// SecretFromUnstructured decodes an unstructured Secret (data values are
// base64 strings, as on the wire).
func SecretFromUnstructured(obj map[string]any) (*Secret, error) {
	var s Secret
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(obj, &s); err != nil {
		return nil, fmt.Errorf("decode Secret: %w", err)
	}
	return &s, nil
}

func listSecrets(ctx context.Context, dyn dynamic.Interface, namespace, selector string) ([]Secret, error) {
	l, err := dyn.Resource(SecretResource).Namespace(namespace).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return nil, err
	}
	out := make([]Secret, 0, len(l.Items))
	for i := range l.Items {
		s, err := SecretFromUnstructured(l.Items[i].Object)
		if err != nil {
			return nil, err
		}
		out = append(out, *s)
	}
	return out, nil
}

func createSecret(ctx context.Context, dyn dynamic.Interface, s *Secret, o metav1.CreateOptions) error {
	c := *s
	c.APIVersion, c.Kind = "v1", "Secret"
	obj, err := runtime.DefaultUnstructuredConverter.ToUnstructured(&c)
	if err != nil {
		return fmt.Errorf("encode Secret: %w", err)
	}
	_, err = dyn.Resource(SecretResource).Namespace(s.Namespace).Create(ctx, &unstructured.Unstructured{Object: obj}, o)
	return err
}

// serverVersion reads /version (what discovery's ServerVersion does).
func serverVersion(ctx context.Context, rc rest.Interface) (string, error) {
	raw, err := rc.Get().AbsPath("/version").Do(ctx).Raw()
	if err != nil {
		return "", err
	}
	var v struct {
		GitVersion string `json:"gitVersion"`
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return "", fmt.Errorf("unexpected /version answer: %w", err)
	}
	return v.GitVersion, nil
}

// serverResources lists the resources the API server serves in the group
// version gv ("quay.redhat.com/v1").
func serverResources(ctx context.Context, rc rest.Interface, gv string) (*metav1.APIResourceList, error) {
	raw, err := rc.Get().AbsPath("/apis/" + gv).Do(ctx).Raw()
	if err != nil {
		return nil, err
	}
	var l metav1.APIResourceList
	if err := json.Unmarshal(raw, &l); err != nil {
		return nil, fmt.Errorf("unexpected /apis/%s answer: %w", gv, err)
	}
	return &l, nil
}
