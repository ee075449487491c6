package editor

import (
	"crypto/subtle"
	"net/http"

	"github.com/labstack/echo/v4"
)

// CSRFHeader and CSRFField carry the session's token: htmx sends the header
// (hx-headers on <body>), plain forms post the hidden field.
const (
	CSRFHeader = "X-CSRF-Token"
	CSRFField  = "_csrf"
)

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// csrf guards state-changing requests in two halves. The cross-origin
// half is Go's http.CrossOriginProtection: a request a browser marks as
// coming from another origin (Sec-Fetch-Site other than same-origin or
// none, or without it an Origin of another host) is refused whatever its
// authentication, since a browser may replay cached basic credentials
// cross-site. The token half: cookie sessions must present their token;
// basic-auth clients are exempt from it.
func (s *Server) csrf(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		if safeMethod(r.Method) {
			return next(c)
		}
		if s.crossSite(r) {
			return echo.NewHTTPError(http.StatusForbidden, "Cross-site request refused.")
		}
		if viaBasic(c) {
			return next(c)
		}
		sess := s.sessionOf(c)
		if sess == nil {
			return s.unauthorized(c)
		}
		tok := r.Header.Get(CSRFHeader)
		if tok == "" {
			tok = c.FormValue(CSRFField)
		}
		if tok == "" || subtle.ConstantTimeCompare([]byte(tok), []byte(sess.CSRF)) != 1 {
			s.metrics.csrfRejects.Inc()
			return echo.NewHTTPError(http.StatusForbidden, "Missing or wrong CSRF token: reload the page and try again.")
		}
		return next(c)
	}
}

// crossSite reports a browser-made cross-origin request (see
// http.CrossOriginProtection.Check).
func (s *Server) crossSite(r *http.Request) bool {
	return s.crossOrigin.Check(r) != nil
}
