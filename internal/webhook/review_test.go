package webhook_test

// Reviews and the HTTP surface without an API server: the registries come
// from a map (the Registries interface is the webhook's own seam; the
// informer behind it is tested against kube-apiserver in admission_test.go).

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/quay-tools/config-editor/internal/operator"
	"github.com/quay-tools/config-editor/internal/problem"
	"github.com/quay-tools/config-editor/internal/webhook"
)

type registries map[string]*operator.QuayRegistry // by namespace/name

func (r registries) Get(ns, name string) *operator.QuayRegistry { return r[ns+"/"+name] }
func (r registries) Referencing(ns, secret string) []*operator.QuayRegistry {
	var out []*operator.QuayRegistry
	for _, qr := range r {
		if qr.Namespace == ns && qr.Spec.ConfigBundleSecret == secret {
			out = append(out, qr)
		}
	}
	return out
}

func secretRequest(t testing.TB, op admissionv1.Operation, s, old *corev1.Secret) *admissionv1.AdmissionRequest {
	t.Helper()
	raw, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	req := &admissionv1.AdmissionRequest{
		UID: "uid-1", Kind: metav1.GroupVersionKind{Version: "v1", Kind: "Secret"},
		Resource: metav1.GroupVersionResource{Version: "v1", Resource: "secrets"},
		Name:     s.Name, Namespace: "quay", Operation: op, Object: runtime.RawExtension{Raw: raw},
	}
	if old != nil {
		req.OldObject.Raw, _ = json.Marshal(old)
	}
	return req
}

func bundleSecret(name, config string, labels map[string]string, files map[string][]byte) *corev1.Secret {
	s := &corev1.Secret{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "quay", Labels: labels},
		Data:       map[string][]byte{"config.yaml": []byte(config)}}
	for k, v := range files {
		s.Data[k] = v
	}
	return s
}

func registryRequest(t testing.TB, from, to string) *admissionv1.AdmissionRequest {
	t.Helper()
	mk := func(secret string) []byte {
		b, _ := json.Marshal(map[string]any{"apiVersion": operator.APIVersion, "kind": operator.Kind,
			"metadata": map[string]any{"name": "reg", "namespace": "quay"},
			"spec":     map[string]any{"configBundleSecret": secret, "components": []any{map[string]any{"kind": "postgres", "managed": false}, map[string]any{"kind": "objectstorage", "managed": false}}}})
		return b
	}
	return &admissionv1.AdmissionRequest{
		UID: "uid-2", Kind: metav1.GroupVersionKind{Group: operator.Group, Version: "v1", Kind: operator.Kind},
		Name: "reg", Namespace: "quay", Operation: admissionv1.Update,
		Object: runtime.RawExtension{Raw: mk(to)}, OldObject: runtime.RawExtension{Raw: mk(from)},
	}
}

var labelled = map[string]string{operator.LabelBundle: "true"}

func TestReviewSecret(t *testing.T) {
	r := &webhook.Reviewer{Registries: registries{}}
	ctx := context.Background()

	resp, out := r.Review(ctx, secretRequest(t, admissionv1.Create, bundleSecret("b", badConfig, labelled, nil), nil))
	if resp.Allowed || resp.UID != "uid-1" || resp.Result.Code != http.StatusForbidden || out.Result != webhook.ResultDenied || out.Errors != 2 {
		t.Fatalf("broken bundle: %+v %+v", resp, out)
	}
	if lines := strings.Split(resp.Result.Message, "\n"); len(lines) != 3 || !strings.HasPrefix(lines[0], "config bundle Secret quay/b: 2 error(s), 0 warning(s) (config-editor offline validation)") {
		t.Errorf("message %q", resp.Result.Message)
	}

	// Unlabelled, unreferenced: not ours.
	resp, out = r.Review(ctx, secretRequest(t, admissionv1.Create, bundleSecret("b", badConfig, nil, nil), nil))
	if !resp.Allowed || len(resp.Warnings) != 0 || out.Result != webhook.ResultSkipped {
		t.Errorf("unreferenced Secret: %+v %+v", resp, out)
	}

	// Metadata-only update of a broken bundle: admitted, nothing new.
	old := bundleSecret("b", badConfig, labelled, nil)
	now := bundleSecret("b", badConfig, map[string]string{operator.LabelBundle: "true", "x": "y"}, nil)
	if resp, out = r.Review(ctx, secretRequest(t, admissionv1.Update, now, old)); !resp.Allowed || out.Result != webhook.ResultSkipped {
		t.Errorf("metadata-only update: %+v %+v", resp, out)
	}
	// A data change is reviewed.
	if resp, _ = r.Review(ctx, secretRequest(t, admissionv1.Update, now, bundleSecret("b", goodConfig, labelled, nil))); resp.Allowed {
		t.Error("update to a broken bundle admitted")
	}
	// DELETE and other kinds pass.
	if resp, _ = r.Review(ctx, secretRequest(t, admissionv1.Delete, now, nil)); !resp.Allowed {
		t.Error("DELETE refused")
	}
	req := secretRequest(t, admissionv1.Create, now, nil)
	req.Kind = metav1.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}
	if resp, out = r.Review(ctx, req); !resp.Allowed || out.Kind != webhook.KindOther {
		t.Errorf("ConfigMap: %+v %+v", resp, out)
	}
	// Garbage instead of a Secret: 400.
	req = secretRequest(t, admissionv1.Create, now, nil)
	req.Object.Raw = []byte(`{"data": 5}`)
	if resp, _ = r.Review(ctx, req); resp.Allowed || resp.Result.Code != http.StatusBadRequest {
		t.Errorf("garbage object: %+v", resp)
	}
	// A bundle that does not parse.
	resp, _ = r.Review(ctx, secretRequest(t, admissionv1.Create, bundleSecret("b", "a: [unclosed", labelled, nil), nil))
	if resp.Allowed || !strings.Contains(resp.Result.Message, "config bundle Secret quay/b is not a config bundle: ") {
		t.Errorf("unparsable config.yaml: %+v", resp.Result)
	}
}

