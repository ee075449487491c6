package kubetest

import (
	"bytes"
	"context"
	"os/exec"
	"testing"

	authnv1 "k8s.io/api/authentication/v1"
	authzv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/quay-tools/config-editor/internal/testenv"
)

// ApplyKustomize runs `kubectl apply --server-side -k dir` with kubeconfig
// and returns what kubectl printed. A failed apply ends the test; anything
// on stderr (kubectl's warnings) fails it.
func ApplyKustomize(ctx context.Context, t testing.TB, kubectl, kubeconfig, dir string) string {
	t.Helper()
	cmd := exec.CommandContext(ctx, kubectl, "--kubeconfig", kubeconfig, "apply", "--server-side", "--field-manager", "config-editor-deploy", "-k", dir)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("kubectl apply --server-side -k %s: %v\n%s%s", dir, err, out.String(), errb.String())
	}
	if errb.Len() > 0 {
		t.Errorf("kubectl apply -k %s wrote to stderr (warnings count as failures):\n%s", dir, errb.String())
	}
	t.Logf("kubectl apply --server-side -k %s:\n%s", dir, out.String())
	return out.String()
}

// ServiceAccountConfig is a rest.Config acting as ServiceAccount name of
// namespace ns, with a ten-minute token that admin requests for it.
func ServiceAccountConfig(ctx context.Context, t testing.TB, k *testenv.KubeServer, admin kubernetes.Interface, ns, name string) *rest.Config {
	t.Helper()
	expiry := int64(600)
	tok, err := admin.CoreV1().ServiceAccounts(ns).CreateToken(ctx, name, &authnv1.TokenRequest{
		Spec: authnv1.TokenRequestSpec{ExpirationSeconds: &expiry},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("token for the ServiceAccount: %v", err)
	}
	cfg := Config(k, testenv.KubeAdmin)
	cfg.BearerToken = tok.Status.Token
	return cfg
}

// Allowed asks the API server (a SelfSubjectAccessReview) whether the user
// of cs may do ra.
func Allowed(ctx context.Context, t testing.TB, cs kubernetes.Interface, ra authzv1.ResourceAttributes) bool {
	t.Helper()
	r, err := cs.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, &authzv1.SelfSubjectAccessReview{
		Spec: authzv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &ra}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return r.Status.Allowed
}
