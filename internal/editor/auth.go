package editor

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
)

// CookieName is the session cookie.
const CookieName = "config_editor_session"

// passwordDigest hashes a candidate password; checkDigest compares it in
// constant time (hashing first, so the length of the password does not
// leak either). Hashing happens outside the limiter's lock, the cheap
// comparison inside it.
func passwordDigest(password string) [sha256.Size]byte { return sha256.Sum256([]byte(password)) }

func (s *Server) checkDigest(user string, got [sha256.Size]byte) bool {
	okUser := subtle.ConstantTimeCompare([]byte(user), []byte(User))
	okPass := subtle.ConstantTimeCompare(s.pwDigest[:], got[:])
	return okUser&okPass == 1
}

// requireAuth admits a request with a live session cookie or valid HTTP
// basic credentials. Others: API and metrics get 401 with a Basic
// challenge; htmx requests get HX-Redirect; browsers a redirect to /login.
// A basic-auth password is checked and, when wrong, counted in one step
// under the limiter's lock (see loginLimiter.attempt).
func (s *Server) requireAuth(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		if user, pass, ok := r.BasicAuth(); ok {
			key := s.throttleKey(c, false)
			digest := passwordDigest(pass)
			good, wait := s.limiter.attempt(key, func() bool { return s.checkDigest(user, digest) })
			if wait > 0 {
				return s.tooMany(c, wait)
			}
			if !good {
				s.metrics.loginFailures.Inc()
				s.log.Warn("basic auth failed", "request_id", requestID(c), "ip", c.RealIP())
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
	case r.Header.Get(hxRequest) == "true":
		c.Response().Header().Set(hxRedirect, "/login")
		return c.NoContent(http.StatusUnauthorized)
	default:
		return c.Redirect(http.StatusSeeOther, loginURL(r))
	}
}

func (s *Server) tooMany(c echo.Context, wait time.Duration) error {
	secs := int(wait.Round(time.Second) / time.Second)
	if secs < 1 {
		secs = 1
	}
	c.Response().Header().Set("Retry-After", strconv.Itoa(secs))
	msg := "Too many failed logins from your address or browser; try again in " + strconv.Itoa(secs) + " seconds."
	if strings.HasPrefix(c.Request().URL.Path, "/api/") || c.Request().Header.Get("Authorization") != "" {
		return c.JSON(http.StatusTooManyRequests, apiError{Message: msg})
	}
	return s.render(c, http.StatusTooManyRequests, "login", map[string]any{"Error": msg})
}

func (s *Server) loginPage(c echo.Context) error {
	if ck, err := c.Request().Cookie(CookieName); err == nil && s.sessions.get(ck.Value) != nil {
		return c.Redirect(http.StatusSeeOther, safeNext(c.QueryParam("next")))
	}
	return s.render(c, http.StatusOK, "login", map[string]any{"Next": safeNext(c.QueryParam("next"))})
}

// login reads the (small, pre-authentication) form, then checks the
// password and counts a failure in one step, so requests held open while
// their bodies trickle in cannot all be compared before the first failure
// is counted. A correct password starts a session with a fresh working copy
// and marks the browser as a known device (see throttleKey).
func (s *Server) login(c echo.Context) error {
	if s.crossSite(c.Request()) {
		return echo.NewHTTPError(http.StatusForbidden, "Cross-site login refused.")
	}
	key := s.throttleKey(c, true)
	if wait := s.limiter.blocked(key); wait > 0 {
		return s.tooMany(c, wait) // do not even read the body
	}
	user, password, err := readLoginForm(c)
	if err != nil {
		return err
	}
	if user == "" {
		user = User
	}
	digest := passwordDigest(password)
	good, wait := s.limiter.attempt(key, func() bool { return s.checkDigest(user, digest) })
	if wait > 0 {
		return s.tooMany(c, wait)
	}
	ip := c.RealIP()
	if !good {
		s.metrics.loginFailures.Inc()
		s.log.Warn("login failed", "request_id", requestID(c), "ip", ip)
		return s.render(c, http.StatusUnauthorized, "login", map[string]any{"Error": "Wrong user name or password.", "Next": safeNext(c.FormValue("next"))})
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
	if s.knownDevice(c) == "" {
		c.SetCookie(&http.Cookie{
			Name: DeviceCookieName, Value: s.newDeviceToken(), Path: "/login", MaxAge: int(deviceCookieAge / time.Second),
			HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: s.tls != nil,
		})
	}
	return redirect(c, safeNext(c.FormValue("next")))
}

// readLoginForm parses the login form (urlencoded or multipart) from the
// body that preAuthBody capped: too large is 413, malformed 400; neither
// counts as a failed login.
func readLoginForm(c echo.Context) (user, password string, err error) {
	r := c.Request()
	if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
		err = r.ParseMultipartForm(PreAuthBodyLimit)
	} else {
		err = r.ParseForm()
	}
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			c.Response().Header().Set("Connection", "close")
			return "", "", echo.NewHTTPError(http.StatusRequestEntityTooLarge,
				"The login form is larger than "+humanBytes(mbe.Limit)+".")
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			c.Response().Header().Set("Connection", "close")
			return "", "", echo.NewHTTPError(http.StatusRequestTimeout, "The login form did not arrive in time.")
		}
		return "", "", echo.NewHTTPError(http.StatusBadRequest, "The login form could not be read.")
	}
	return r.PostFormValue("username"), r.PostFormValue("password"), nil
}

