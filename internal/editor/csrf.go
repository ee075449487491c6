package editor

import (
	"crypto/subtle"
	"net/http"
	"net/url"

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

// csrf guards state-changing requests. Cookie sessions must present their
// token. Basic-auth clients are exempt from the token, but a browser may
// replay cached basic credentials cross-site, so any request that a browser
// marks as cross-site (Origin of another host, Sec-Fetch-Site: cross-site)
// is refused whatever its authentication.
func (s *Server) csrf(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		if safeMethod(r.Method) {
			return next(c)
		}
		if crossSite(r) {
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

// crossSite reports a browser-made cross-site request.
func crossSite(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "cross-site":
		return true
	case "same-origin", "none":
		// Browsers send "Origin: null" on same-origin form posts when
		// Referrer-Policy is no-referrer; Sec-Fetch-Site is authoritative.
		return false
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		return false
	}
	if origin == "null" {
		return true
	}
	u, err := url.Parse(origin)
	return err != nil || u.Host != r.Host
}