// A registry that references the Secret, or that the quay-registry label
// names, brings the Operator's pre-flight and leaves out its managed groups.
func TestReviewSecretOfRegistry(t *testing.T) {
	qr := &operator.QuayRegistry{Name: "reg", Namespace: "quay", Spec: operator.Spec{ConfigBundleSecret: "cfg",
		Components: []operator.Component{{Kind: "postgres", Managed: true}, {Kind: "redis", Managed: false}, {Kind: "objectstorage", Managed: false}, {Kind: "route", Managed: true}}}}
	r := &webhook.Reviewer{Registries: registries{"quay/reg": qr}}
	noDB := replaceLine(goodConfig, "DB_URI: ", "")
	for _, s := range []*corev1.Secret{
		bundleSecret("cfg", noDB, nil, nil),
		bundleSecret("other", noDB, map[string]string{operator.LabelRegistry: "reg"}, nil),
	} {
		resp, out := r.Review(context.Background(), secretRequest(t, admissionv1.Create, s, nil))
		if !resp.Allowed || out.Registry != "reg" || out.Errors != 0 {
			t.Errorf("%s: postgres is managed, a bundle without DB_URI is fine: %+v %+v", s.Name, resp.Result, out)
		}
	}
	resp, _ := r.Review(context.Background(), secretRequest(t, admissionv1.Create, bundleSecret("cfg", goodConfig, nil, nil), nil))
	if resp.Allowed || !strings.Contains(resp.Result.Message, "\nspec.components.postgres: postgres component marked as managed, but `configBundleSecret` contains required fields (DB_URI)") {
		t.Errorf("DB_URI under a managed postgres: %+v", resp.Result)
	}
	// A label naming a registry that does not exist: offline alone.
	resp, out := r.Review(context.Background(), secretRequest(t, admissionv1.Create, bundleSecret("x", noDB, map[string]string{operator.LabelRegistry: "gone", operator.LabelBundle: "true"}, nil), nil))
	if !resp.Allowed || out.Registry != "" {
		t.Errorf("unknown registry, no DB_URI (the Operator may manage it): %+v %+v", resp.Result, out)
	}
}

// Pre-flight messages quote config values (the hostnames a certificate
// must match); they are scrubbed of the bundle's secrets like the
// validators' messages.
func TestReviewScrubsPreflightMessages(t *testing.T) {
	cert, key := selfSigned(t, "quay.example.com")
	cfg := replaceLine(goodConfig, "SERVER_HOSTNAME: ", "SERVER_HOSTNAME: hunter2-registry.example.com\n")
	cfg = replaceLine(cfg, "DATABASE_SECRET_KEY: ", "DATABASE_SECRET_KEY: hunter2-registry.example.com\n")
	qr := &operator.QuayRegistry{Name: "reg", Namespace: "quay", Spec: operator.Spec{ConfigBundleSecret: "cfg",
		Components: []operator.Component{{Kind: "postgres"}, {Kind: "redis"}, {Kind: "objectstorage"}, {Kind: "route"}, {Kind: "tls"}}}}
	r := &webhook.Reviewer{Registries: registries{"quay/reg": qr}}
	resp, _ := r.Review(context.Background(), secretRequest(t, admissionv1.Create,
		bundleSecret("cfg", cfg, nil, map[string][]byte{"ssl.cert": cert, "ssl.key": key}), nil))
	if resp.Allowed || !strings.Contains(resp.Result.Message, "provided certificate pair not valid for host") {
		t.Fatalf("want the pre-flight hostname error: %+v", resp.Result)
	}
	if all := resp.Result.Message + strings.Join(resp.Warnings, "\n"); strings.Contains(all, "hunter2") {
		t.Errorf("a secret value leaked:\n%s", all)
	}
}