// logout ends the login. While the working copy has changes that were
// neither downloaded, pushed nor saved, it first asks (confirm=1 skips
// the question); the copy itself stays either way (it is the user's).
func (s *Server) logout(c echo.Context) error {
	if sess := s.sessionOf(c); sess != nil && !viaBasic(c) && c.FormValue("confirm") != "1" {
		sess.Lock()
		defer sess.Unlock()
		if sess.Unexported() {
			p := &pages{s: s}
			return p.page(c, sess, http.StatusOK, "logout", "", "Log out?", &logoutData{StateKept: s.state != nil})
		}
	}
	return s.endLogin(c)
}

// endLogin forgets the login of the request's cookie.
func (s *Server) endLogin(c echo.Context) error {
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
	if c.Request().Header.Get(hxRequest) == "true" {
		c.Response().Header().Set(hxRedirect, to)
		return c.NoContent(http.StatusOK)
	}
	return c.Redirect(http.StatusSeeOther, to)
}

// Lockout design (see README "Failed logins"): failures are counted per
// client, never globally, so an attacker can only lock out the address it
// sends from.
//
//   - The client is the TCP peer, or with --trusted-proxies the address a
//     trusted proxy put into X-Forwarded-For (echo's IPExtractor walks the
//     header from the right and stops at the first untrusted hop, so a
//     client cannot forge its own address). IPv6 clients are counted per
//     /64, the block one host usually controls.
//   - A browser that once logged in carries a signed known-device cookie
//     (Path=/login, 30 days); its form logins are counted under that device,
//     not under its address. A guesser who shares the admin's address (a
//     NAT, or a proxy that passes TLS through and so cannot add
//     X-Forwarded-For) exhausts the address's budget but not the admin's.
//   - A throttled client gets 429 whether its password is right or wrong:
//     comparing it and letting a right one through would turn the 429 into
//     an unlimited oracle.
//   - The check, the comparison and the count happen in one step under the
//     limiter's lock, so concurrent attempts cannot exceed the budget.
//
// throttleKey names the failure budget of a request. The known-device
// cookie counts only for the login form (the cookie's path).
func (s *Server) throttleKey(c echo.Context, form bool) string {
	if form {
		if id := s.knownDevice(c); id != "" {
			return "device:" + id
		}
	}
	ip := c.RealIP()
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return "ip:" + ip
	}
	a = a.Unmap()
	if a.Is6() {
		p, _ := a.Prefix(64)
		return "net:" + p.String()
	}
	return "ip:" + a.String()
}

// DeviceCookieName marks a browser that logged in before (see throttleKey).
const DeviceCookieName = "config_editor_device"

