// Package editor is the web editor and the /api/v1/config API: an echo
// server with login sessions and HTTP basic auth, CSRF protection, a
// per-session working copy of the bundle, the historical JSON API, the
// htmx pages (pages*.go) and Prometheus metrics.
//
// Middleware order: Recover -> Secure headers -> RequestID -> slog request
// logger -> pre-authentication body cap (a few KiB, short deadline) -> auth
// -> body limit of the route -> CSRF.
package editor

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/quay-tools/config-editor/internal/bundle"
	"github.com/quay-tools/config-editor/internal/schema"
)

// Server is one editor instance. Create it with New.
type Server struct {
	cfg      Config
	e        *echo.Echo
	log      *slog.Logger
	tls      *tls.Config
	sessions *sessionStore
	assets   *assets
	limiter  *loginLimiter
	online   *onlineRuns // online validations running
	metrics  *metrics
	tmpl     map[string]*template.Template // page name -> parsed set
	partials *template.Template            // layout + partials (named fragments)
	readOnly map[string]bool
	limits   bundle.Limits
	budget   *memBudget // bundle bytes held by working copies
	// copies are the users' working copies (session.go), state keeps
	// them on disk (state.go; nil: memory only).
	copiesMu sync.Mutex
	copies   map[string]*Copy
	state    *stateStore
	// setupDir is a mounted directory without config.yaml: setup
	// sessions with defaults that "Save to" writes into (setup.go).
	setupDir string
	warm     sync.Once
	// crossOrigin refuses cross-origin state-changing requests (csrf).
	crossOrigin *http.CrossOriginProtection

	// Login: the password's SHA-256, the key that signs known-device
	// cookies (random per process), the trusted proxies, and whether the
	// log has said once that X-Forwarded-For is ignored.
	pwDigest  [32]byte
	deviceKey [32]byte
	proxies   []netip.Prefix
	xffWarned atomic.Bool
}

// New checks the configuration (password set, TLS pair loadable, bundle
// readable), parses the templates and builds the router. It never falls
// back to plain HTTP when TLS files were given but cannot be loaded.
func New(cfg Config) (*Server, error) {
	cfg = cfg.withDefaults()
	if cfg.Password == "" {
		return nil, errors.New("no password: give -p PASSWORD or set CONFIG_EDITOR_PASSWORD; the editor never runs without authentication")
	}
	s := &Server{cfg: cfg, log: cfg.Logger, readOnly: map[string]bool{}, crossOrigin: http.NewCrossOriginProtection()}
	for _, g := range cfg.ReadOnlyGroups {
		if schema.Get().Group(g) == nil {
			return nil, fmt.Errorf("unknown field group %q in the read-only groups (-r); field groups are named like Database, Redis, DistributedStorage", g)
		}
		s.readOnly[g] = true
	}
	s.limits, s.budget = cfg.bundleLimits(), cfg.memBudget()
	s.pwDigest = passwordDigest(cfg.Password.Reveal())
	if _, err := rand.Read(s.deviceKey[:]); err != nil {
		return nil, err
	}
	proxies, err := ParseTrustedProxies(cfg.TrustedProxies)
	if err != nil {
		return nil, err
	}
	s.proxies = proxies
	if cfg.TLSCert != "" || cfg.TLSKey != "" {
		if cfg.TLSCert == "" || cfg.TLSKey == "" {
			return nil, errors.New("TLS needs both a certificate and a key (CONFIG_TOOL_PUBLIC_KEY and CONFIG_TOOL_PRIVATE_KEY, or --tls-cert and --tls-key)")
		}
		pair, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey)
		if err != nil {
			return nil, fmt.Errorf("cannot load the TLS certificate %s and key %s: %w (refusing to start without TLS)", cfg.TLSCert, cfg.TLSKey, err)
		}
		s.tls = &tls.Config{MinVersion: tls.VersionTLS12, CipherSuites: aeadSuites, Certificates: []tls.Certificate{pair}}
	}
	if cfg.BundlePath != "" && emptyBundleDir(cfg.BundlePath) {
		// a freshly mounted empty volume: set up a new configuration
		s.setupDir, s.cfg.BundlePath = cfg.BundlePath, ""
		s.log.Info("the bundle directory has no config.yaml: starting setup sessions with defaults; nothing is written into it until you choose \"Save to\" in the editor (or POST /api/v1/config/save)",
			"dir", s.setupDir)
	} else if cfg.BundlePath != "" {
		// Fail at start-up, not at the first login, when the bundle is unreadable.
		if _, err := bundle.Read(cfg.BundlePath, s.limits); err != nil {
			return nil, fmt.Errorf("cannot read bundle %s: %w", cfg.BundlePath, err)
		}
	}
	stateDir := cfg.StateDir
	if stateDir == "" {
		stateDir = DefaultStateDir(cfg.BundlePath)
	}
	s.copies, s.state = map[string]*Copy{}, openStateStore(stateDir, s.log)
	if s.assets, err = loadAssets(webFS); err != nil {
		return nil, err
	}
	if err := s.parseTemplates(); err != nil {
		return nil, err
	}
	s.sessions = newSessionStore(cfg.SessionTTL, cfg.MaxSessions, cfg.Now)
	s.limiter = newLoginLimiter(cfg.LoginFailures, time.Minute, maxThrottledClients, cfg.Now)
	s.online = newOnlineRuns(cfg.MaxOnlineValidations)
	s.metrics = newMetrics()
	s.e = s.router()
	return s, nil
}

