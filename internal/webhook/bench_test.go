package webhook_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http"
	"runtime"
	"slices"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/quay-tools/config-editor/internal/benchenv"
	"github.com/quay-tools/config-editor/internal/operator"
	"github.com/quay-tools/config-editor/internal/testenv"
	"github.com/quay-tools/config-editor/internal/webhook"
)

// realisticSecret is a full bundle Secret: the 124-line Operator-style
// config.yaml of internal/bundle/testdata, a TLS pair for its
// SERVER_HOSTNAME, the database CA it names, three extra CAs and a Clair
// configuration; labelled for a QuayRegistry that leaves its components
// unmanaged, so the pre-flight rules run in full (TLS pair included).
func realisticSecret(tb testing.TB) (*admissionv1.AdmissionRequest, registries) {
	tb.Helper()
	cfg := readFile(tb, "..", "bundle", "testdata", "realistic.yaml")
	cert, key := selfSigned(tb, "quay.example.com")
	ca, _ := selfSigned(tb, "Example Root CA")
	files := map[string][]byte{"ssl.cert": cert, "ssl.key": key, "database.pem": ca,
		"extra_ca_cert_root.crt": ca, "extra_ca_cert_corp.crt": ca, "extra_ca_cert_proxy.crt": ca,
		"clair-config.yaml": []byte("indexer:\n  connstring: host=clair-db port=5432 user=clair password=clairpw dbname=clair\nmatcher:\n  connstring: host=clair-db port=5432 user=clair password=clairpw dbname=clair\n")}
	s := bundleSecret("example-registry-config-bundle-4bb049b712", string(cfg),
		map[string]string{operator.LabelBundle: "true", operator.LabelRegistry: "example-registry"}, files)
	var comps []operator.Component
	for _, k := range []string{"postgres", "redis", "objectstorage", "route", "tls", "clair", "clairpostgres"} {
		comps = append(comps, operator.Component{Kind: k, Managed: k == "route"})
	}
	qr := &operator.QuayRegistry{Name: "example-registry", Namespace: "quay", Spec: operator.Spec{ConfigBundleSecret: s.Name, Components: comps}}
	return secretRequest(tb, admissionv1.Create, s, nil), registries{"quay/example-registry": qr}
}

// BenchmarkReviewRealisticBundle is the latency of one review of a full
// bundle as the API server sees it: an AdmissionReview POSTed over TLS on
// loopback (kept-alive connection), decoded, validated offline, checked
// against the Operator's pre-flight rules and answered. p50-ms and p99-ms
// are over the b.N requests; the target is p99 ≤ 20 ms.
func BenchmarkReviewRealisticBundle(b *testing.B) {
	req, regs := realisticSecret(b)
	srv := &webhook.Server{Reviewer: &webhook.Reviewer{Registries: regs}}
	url, _ := serveTLS(b, srv.Handler())
	body, err := json.Marshal(admissionv1.AdmissionReview{TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"}, Request: req})
	if err != nil {
		b.Fatal(err)
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: testenv.CA().CertPool()}}, Timeout: 10 * time.Second}
	post := func() admissionv1.AdmissionReview {
		resp, err := client.Post(url+"/validate", "application/json", bytes.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		var out admissionv1.AdmissionReview
		if resp.StatusCode != 200 || json.Unmarshal(raw, &out) != nil || out.Response == nil {
			b.Fatalf("%s %s", resp.Status, raw)
		}
		return out
	}
	first := post() // warm: schema compiled, connection open
	if !first.Response.Allowed || len(first.Response.Warnings) == 0 {
		b.Fatalf("want admitted with warnings: %+v", first.Response)
	}
	b.Logf("AdmissionReview of %d bytes; answer: allowed=%v, %d warning(s)", len(body), first.Response.Allowed, len(first.Response.Warnings))
	lat := make([]time.Duration, 0, 1024)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		t0 := time.Now()
		post()
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	reportPercentiles(b, lat)
}

// BenchmarkCheckRealisticBundle is the review alone (no HTTP, no JSON).
func BenchmarkCheckRealisticBundle(b *testing.B) {
	req, regs := realisticSecret(b)
	r := &webhook.Reviewer{Registries: regs}
	ctx := context.Background()
	r.Review(ctx, req)
	lat := make([]time.Duration, 0, 1024)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		t0 := time.Now()
		if resp, _ := r.Review(ctx, req); !resp.Allowed {
			b.Fatal(resp.Result.Message)
		}
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	reportPercentiles(b, lat)
}

func reportPercentiles(b *testing.B, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	at := func(q float64) float64 {
		return float64(lat[int(q*float64(len(lat)-1))]) / float64(time.Millisecond)
	}
	b.ReportMetric(at(0.50), "p50-ms")
	b.ReportMetric(at(0.99), "p99-ms")
	b.Logf("n=%d p50=%.2fms p99=%.2fms max=%.2fms; load average %s; %d CPUs (GOMAXPROCS %d)",
		len(lat), at(0.5), at(0.99), at(1), benchenv.LoadAverage(), runtime.NumCPU(), runtime.GOMAXPROCS(0))
}