const deviceCookieAge = 30 * 24 * time.Hour

// newDeviceToken is a random id and its MAC under the server's key.
func (s *Server) newDeviceToken() string {
	var id [16]byte
	_, _ = rand.Read(id[:])
	return base64.RawURLEncoding.EncodeToString(append(id[:], s.deviceMAC(id[:])...))
}

func (s *Server) deviceMAC(id []byte) []byte {
	m := hmac.New(sha256.New, s.deviceKey[:])
	m.Write(id)
	return m.Sum(nil)[:16]
}

// knownDevice returns the id of a valid known-device cookie, "" otherwise.
func (s *Server) knownDevice(c echo.Context) string {
	ck, err := c.Request().Cookie(DeviceCookieName)
	if err != nil {
		return ""
	}
	raw, err := base64.RawURLEncoding.DecodeString(ck.Value)
	if err != nil || len(raw) != 32 || !hmac.Equal(raw[16:], s.deviceMAC(raw[:16])) {
		return ""
	}
	return hex.EncodeToString(raw[:16])
}

// loginLimiter counts failed logins per key in a sliding window. The table
// is bounded (maxKeys; when full, an arbitrary other key is forgotten) and
// swept of expired keys by a ticker, not on the request path.
type loginLimiter struct {
	mu      sync.Mutex
	max     int
	window  time.Duration
	maxKeys int
	now     func() time.Time
	fails   map[string][]time.Time
}

func newLoginLimiter(max int, window time.Duration, maxKeys int, now func() time.Time) *loginLimiter {
	return &loginLimiter{max: max, window: window, maxKeys: maxKeys, now: now, fails: map[string][]time.Time{}}
}

// blocked returns how long key must wait, 0 when it may try.
func (l *loginLimiter) blocked(key string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.waitLocked(key)
}

func (l *loginLimiter) waitLocked(key string) time.Duration {
	ts := l.recent(key)
	if len(ts) < l.max {
		return 0
	}
	if w := ts[len(ts)-l.max].Add(l.window).Sub(l.now()); w > 0 {
		return w
	}
	return 0
}

// attempt decides one login attempt of key atomically: when key has no
// attempts left it returns the wait without calling check; otherwise it
// calls check (a constant-time comparison: keep it cheap, it runs under
// the lock) and counts a failure before anyone else may try.
func (l *loginLimiter) attempt(key string, check func() bool) (ok bool, wait time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if w := l.waitLocked(key); w > 0 {
		return false, w
	}
	if check() {
		return true, 0
	}
	l.failLocked(key)
	return false, 0
}

func (l *loginLimiter) failLocked(key string) {
	ts := l.recent(key)
	if ts == nil && len(l.fails) >= l.maxKeys {
		for k := range l.fails { // map order: an arbitrary key
			delete(l.fails, k)
			break
		}
	}
	if len(ts) >= l.max { // only the last max failures matter
		ts = append(ts[:0], ts[len(ts)-l.max+1:]...)
	}
	l.fails[key] = append(ts, l.now())
}

// recent drops failures older than the window (caller holds mu).
func (l *loginLimiter) recent(key string) []time.Time {
	ts, ok := l.fails[key]
	if !ok {
		return nil
	}
	cut := l.now().Add(-l.window)
	i := 0
	for i < len(ts) && !ts[i].After(cut) {
		i++
	}
	if i == len(ts) {
		delete(l.fails, key)
		return nil
	}
	if i > 0 {
		ts = append(ts[:0], ts[i:]...)
		l.fails[key] = ts
	}
	return ts
}

// sweep forgets keys whose failures all left the window.
func (l *loginLimiter) sweep() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for k := range l.fails {
		l.recent(k)
	}
}

func (l *loginLimiter) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.fails)
}

// startSweeper sweeps every window until stopped.
func (l *loginLimiter) startSweeper() (stop func()) {
	return every(l.window, l.sweep)
}

// every runs f each period on its own goroutine until stop is called.
func every(period time.Duration, f func()) (stop func()) {
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(period)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				f()
			}
		}
	}()
	return func() { close(done) }
}