// aeadSuites are the TLS 1.2 suites the editor accepts: ECDHE with an AEAD
// cipher only (no CBC, no RSA key exchange). TLS 1.3 suites are all AEAD
// and not configurable.
var aeadSuites = []uint16{
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
}

// maxThrottledClients bounds the failed-login table.
const maxThrottledClients = 10000

// ParseTrustedProxies reads --trusted-proxies: CIDRs or single addresses.
func ParseTrustedProxies(list []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range list {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("trusted proxy %q is neither a CIDR (10.128.0.0/14) nor an address", s)
		}
		out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return out, nil
}

// ipExtractor is the client address of a request: the TCP peer, or, when
// the peer is a trusted proxy, the right-most address of X-Forwarded-For
// that is not itself a trusted proxy. Loopback and private addresses are
// not trusted unless listed.
func (s *Server) ipExtractor() echo.IPExtractor {
	if len(s.proxies) == 0 {
		direct := echo.ExtractIPDirect()
		return func(r *http.Request) string {
			if r.Header.Get(echo.HeaderXForwardedFor) != "" && s.xffWarned.CompareAndSwap(false, true) {
				s.log.Warn("a request carries X-Forwarded-For, which is ignored: no --trusted-proxies are set, so every client behind that proxy shares one address (and one failed-login budget); list the proxy's addresses in --trusted-proxies",
					"peer", direct(r))
			}
			return direct(r)
		}
	}
	opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	for _, p := range s.proxies {
		opts = append(opts, echo.TrustIPRange(&net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}))
	}
	return echo.ExtractIPFromXFFHeader(opts...)
}

// Handler returns the router (tests call Handler().ServeHTTP).
func (s *Server) Handler() http.Handler { return s.e }

// TLS reports whether the server serves HTTPS.
func (s *Server) TLS() bool { return s.tls != nil }

func (s *Server) router() *echo.Echo {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	// The client address is the TCP peer; X-Forwarded-For counts only when
	// it comes from a trusted proxy, so a forged header changes nothing.
	e.IPExtractor = s.ipExtractor()
	e.HTTPErrorHandler = s.errorHandler
	e.Use(middleware.RecoverWithConfig(middleware.RecoverConfig{
		DisableStackAll: true,
		LogErrorFunc: func(c echo.Context, err error, stack []byte) error {
			s.log.Error("panic", "request_id", requestID(c), "err", err.Error())
			return err
		},
	}))
	e.Use(middleware.SecureWithConfig(middleware.SecureConfig{
		ContentTypeNosniff:    "nosniff",
		XFrameOptions:         "DENY",
		ContentSecurityPolicy: "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'",
		ReferrerPolicy:        "no-referrer",
		HSTSMaxAge:            hstsAge(s.tls != nil),
	}))
	e.Use(s.requestID)
	e.Use(s.requestLogger)
	e.Use(s.preAuthBody)

	// Open routes: health, login and the two stylesheets the login page needs.
	getHead(e, "/healthz", s.healthz)
	getHead(e, "/login", s.loginPage)
	e.POST("/login", s.login)
	getHead(e, "/static/app.css", s.static)
	getHead(e, s.assets.url("app.css"), s.static)
	getHead(e, "/static/login.css", s.static)

	auth := e.Group("", s.requireAuth, s.bodyLimit, s.csrf)
	auth.POST("/logout", s.logout)
	getHead(auth, "/static/*", s.static)
	getHead(auth, "/metrics", s.metricsHandler())
	s.registerAPI(auth.Group("/api/v1"))
	s.registerPages(auth)
	return e
}

