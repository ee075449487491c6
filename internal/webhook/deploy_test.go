package webhook_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	authzv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/quay-tools/config-editor/internal/testenv"
	"github.com/quay-tools/config-editor/internal/testenv/kubetest"
	"github.com/quay-tools/config-editor/internal/webhook"
)

// TestDeployWebhookManifests applies deploy/webhook (the base, then the
// OpenShift and the cert-manager overlays) to the test kube-apiserver with
// `kubectl apply --server-side -k`, then works as the deployed
// ServiceAccount: its ClusterRole must allow what the webhook does (list
// and watch QuayRegistries everywhere, get a Secret) and nothing more.
func TestDeployWebhookManifests(t *testing.T) {
	kubectl := testenv.Kubectl(t)
	k := kubetest.Server(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dyn := kubetest.Dynamic(t, k, testenv.KubeAdmin)
	for _, f := range []string{"cert-manager-issuer-crd.yaml", "cert-manager-certificate-crd.yaml"} {
		if err := kubetest.InstallCRD(ctx, dyn, readFile(t, "testdata", f)); err != nil {
			t.Fatal(err)
		}
	}
	admin := kubetest.Clientset(t, k, testenv.KubeAdmin)
	const ns, name = "quay-config-editor", "quay-config-editor-webhook"
	if _, err := admin.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// Cluster-scoped objects go; the namespace stays (it would only
		// hang in Terminating without a controller-manager).
		bg := context.Background()
		_ = admin.AdmissionregistrationV1().ValidatingWebhookConfigurations().Delete(bg, name, metav1.DeleteOptions{})
		_ = admin.RbacV1().ClusterRoleBindings().Delete(bg, name, metav1.DeleteOptions{})
		_ = admin.RbacV1().ClusterRoles().Delete(bg, name, metav1.DeleteOptions{})
	})
	kc := k.KubeconfigFile(t, testenv.KubeAdmin, "")
	deploy, err := filepath.Abs(filepath.Join("..", "..", "deploy", "webhook"))
	if err != nil {
		t.Fatal(err)
	}
	apply := func(dir string) string {
		t.Helper()
		return kubetest.ApplyKustomize(ctx, t, kubectl, kc, dir)
	}
	base := apply(filepath.Join(deploy, "base"))
	for _, want := range []string{"serviceaccount/" + name, "clusterrole.rbac.authorization.k8s.io/" + name,
		"clusterrolebinding.rbac.authorization.k8s.io/" + name, "deployment.apps/" + name, "service/" + name,
		"validatingwebhookconfiguration.admissionregistration.k8s.io/" + name} {
		if !strings.Contains(base, want+" serverside-applied") {
			t.Errorf("base did not apply %s", want)
		}
	}
	apply(filepath.Join(deploy, "overlays", "openshift"))
	vwc, err := admin.AdmissionregistrationV1().ValidatingWebhookConfigurations().Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if vwc.Annotations["service.beta.openshift.io/inject-cabundle"] != "true" {
		t.Errorf("OpenShift overlay: VWC annotations %v", vwc.Annotations)
	}
	svc, err := admin.CoreV1().Services(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil || svc.Annotations["service.beta.openshift.io/serving-cert-secret-name"] != "quay-config-editor-webhook-tls" {
		t.Errorf("OpenShift overlay: Service %v %v", err, svc.Annotations)
	}
	over := apply(filepath.Join(deploy, "overlays", "cert-manager"))
	for _, want := range []string{"issuer.cert-manager.io/quay-config-editor-webhook-selfsigned", "certificate.cert-manager.io/" + name} {
		if !strings.Contains(over, want+" serverside-applied") {
			t.Errorf("cert-manager overlay did not apply %s:\n%s", want, over)
		}
	}
	if vwc, err = admin.AdmissionregistrationV1().ValidatingWebhookConfigurations().Get(ctx, name, metav1.GetOptions{}); err != nil {
		t.Fatal(err)
	}
	if vwc.Annotations["cert-manager.io/inject-ca-from"] != ns+"/"+name {
		t.Errorf("cert-manager overlay: VWC annotations %v", vwc.Annotations)
	}
	if len(vwc.Webhooks) != 3 {
		t.Fatalf("VWC has %d webhooks, want 3", len(vwc.Webhooks))
	}
	for _, w := range vwc.Webhooks {
		s := w.ClientConfig.Service
		if s == nil || s.Name != name || s.Namespace != ns || s.Path == nil || *s.Path != "/validate" || *w.FailurePolicy != "Ignore" ||
			w.NamespaceSelector.MatchLabels["quay-config-editor/admission"] != "enabled" || *w.TimeoutSeconds != 5 {
			t.Errorf("webhook %s: clientConfig %+v failurePolicy %v namespaceSelector %v", w.Name, s, *w.FailurePolicy, w.NamespaceSelector)
		}
	}
	dep, err := admin.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if args := strings.Join(dep.Spec.Template.Spec.Containers[0].Args, " "); !strings.HasPrefix(args, "webhook --tls-cert /tls/tls.crt --tls-key /tls/tls.key") ||
		dep.Spec.Template.Spec.Volumes[0].Secret.SecretName != "quay-config-editor-webhook-tls" {
		t.Errorf("deployment: args %q volumes %+v", args, dep.Spec.Template.Spec.Volumes)
	}

	// Work as the ServiceAccount.
	cfg := kubetest.ServiceAccountConfig(ctx, t, k, admin, ns, name)
	sa, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	other := k.Namespace(t)
	for _, c := range []struct {
		ra   authzv1.ResourceAttributes
		want bool
	}{
		{authzv1.ResourceAttributes{Verb: "list", Group: "quay.redhat.com", Resource: "quayregistries"}, true},
		{authzv1.ResourceAttributes{Verb: "watch", Group: "quay.redhat.com", Resource: "quayregistries"}, true},
		{authzv1.ResourceAttributes{Namespace: other, Verb: "get", Resource: "secrets"}, true},
		{authzv1.ResourceAttributes{Namespace: other, Verb: "list", Resource: "secrets"}, false},
		{authzv1.ResourceAttributes{Namespace: other, Verb: "watch", Resource: "secrets"}, false},
		{authzv1.ResourceAttributes{Namespace: other, Verb: "create", Resource: "secrets"}, false},
		{authzv1.ResourceAttributes{Namespace: other, Verb: "update", Group: "quay.redhat.com", Resource: "quayregistries"}, false},
		{authzv1.ResourceAttributes{Namespace: other, Verb: "patch", Group: "quay.redhat.com", Resource: "quayregistries"}, false},
	} {
		if allowed := kubetest.Allowed(ctx, t, sa, c.ra); allowed != c.want {
			t.Errorf("ServiceAccount %s %s.%s in %q: allowed %v, want %v", c.ra.Verb, c.ra.Resource, c.ra.Group, c.ra.Namespace, allowed, c.want)
		}
	}
	// The webhook's own calls, as the ServiceAccount: the cache of every
	// namespace syncs, and a Secret is read by name.
	clients, err := webhook.Connect("", "", cfg)
	if err != nil {
		t.Fatal(err)
	}
	cache := webhook.NewCache(clients.Dynamic, "")
	cctx, ccancel := context.WithTimeout(ctx, 20*time.Second)
	defer ccancel()
	go cache.Run(cctx)
	if !cache.WaitSynced(cctx) {
		t.Error("the QuayRegistry cache did not sync as the ServiceAccount")
	}
	if _, err := admin.CoreV1().Secrets(other).Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "b"}, StringData: map[string]string{"config.yaml": "{}"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if s, err := clients.SecretGetter(5*time.Second)(ctx, other, "b"); err != nil || string(s.Data["config.yaml"]) != "{}" {
		t.Errorf("Get of a Secret as the ServiceAccount: %v", err)
	}
}
