package editor

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
)

func newRequestID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// requestID is the id the RequestID middleware gave this request.
func requestID(c echo.Context) string {
	return c.Response().Header().Get(echo.HeaderXRequestID)
}

// requestLogger logs one line per request and feeds the metrics. It logs
// the route and the path without the query string, never bodies, headers
// or credentials.
func (s *Server) requestLogger(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		err := next(c)
		if err != nil {
			// Let the error handler write the answer now so the status is known.
			c.Error(err)
		}
		took := time.Since(start)
		route := c.Path()
		if route == "" {
			route = "unmatched"
		}
		status := c.Response().Status
		s.metrics.observe(c.Request().Method, route, status, took)
		if route == "/healthz" || route == "/metrics" {
			return nil // probes and scrapers would drown the log
		}
		lvl := s.log.Info
		if status >= 500 && status != http.StatusNotImplemented {
			lvl = s.log.Error
		}
		lvl("request",
			"request_id", requestID(c),
			"method", c.Request().Method,
			"path", cleanPath(c.Request().URL.Path),
			"route", route,
			"status", status,
			"bytes", c.Response().Size,
			"ms", float64(took.Microseconds())/1000,
			"ip", c.RealIP(),
		)
		return nil
	}
}

// cleanPath bounds what an odd client can put into the log.
func cleanPath(p string) string {
	if len(p) > 200 {
		p = p[:200] + "..."
	}
	return strings.ToValidUTF8(p, "?")
}

// bigBodyRoutes take a whole bundle; every other route gets FormBodyLimit,
// except multipart uploads (the UI's tarball upload), which get
// BundleBodyLimit.
var bigBodyRoutes = map[string]bool{
	"/api/v1/config":          true,
	"/api/v1/config/validate": true,
	"/api/v1/config/download": true,
	"/api/v1/config/operator": true,
}

// bodyLimit refuses a declared oversize body at once (413 before reading)
// and caps what a handler can read from an undeclared one.
func (s *Server) bodyLimit(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		if r.Body == nil || r.Body == http.NoBody {
			return next(c)
		}
		limit := int64(FormBodyLimit)
		if bigBodyRoutes[c.Path()] || strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
			limit = BundleBodyLimit
		}
		if r.ContentLength > limit {
			// Do not drain a huge body: close the connection after answering.
			c.Response().Header().Set("Connection", "close")
			return echo.NewHTTPError(http.StatusRequestEntityTooLarge,
				"Request body is larger than the limit of "+humanBytes(limit)+".")
		}
		r.Body = http.MaxBytesReader(c.Response(), r.Body, limit)
		return next(c)
	}
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<20:
		return itoa(n>>20) + " MiB"
	case n >= 1<<10:
		return itoa(n>>10) + " KiB"
	}
	return itoa(n) + " bytes"
}
