package editor

import (
	"crypto/rand"
	"encoding/hex"
	"io"
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

// requestID is the id this server gave the request.
func requestID(c echo.Context) string {
	return c.Response().Header().Get(echo.HeaderXRequestID)
}

const ctxClientRequestID = "editor.client_request_id"

// maxClientRequestID caps the client's X-Request-Id kept for the log.
const maxClientRequestID = 64

// requestID gives every request an id of our own (answered in
// X-Request-Id and logged). A client's X-Request-Id is never echoed; it is
// logged as client_request_id, cut to 64 characters of a safe alphabet.
func (s *Server) requestID(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		c.Response().Header().Set(echo.HeaderXRequestID, newRequestID())
		if v := c.Request().Header.Get(echo.HeaderXRequestID); v != "" {
			c.Set(ctxClientRequestID, cleanClientID(v))
		}
		return next(c)
	}
}

func cleanClientID(v string) string {
	var b strings.Builder
	for _, r := range v {
		if b.Len() >= maxClientRequestID {
			break
		}
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', strings.ContainsRune("-_.:/+=", r):
			b.WriteRune(r)
		default:
			b.WriteByte('?')
		}
	}
	return b.String()
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
		attrs := []any{
			"request_id", requestID(c),
			"method", c.Request().Method,
			"path", cleanPath(c.Request().URL.Path),
			"route", route,
			"status", status,
			"bytes", c.Response().Size,
			"ms", float64(took.Microseconds()) / 1000,
			"ip", c.RealIP(),
		}
		if cid, ok := c.Get(ctxClientRequestID).(string); ok {
			attrs = append(attrs, "client_request_id", cid)
		}
		lvl("request", attrs...)
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

// Bodies are limited in two steps. Before authentication every request
// may send at most PreAuthBodyLimit bytes, within PreAuthBodyTimeout: the
// login form is small, and nothing else reads a body before the request is
// authenticated. After authentication the route's own limit applies:
// bundleRoutes take a whole bundle, uploadRoutes a multipart upload, all
// others FormBodyLimit. A body declared larger than the limit is refused
// at once (413, connection closed) without being read.
var bundleRoutes = map[string]bool{
	"/api/v1/config":          true,
	"/api/v1/config/validate": true,
	"/api/v1/config/download": true,
	"/api/v1/config/operator": true,
}

// uploadRoutes: the largest file each accepts plus room for the form.
var uploadRoutes = map[string]int64{
	"/upload": maxBundleUpload + FormBodyLimit,
	"/certs":  maxCertUpload + FormBodyLimit,
	"/files":  maxCertUpload + FormBodyLimit,
}

const ctxRawBody = "editor.raw_body"

// routeBodyLimit is the body limit of an authenticated request.
func routeBodyLimit(c echo.Context) int64 {
	if bundleRoutes[c.Path()] {
		return BundleBodyLimit
	}
	if n, ok := uploadRoutes[c.Path()]; ok && c.Request().Method == http.MethodPost {
		return n
	}
	return FormBodyLimit
}

// preAuthBody caps every body at PreAuthBodyLimit and its reading at
// cfg.PreAuthTimeout; bodyLimit lifts both for authenticated requests.
func (s *Server) preAuthBody(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		if r.Body == nil || r.Body == http.NoBody {
			return next(c)
		}
		raw := r.Body
		c.Set(ctxRawBody, raw)
		// net/http looks at r.Body after the handler: given back its own
		// body, it sees one left unread and half-closes the connection
		// gracefully, so the client reads our 413/401 instead of a reset.
		defer func() { r.Body = raw }()
		// Not supported by every ResponseWriter (tests' recorders): then
		// the server's ReadTimeout still bounds the read.
		_ = http.NewResponseController(c.Response()).SetReadDeadline(time.Now().Add(s.cfg.PreAuthTimeout))
		if r.ContentLength > PreAuthBodyLimit && !authRoute(c) {
			return tooLarge(c, PreAuthBodyLimit)
		}
		r.Body = http.MaxBytesReader(c.Response().Writer, r.Body, PreAuthBodyLimit)
		return next(c)
	}
}

// authRoute reports a route behind requireAuth (whose body nobody reads
// before the request is authenticated).
func authRoute(c echo.Context) bool {
	switch c.Path() {
	case "/login", "/healthz", "/static/app.css", "/static/login.css":
		return false
	}
	// the content-hashed stylesheet the login page links (an open route)
	p := c.Path()
	return !(strings.HasPrefix(p, "/static/app.") && strings.HasSuffix(p, ".css"))
}

// bodyLimit runs after requireAuth: it gives the body of an authenticated
// request the limit and time of its route.
func (s *Server) bodyLimit(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		raw, ok := c.Get(ctxRawBody).(io.ReadCloser)
		if !ok {
			return next(c)
		}
		r := c.Request()
		limit := routeBodyLimit(c)
		if r.ContentLength > limit {
			return tooLarge(c, limit)
		}
		_ = http.NewResponseController(c.Response()).SetReadDeadline(time.Now().Add(AuthBodyTimeout))
		r.Body = http.MaxBytesReader(c.Response().Writer, raw, limit)
		return next(c)
	}
}

// tooLarge refuses a declared oversize body without draining it.
func tooLarge(c echo.Context, limit int64) error {
	c.Response().Header().Set("Connection", "close")
	return echo.NewHTTPError(http.StatusRequestEntityTooLarge,
		"Request body is larger than the limit of "+humanBytes(limit)+".")
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
