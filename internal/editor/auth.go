package editor

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
)

// CookieName is the session cookie.
const CookieName = "config_editor_session"

// checkPassword compares user and password in constant time (hashing first
// so the length of the password does not leak either).
func (s *Server) checkPassword(user, password string) bool {
	want := sha256.Sum256([]byte(s.cfg.Password))
	got := sha256.Sum256([]byte(password))
	okUser := subtle.ConstantTimeCompare([]byte(user), []byte(User))
	okPass := subtle.ConstantTimeCompare(want[:], got[:])
	return okUser&okPass == 1
}

// requireAuth admits a request with a live session cookie or valid HTTP
// basic credentials. Others: API and metrics get 401 with a Basic
// challenge; htmx requests get HX-Redirect; browsers a redirect to /login.
func (s *Server) requireAuth(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		if user, pass, ok := r.BasicAuth(); ok {
			ip := c.RealIP()
			if wait := s.limiter.blocked(ip); wait > 0 {
				return s.tooMany(c, wait)
			}
			if !s.checkPassword(user, pass) {
				s.limiter.fail(ip)
				s.metrics.loginFailures.Inc()
				s.log.Warn("basic auth failed", "request_id", requestID(c), "ip", ip)
				return s.unauthorized(c)
			}
			sess, err := s.sessions.basicSession(func() (*Session, error) { return s.newSession(User) })
			if err != nil {
				return err
			}
			c.Set(ctxSession, sess)
			c.Set(ctxBasic, true)
			s.warmUp()
			return next(c)
		}
		if ck, err := r.Cookie(CookieName); err == nil {
			if sess := s.sessions.get(ck.Value); sess != nil {
				c.Set(ctxSession, sess)
				return next(c)
			}
		}
		return s.unauthorized(c)
	}
}

func (s *Server) unauthorized(c echo.Context) error {
	r := c.Request()
	switch {
	case strings.HasPrefix(r.URL.Path, "/api/") || r.URL.Path == "/metrics" || r.Header.Get("Authorization") != "":
		c.Response().Header().Set("WWW-Authenticate", `Basic realm="config-editor", charset="UTF-8"`)
		return c.JSON(http.StatusUnauthorized, apiError{Message: "Authentication required: log in, or use HTTP basic auth as quayconfig."})
	case r.Header.Get("HX-Request") == "true":
		c.Response().Header().Set("HX-Redirect", "/login")
		return c.NoContent(http.StatusUnauthorized)
	default:
		return c.Redirect(http.StatusSeeOther, "/login")
	}
}

func (s *Server) tooMany(c echo.Context, wait time.Duration) error {
	secs := int(wait.Round(time.Second) / time.Second)
	if secs < 1 {
		secs = 1
	}
	c.Response().Header().Set("Retry-After", strconv.Itoa(secs))
	msg := "Too many failed logins from your address; try again in " + strconv.Itoa(secs) + " seconds."
	if strings.HasPrefix(c.Request().URL.Path, "/api/") || c.Request().Header.Get("Authorization") != "" {
		return c.JSON(http.StatusTooManyRequests, apiError{Message: msg})
	}
	return s.render(c, http.StatusTooManyRequests, "login", map[string]any{"Error": msg})
}

func (s *Server) loginPage(c echo.Context) error {
	if ck, err := c.Request().Cookie(CookieName); err == nil && s.sessions.get(ck.Value) != nil {
		return c.Redirect(http.StatusSeeOther, "/")
	}
	return s.render(c, http.StatusOK, "login", nil)
}

// login checks the form, then starts a session with a fresh working copy.
func (s *Server) login(c echo.Context) error {
	if crossSite(c.Request()) {
		return echo.NewHTTPError(http.StatusForbidden, "Cross-site login refused.")
	}
	ip := c.RealIP()
	if wait := s.limiter.blocked(ip); wait > 0 {
		return s.tooMany(c, wait)
	}
	user := c.FormValue("username")
	if user == "" {
		user = User
	}
	if !s.checkPassword(user, c.FormValue("password")) {
		s.limiter.fail(ip)
		s.metrics.loginFailures.Inc()
		s.log.Warn("login failed", "request_id", requestID(c), "ip", ip)
		return s.render(c, http.StatusUnauthorized, "login", map[string]any{"Error": "Wrong user name or password."})
	}
	sess, err := s.newSession(User)
	if err != nil {
		s.log.Error("cannot load the bundle for a new session", "request_id", requestID(c), "err", err.Error())
		return s.render(c, http.StatusInternalServerError, "login",
			map[string]any{"Error": "The mounted bundle cannot be read: " + err.Error()})
	}
	s.sessions.add(sess)
	s.warmUp()
	s.log.Info("login", "request_id", requestID(c), "ip", ip)
	c.SetCookie(&http.Cookie{
		Name: CookieName, Value: sess.ID, Path: "/",
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: s.tls != nil,
	})
	return redirect(c, "/")
}

func (s *Server) logout(c echo.Context) error {
	if ck, err := c.Request().Cookie(CookieName); err == nil {
		s.sessions.remove(ck.Value)
	}
	c.SetCookie(&http.Cookie{
		Name: CookieName, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: s.tls != nil,
	})
	return redirect(c, "/login")
}

// redirect sends a browser (303) or htmx (HX-Redirect) elsewhere.
func redirect(c echo.Context, to string) error {
	if c.Request().Header.Get("HX-Request") == "true" {
		c.Response().Header().Set("HX-Redirect", to)
		return c.NoContent(http.StatusOK)
	}
	return c.Redirect(http.StatusSeeOther, to)
}

// loginLimiter counts failed logins per client IP in a sliding window.
type loginLimiter struct {
	mu     sync.Mutex
	max    int
	window time.Duration
	now    func() time.Time
	fails  map[string][]time.Time
}

func newLoginLimiter(max int, window time.Duration, now func() time.Time) *loginLimiter {
	return &loginLimiter{max: max, window: window, now: now, fails: map[string][]time.Time{}}
}

// blocked returns how long ip must wait, 0 when it may try.
func (l *loginLimiter) blocked(ip string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	ts := l.recent(ip)
	if len(ts) < l.max {
		return 0
	}
	return ts[len(ts)-l.max].Add(l.window).Sub(l.now())
}

func (l *loginLimiter) fail(ip string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.fails[ip] = append(l.recent(ip), l.now())
	if len(l.fails) > 10000 { // bound memory under a spray of addresses
		for k := range l.fails {
			if len(l.recent(k)) == 0 {
				delete(l.fails, k)
			}
		}
	}
}

// recent drops failures older than the window (caller holds mu).
func (l *loginLimiter) recent(ip string) []time.Time {
	ts := l.fails[ip]
	cut := l.now().Add(-l.window)
	i := 0
	for i < len(ts) && !ts[i].After(cut) {
		i++
	}
	ts = ts[i:]
	if len(ts) == 0 {
		delete(l.fails, ip)
		return nil
	}
	l.fails[ip] = ts
	return ts
}