// router is what echo.Echo and echo.Group share for adding routes.
type router interface {
	Match(methods []string, path string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) []*echo.Route
}

// getHead routes GET and HEAD to h (net/http drops the body of a HEAD
// answer), so HEAD answers what GET would, without the body.
func getHead(r router, path string, h echo.HandlerFunc) {
	r.Match([]string{http.MethodGet, http.MethodHead}, path, h)
}

func hstsAge(tls bool) int {
	if tls {
		return 31536000
	}
	return 0
}

// Run listens on cfg.Addr and serves until ctx is cancelled, then shuts
// down gracefully (in-flight requests get ShutdownTimeout to finish).
func (s *Server) Run(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return err
	}
	return s.Serve(ctx, ln)
}

// Serve is Run on an existing listener (tests use 127.0.0.1:0).
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{
		Handler:           s.e,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       2 * time.Minute,
		WriteTimeout:      3 * time.Minute, // online validation of a whole bundle
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	scheme := "http"
	if s.tls != nil {
		ln = tls.NewListener(ln, s.tls)
		scheme = "https"
	}
	mode := "setup session with defaults (no bundle mounted)"
	if s.setupDir != "" {
		mode = "setup session with defaults, to be saved into " + s.setupDir
	} else if s.cfg.BundlePath != "" {
		mode = "bundle " + s.cfg.BundlePath
	}
	s.log.Info("config editor listening", "url", scheme+"://"+ln.Addr().String(), "source", mode,
		"read_only_groups", strings.Join(s.cfg.ReadOnlyGroups, ","))
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	stopSweep := s.sessions.startSweeper()
	defer stopSweep()
	stopLimiterSweep := s.limiter.startSweeper()
	defer stopLimiterSweep()
	if w := weakPasswordWarning(ln.Addr(), s.cfg.Password.Reveal()); w != "" {
		s.log.Warn(w)
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	s.log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// MinPasswordLength is the length below which a password on a non-loopback
// address draws a warning at start-up.
const MinPasswordLength = 12

// weakPasswordWarning is the start-up warning for a short password on an
// address other hosts can reach ("" when there is nothing to say). It is a
// warning, not a refusal: the documented container form is "config secret".
func weakPasswordWarning(addr net.Addr, password string) string {
	if utf8.RuneCountInString(password) >= MinPasswordLength {
		return ""
	}
	if ta, ok := addr.(*net.TCPAddr); ok && ta.IP.IsLoopback() {
		return ""
	}
	return fmt.Sprintf("WARNING: the password is shorter than %d characters and the editor listens on %s, which other hosts can reach: "+
		"anyone who guesses it can read every secret of the bundle. Use a long random password (CONFIG_EDITOR_PASSWORD).",
		MinPasswordLength, addr.String())
}

// warmUp builds the catalogue at the first authenticated request (the
// structural checker is built with it), so an editor nobody uses stays
// small (idle RSS).
func (s *Server) warmUp() {
	s.warm.Do(func() { schema.Get() })
}

func (s *Server) healthz(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}

// errorHandler answers errors as JSON {"message": ...} on the API and as
// plain text elsewhere; 5xx causes are logged, never shown.
func (s *Server) errorHandler(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	code := http.StatusInternalServerError
	msg := "Internal server error."
	var he *echo.HTTPError
	var mbe *http.MaxBytesError
	var ne net.Error
	switch {
	case errors.As(err, &he):
		code = he.Code
		if m, ok := he.Message.(string); ok {
			msg = m
		} else {
			msg = http.StatusText(code)
		}
	case errors.As(err, &mbe):
		code = http.StatusRequestEntityTooLarge
		msg = fmt.Sprintf("Request body is larger than %d bytes.", mbe.Limit)
	case errors.As(err, &ne) && ne.Timeout():
		code = http.StatusRequestTimeout
		msg = "The request body did not arrive in time."
		c.Response().Header().Set("Connection", "close")
	}
	if code >= 500 {
		s.log.Error("request failed", "request_id", requestID(c), "route", c.Path(), "err", err.Error())
	}
	if c.Request().Method == http.MethodHead {
		_ = c.NoContent(code)
		return
	}
	if wantsJSON(c) {
		_ = c.JSON(code, apiError{Message: msg})
		return
	}
	_ = c.String(code, msg)
}

type apiError struct {
	Message string `json:"message"`
}

func wantsJSON(c echo.Context) bool {
	p := c.Request().URL.Path
	return strings.HasPrefix(p, "/api/") || p == "/metrics" || p == "/healthz" ||
		strings.Contains(c.Request().Header.Get("Accept"), "application/json")
}
