package webhook

import (
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// MaxBody bounds an AdmissionReview: a Secret is at most 1 MiB, and an
// update carries the old object too.
const MaxBody = 8 << 20

// Metrics of the webhook, in a registry of their own.
type Metrics struct {
	Registry *prometheus.Registry
	Requests *prometheus.CounterVec   // every POST /validate, by HTTP code
	Reviews  *prometheus.CounterVec   // by kind and result
	Latency  *prometheus.HistogramVec // review latency by kind and result
}

// NewMetrics makes the webhook's metrics.
func NewMetrics() *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		Requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "config_editor_webhook_requests_total",
			Help: "POST /validate requests, by HTTP status code.",
		}, []string{"code"}),
		Reviews: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "config_editor_webhook_reviews_total",
			Help: "Admission reviews by object kind and result (admitted, denied, skipped).",
		}, []string{"kind", "result"}),
		Latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "config_editor_webhook_review_duration_seconds",
			Help:    "Time to review one AdmissionReview (decode, validate, answer), by object kind and result.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .02, .05, .1, .25, .5, 1, 2.5},
		}, []string{"kind", "result"}),
	}
	m.Registry.MustRegister(m.Requests, m.Reviews, m.Latency,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Server serves the webhook: POST /validate (AdmissionReview v1),
// GET /healthz, GET /readyz (ready once the QuayRegistry cache is synced)
// and GET /metrics.
type Server struct {
	Reviewer *Reviewer
	Metrics  *Metrics
	Log      *slog.Logger
	// Ready reports whether reviews can be answered (the cache is synced).
	// While it is false, /validate answers 503 and the API server applies
	// the webhook's failurePolicy. nil: always ready.
	Ready func() bool
}

// Handler returns the HTTP handler.
func (s *Server) Handler() http.Handler {
	if s.Metrics == nil {
		s.Metrics = NewMetrics()
	}
	if s.Log == nil {
		s.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /validate", s.validate)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok\n") })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !s.ready() {
			http.Error(w, errNotReady.Error(), http.StatusServiceUnavailable)
			return
		}
		_, _ = io.WriteString(w, "ok\n")
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.Metrics.Registry, promhttp.HandlerOpts{}))
	return mux
}

func (s *Server) ready() bool { return s.Ready == nil || s.Ready() }

func (s *Server) validate(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	fail := func(code int, msg string) {
		s.Metrics.Requests.WithLabelValues(fmt.Sprint(code)).Inc()
		http.Error(w, msg, code)
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		fail(http.StatusUnsupportedMediaType, "want Content-Type: application/json")
		return
	}
	if !s.ready() {
		fail(http.StatusServiceUnavailable, errNotReady.Error())
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
	if err != nil {
		fail(http.StatusRequestEntityTooLarge, "reading the AdmissionReview: "+err.Error())
		return
	}
	var review admissionv1.AdmissionReview
	if err := json.Unmarshal(body, &review); err != nil || review.Request == nil {
		if err == nil {
			err = fmt.Errorf("no request")
		}
		fail(http.StatusBadRequest, "not an admission.k8s.io/v1 AdmissionReview: "+err.Error())
		return
	}
	if review.APIVersion != admissionv1.SchemeGroupVersion.String() || review.Kind != "AdmissionReview" {
		fail(http.StatusBadRequest, fmt.Sprintf("unsupported AdmissionReview version %q (this webhook speaks admission.k8s.io/v1; set admissionReviewVersions: [v1])", review.APIVersion))
		return
	}
	resp, out := s.Reviewer.Review(r.Context(), review.Request)
	answer := admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: admissionv1.SchemeGroupVersion.String(), Kind: "AdmissionReview"},
		Response: resp,
	}
	buf, err := json.Marshal(&answer)
	if err != nil {
		fail(http.StatusInternalServerError, "encoding the answer: "+err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(buf)
	took := time.Since(start)
	s.Metrics.Requests.WithLabelValues("200").Inc()
	s.Metrics.Reviews.WithLabelValues(out.Kind, out.Result).Inc()
	s.Metrics.Latency.WithLabelValues(out.Kind, out.Result).Observe(took.Seconds())
	if out.Result != ResultSkipped || out.Kind != KindOther {
		s.Log.Info("review", "kind", out.Kind, "namespace", out.Namespace, "name", out.Name,
			"operation", string(review.Request.Operation), "dryRun", review.Request.DryRun != nil && *review.Request.DryRun,
			"user", review.Request.UserInfo.Username, "result", out.Result, "registry", out.Registry,
			"errors", out.Errors, "warnings", out.Warnings, "took", took.Round(time.Microsecond).String())
	}
}

// CertReloader serves the key pair of two files and reloads it when either
// file changes (the service CA and cert-manager rotate them in place).
type CertReloader struct {
	certFile, keyFile string

	mu      sync.Mutex
	cert    *tls.Certificate
	modCert time.Time
	modKey  time.Time
	checked time.Time
}

// NewCertReloader loads the pair once, so a bad pair fails at start.
func NewCertReloader(certFile, keyFile string) (*CertReloader, error) {
	c := &CertReloader{certFile: certFile, keyFile: keyFile}
	if _, err := c.load(); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *CertReloader) load() (*tls.Certificate, error) {
	ci, err := os.Stat(c.certFile)
	if err != nil {
		return nil, err
	}
	ki, err := os.Stat(c.keyFile)
	if err != nil {
		return nil, err
	}
	if c.cert != nil && ci.ModTime().Equal(c.modCert) && ki.ModTime().Equal(c.modKey) {
		return c.cert, nil
	}
	pair, err := tls.LoadX509KeyPair(c.certFile, c.keyFile)
	if err != nil {
		return nil, fmt.Errorf("TLS key pair %s, %s: %w", c.certFile, c.keyFile, err)
	}
	c.cert, c.modCert, c.modKey = &pair, ci.ModTime(), ki.ModTime()
	return c.cert, nil
}

// GetCertificate is tls.Config.GetCertificate. It looks at the files at
// most once a second; when a reload fails it keeps serving the old pair.
func (c *CertReloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if time.Since(c.checked) < time.Second && c.cert != nil {
		return c.cert, nil
	}
	c.checked = time.Now()
	if cert, err := c.load(); err == nil {
		return cert, nil
	}
	return c.cert, nil
}

// TLSConfig is the server's TLS configuration (TLS 1.2 or later).
func (c *CertReloader) TLSConfig() *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: c.GetCertificate}
}
