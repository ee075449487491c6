package registry

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the front door's request metrics, in a registry of their
// own (so several servers can live in one process); /metrics also serves
// the default registry, where distribution keeps its storage and cache
// metrics.
type metrics struct {
	reg           *prometheus.Registry
	requests      *prometheus.CounterVec
	duration      *prometheus.HistogramVec
	bytesOut      *prometheus.CounterVec
	inFlight      prometheus.Gauge
	loginFailures prometheus.Counter
	handler       http.Handler
}

func newMetrics() *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "config_editor", Subsystem: "registry", Name: "http_requests_total",
		Help: "Registry HTTP requests by route, method and status code.",
	}, []string{"route", "method", "code"})
	m.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: "config_editor", Subsystem: "registry", Name: "http_request_duration_seconds",
		Help:    "Registry HTTP request latency by route and method.",
		Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
	}, []string{"route", "method"})
	m.bytesOut = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "config_editor", Subsystem: "registry", Name: "http_response_bytes_total",
		Help: "Bytes sent in registry HTTP response bodies, by route.",
	}, []string{"route"})
	m.inFlight = prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: "config_editor", Subsystem: "registry", Name: "http_requests_in_flight",
		Help: "Registry HTTP requests being served.",
	})
	m.loginFailures = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: "config_editor", Subsystem: "registry", Name: "login_failures_total",
		Help: "Failed registry logins.",
	})
	m.reg.MustRegister(m.requests, m.duration, m.bytesOut, m.inFlight, m.loginFailures)
	// the default registry also holds the Go runtime and process metrics
	m.handler = promhttp.HandlerFor(prometheus.Gatherers{m.reg, prometheus.DefaultGatherer},
		// a metric that cannot be gathered must not hide all the others
		promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
	return m
}

func (m *metrics) serve(w http.ResponseWriter, r *http.Request) { m.handler.ServeHTTP(w, r) }

// routeOf names the API route of a path, for metric labels.
func routeOf(p string) string {
	switch {
	case p == "/v2/" || p == "/v2":
		return "base"
	case p == "/v2/_catalog":
		return "catalog"
	case strings.HasPrefix(p, "/health/"):
		return "health"
	case p == "/metrics":
		return "metrics"
	case !strings.HasPrefix(p, "/v2/"):
		return "other"
	case strings.HasSuffix(p, "/tags/list"):
		return "tags"
	case strings.Contains(p, "/blobs/uploads"):
		return "blob_upload"
	case strings.Contains(p, "/manifests/"):
		return "manifest"
	case strings.Contains(p, "/referrers/"):
		return "referrers"
	case strings.Contains(p, "/blobs/"):
		return "blob"
	}
	return "other"
}

func (m *metrics) instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		m.inFlight.Inc()
		sw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
		defer func() {
			m.inFlight.Dec()
			route := routeOf(r.URL.Path)
			method := r.Method
			switch method {
			case http.MethodGet, http.MethodHead, http.MethodPut, http.MethodPost, http.MethodPatch, http.MethodDelete, http.MethodOptions:
			default:
				method = "other"
			}
			m.requests.WithLabelValues(route, method, strconv.Itoa(sw.code)).Inc()
			m.duration.WithLabelValues(route, method).Observe(time.Since(start).Seconds())
			if sw.bytes > 0 {
				m.bytesOut.WithLabelValues(route).Add(float64(sw.bytes))
			}
		}()
		next.ServeHTTP(sw, r)
	})
}

// statusWriter remembers the status code and counts body bytes.
type statusWriter struct {
	http.ResponseWriter
	code        int
	wroteHeader bool
	bytes       int64
}

func (s *statusWriter) WriteHeader(code int) {
	if !s.wroteHeader {
		s.code, s.wroteHeader = code, true
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	s.wroteHeader = true
	n, err := s.ResponseWriter.Write(b)
	s.bytes += int64(n)
	return n, err
}

func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

func (s *statusWriter) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// queueCollector reads the replication queue's state at each scrape.
type queueCollector struct{ r *Replicator }

var (
	queueDesc = prometheus.NewDesc("config_editor_registry_replication_items",
		"Replication queue items by state (queued, in_flight, done, failed), shared by every process on the queue.", []string{"state"}, nil)
	queueAgeDesc = prometheus.NewDesc("config_editor_registry_replication_oldest_age_seconds",
		"Age of the oldest replication item not done yet.", nil, nil)
	queueUpDesc = prometheus.NewDesc("config_editor_registry_replication_queue_up",
		"1 when the replication queue's database answered the scrape.", nil, nil)
	uploadsDesc = prometheus.NewDesc("config_editor_registry_replication_uploads_in_flight",
		"Blob uploads this process serves now; while there are any, its copies yield (share --replication-yield-bandwidth).", nil, nil)
	enqueueDesc = prometheus.NewDesc("config_editor_registry_replication_enqueue_seconds_total",
		"Time this process's pushes waited for their blobs to be queued (the queue is written before a blob write returns).", nil, nil)
	enqueuedDesc = prometheus.NewDesc("config_editor_registry_replication_enqueued_blobs_total",
		"Blobs this process's pushes queued for replication.", nil, nil)
	yieldedDesc = prometheus.NewDesc("config_editor_registry_replication_yielded_bytes_total",
		"Bytes this process's copies read while yielding to uploads.", nil, nil)
)

func (c *queueCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- queueDesc
	ch <- queueAgeDesc
	ch <- queueUpDesc
	ch <- uploadsDesc
	ch <- yieldedDesc
	ch <- enqueueDesc
	ch <- enqueuedDesc
}

func (c *queueCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	y := c.r.Yield()
	ch <- prometheus.MustNewConstMetric(uploadsDesc, prometheus.GaugeValue, float64(y.Uploads))
	ch <- prometheus.MustNewConstMetric(yieldedDesc, prometheus.CounterValue, float64(y.YieldedBytes))
	ch <- prometheus.MustNewConstMetric(enqueueDesc, prometheus.CounterValue, time.Duration(c.r.enqueueNanos.Load()).Seconds())
	ch <- prometheus.MustNewConstMetric(enqueuedDesc, prometheus.CounterValue, float64(c.r.enqueues.Load()))
	st, err := c.r.Stats(ctx)
	if err != nil {
		ch <- prometheus.MustNewConstMetric(queueUpDesc, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(queueUpDesc, prometheus.GaugeValue, 1)
	for state, v := range map[string]int64{"queued": st.Queued, "in_flight": st.InFlight, "done": st.Done, "failed": st.Failed} {
		ch <- prometheus.MustNewConstMetric(queueDesc, prometheus.GaugeValue, float64(v), state)
	}
	ch <- prometheus.MustNewConstMetric(queueAgeDesc, prometheus.GaugeValue, st.OldestAgeSeconds)
}
