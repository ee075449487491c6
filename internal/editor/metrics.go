package editor

import (
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics live in a registry per server (no global state: tests run
// several servers in one process).
type metrics struct {
	reg           *prometheus.Registry
	requests      *prometheus.CounterVec
	latency       *prometheus.HistogramVec
	validations   *prometheus.CounterVec
	problems      *prometheus.CounterVec
	loginFailures prometheus.Counter
	csrfRejects   prometheus.Counter
}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "config_editor_http_requests_total",
			Help: "HTTP requests by method, route and status code.",
		}, []string{"method", "route", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "config_editor_http_request_duration_seconds",
			Help:    "HTTP request latency by method and route.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"method", "route"}),
		validations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "config_editor_validations_total",
			Help: "Bundle validations by mode and result (valid, invalid).",
		}, []string{"mode", "result"}),
		problems: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "config_editor_validation_problems_total",
			Help: "Problems found by validations, by field group and severity.",
		}, []string{"group", "severity"}),
		loginFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "config_editor_login_failures_total",
			Help: "Failed logins (form and basic auth).",
		}),
		csrfRejects: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "config_editor_csrf_rejections_total",
			Help: "State-changing requests refused for a missing or wrong CSRF token.",
		}),
	}
	m.reg.MustRegister(m.requests, m.latency, m.validations, m.problems, m.loginFailures, m.csrfRejects,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *metrics) observe(method, route string, status int, took time.Duration) {
	m.requests.WithLabelValues(method, route, strconv.Itoa(status)).Inc()
	m.latency.WithLabelValues(method, route).Observe(took.Seconds())
}

func (s *Server) metricsHandler() echo.HandlerFunc {
	sessions := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "config_editor_sessions",
		Help: "Live login sessions.",
	}, func() float64 { return float64(s.sessions.count()) })
	s.metrics.reg.MustRegister(sessions)
	return echo.WrapHandler(promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{}))
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