func selfSigned(t testing.TB, host string) (certPEM, keyPEM []byte) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: host}, DNSNames: []string{host},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(365 * 24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kd, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kd})
}

func TestReviewRegistrySwitch(t *testing.T) {
	secrets := map[string]*corev1.Secret{
		"bad":  bundleSecret("bad", replaceLine(goodConfig, "DB_URI: ", ""), nil, nil),
		"good": bundleSecret("good", goodConfig, nil, nil),
	}
	var gets int
	r := &webhook.Reviewer{GetSecret: func(ctx context.Context, ns, name string) (*operator.Secret, error) {
		gets++
		if _, ok := ctx.Deadline(); !ok {
			t.Error("the Secret Get is not bounded")
		}
		if name == "broken-api" {
			return nil, errors.New("connection refused")
		}
		if s, ok := secrets[name]; ok {
			return &operator.Secret{ObjectMeta: s.ObjectMeta, Data: s.Data, Type: string(s.Type)}, nil
		}
		return nil, apierrors.NewNotFound(schema.GroupResource{Resource: "secrets"}, name)
	}}
	ctx := context.Background()
	resp, out := r.Review(ctx, registryRequest(t, "good", "bad"))
	if resp.Allowed || out.Kind != webhook.KindQuayRegistry || !strings.Contains(resp.Result.Message, "QuayRegistry quay/reg: configBundleSecret bad: 2 error(s)") {
		t.Errorf("switch to a bundle without DB_URI under unmanaged postgres: %+v", resp.Result)
	}
	if resp, _ = r.Review(ctx, registryRequest(t, "bad", "good")); !resp.Allowed {
		t.Errorf("switch to a good bundle: %+v", resp.Result)
	}
	for _, c := range []struct{ to, warn string }{
		{"missing", "does not exist (yet)"},
		{"broken-api", "was not reviewed: reading it failed: connection refused"},
	} {
		resp, _ = r.Review(ctx, registryRequest(t, "good", c.to))
		if !resp.Allowed || len(resp.Warnings) != 1 || !strings.Contains(resp.Warnings[0], c.warn) {
			t.Errorf("switch to %s: %+v %q", c.to, resp.Result, resp.Warnings)
		}
	}
	n := gets
	for _, c := range [][2]string{{"", "bad"}, {"bad", "bad"}, {"good", ""}} {
		if resp, out = r.Review(ctx, registryRequest(t, c[0], c[1])); !resp.Allowed || out.Result != webhook.ResultSkipped {
			t.Errorf("%q → %q is not a switch: %+v", c[0], c[1], resp.Result)
		}
	}
	if gets != n {
		t.Errorf("non-switches read %d Secrets", gets-n)
	}
}

func TestWarningsAndMessageShape(t *testing.T) {
	var ps []problem.Problem
	for i := 0; i < 40; i++ {
		ps = append(ps, problem.Problem{FieldGroup: "G", Path: problem.NewPath(fmt.Sprintf("K%d", i)), Severity: problem.Error,
			Message: "first line\nsecond   line " + strings.Repeat("x", 300)})
	}
	ps = append(ps, problem.Problem{FieldGroup: "G", Tags: []string{"T"}, Severity: problem.Warning, Message: "w", Line: 7})
	ws := webhook.Warnings(ps)
	if len(ws) != 41 {
		t.Fatalf("%d warnings", len(ws))
	}
	for _, w := range ws {
		if strings.ContainsAny(w, "\n\r") || len([]rune(w)) > 240 {
			t.Errorf("warning not one short line: %q", w)
		}
	}
	if ws[0] != "error: K0: first line second line "+strings.Repeat("x", 240-len("error: K0: first line second line ")-1)+"…" {
		t.Errorf("warning 0 = %q", ws[0])
	}
	if ws[40] != "warning: T (config.yaml line 7): w" {
		t.Errorf("warning 40 = %q", ws[40])
	}
	msg := webhook.DenyMessage("X", "offline validation", ps, 25)
	lines := strings.Split(msg, "\n")
	if len(lines) != 27 || lines[0] != "X: 40 error(s), 1 warning(s) (config-editor offline validation)" || lines[26] != "… and 16 more (see the warnings)" {
		t.Errorf("message: %d lines, first %q last %q", len(lines), lines[0], lines[len(lines)-1])
	}
}

func TestServerHTTP(t *testing.T) {
	ready := false
	m := webhook.NewMetrics()
	srv := &webhook.Server{Reviewer: &webhook.Reviewer{}, Metrics: m, Ready: func() bool { return ready }}
	h := srv.Handler()
	review := func(body []byte, ctype string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodPost, "/validate", bytes.NewReader(body))
		req.Header.Set("Content-Type", ctype)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	ar := admissionv1.AdmissionReview{TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request: secretRequest(t, admissionv1.Create, bundleSecret("b", badConfig, labelled, nil), nil)}
	good, _ := json.Marshal(ar)

	if rec := review(good, "application/json"); rec.Code != http.StatusServiceUnavailable {
		t.Errorf("not ready: %d", rec.Code)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
	if rec.Code != http.StatusServiceUnavailable {
		t.Errorf("/readyz before sync: %d", rec.Code)
	}
	ready = true
	if rec := review(good, "text/plain"); rec.Code != http.StatusUnsupportedMediaType {
		t.Errorf("text/plain: %d", rec.Code)
	}
	if rec := review([]byte("{"), "application/json"); rec.Code != http.StatusBadRequest {
		t.Errorf("bad JSON: %d", rec.Code)
	}
	v1beta1 := bytes.Replace(good, []byte(`"admission.k8s.io/v1"`), []byte(`"admission.k8s.io/v1beta1"`), 1)
	if rec := review(v1beta1, "application/json"); rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "admissionReviewVersions: [v1]") {
		t.Errorf("v1beta1: %d %s", rec.Code, rec.Body)
	}
	if rec := review(bytes.Repeat([]byte(" "), webhook.MaxBody+1), "application/json"); rec.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized: %d", rec.Code)
	}
	rec = review(good, "application/json; charset=utf-8")
	var got admissionv1.AdmissionReview
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil || rec.Code != 200 {
		t.Fatalf("%d %v %s", rec.Code, err, rec.Body)
	}
	if got.APIVersion != "admission.k8s.io/v1" || got.Kind != "AdmissionReview" || got.Response.UID != "uid-1" || got.Response.Allowed || len(got.Response.Warnings) != 2 {
		t.Errorf("answer %+v", got.Response)
	}
	if n := testutil.ToFloat64(m.Reviews.WithLabelValues("Secret", "denied")); n != 1 {
		t.Errorf("denied count %v", n)
	}
	if n := testutil.ToFloat64(m.Requests.WithLabelValues("200")); n != 1 {
		t.Errorf("200 count %v", n)
	}
	if n := testutil.CollectAndCount(m.Latency); n != 1 {
		t.Errorf("latency series %d", n)
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	for _, want := range []string{`config_editor_webhook_reviews_total{kind="Secret",result="denied"} 1`, `config_editor_webhook_review_duration_seconds_bucket{kind="Secret",result="denied",le="0.02"}`,
		`config_editor_webhook_requests_total{code="503"} 1`} {
		if !bytes.Contains(body, []byte(want)) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// The serving pair is reloaded when the files change (the service CA and
// cert-manager rotate them in place); a broken rewrite keeps the old pair.
func TestCertReloader(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := dir+"/tls.crt", dir+"/tls.key"
	write := func(cert, key []byte, at time.Time) {
		t.Helper()
		for f, b := range map[string][]byte{certFile: cert, keyFile: key} {
			if err := os.WriteFile(f, b, 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chtimes(f, at, at); err != nil {
				t.Fatal(err)
			}
		}
	}
	c1, k1 := selfSigned(t, "one.example.com")
	write(c1, k1, time.Now().Add(-time.Hour))
	r, err := webhook.NewCertReloader(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	name := func() string {
		t.Helper()
		c, err := r.GetCertificate(nil)
		if err != nil || c == nil {
			t.Fatalf("GetCertificate: %v", err)
		}
		leaf, err := x509.ParseCertificate(c.Certificate[0])
		if err != nil {
			t.Fatal(err)
		}
		return leaf.Subject.CommonName
	}
	if n := name(); n != "one.example.com" {
		t.Fatalf("first pair: %s", n)
	}
	c2, k2 := selfSigned(t, "two.example.com")
	write(c2, k2, time.Now())
	time.Sleep(1100 * time.Millisecond) // the files are looked at once a second
	if n := name(); n != "two.example.com" {
		t.Errorf("after rotation: %s", n)
	}
	write([]byte("not a cert"), k2, time.Now().Add(time.Minute))
	time.Sleep(1100 * time.Millisecond)
	if n := name(); n != "two.example.com" {
		t.Errorf("after a broken rewrite: %s", n)
	}
	if _, err := webhook.NewCertReloader(certFile, keyFile); err == nil {
		t.Error("a broken pair was accepted at start")
	}
}
