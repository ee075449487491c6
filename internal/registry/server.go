package registry

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/distribution/distribution/v3/registry/api/errcode"
	"github.com/distribution/distribution/v3/registry/handlers"
	storagedriver "github.com/distribution/distribution/v3/registry/storage/driver"
	"github.com/opencontainers/go-digest"
	"github.com/sirupsen/logrus"
)

// Options tune a Server.
type Options struct {
	// Addr overrides the listen address (default Config.Addr).
	Addr string
	// Listener, when set, is used instead of listening on Addr.
	Listener net.Listener
	// CAFile holds the trusted roots (system plus the bundle's extra CAs,
	// see TrustBundleCAs), for clients that take a CA file.
	CAFile string
	// Storage opens the storage driver (default OpenGeo: every location,
	// writes to the preferred one, reads falling back to the others).
	Storage StorageOpener
	// Log receives the runtime's messages (default stderr); LogLevel is
	// debug, info, warn or error (default info).
	Log      io.Writer
	LogLevel string
	// ShutdownTimeout bounds the graceful shutdown: requests still running
	// then (uploads included) are cut off (default 30s).
	ShutdownTimeout time.Duration
	// HealthTTL is how long a health result is reused (default 5s).
	HealthTTL time.Duration
	// ProbeTimeout bounds each health check (default 5s).
	ProbeTimeout time.Duration
	// Replication tunes the replication workers (FEATURE_STORAGE_REPLICATION
	// with several locations); Workers 0 means the default, -1 none.
	Replication ReplicationOptions
}

// Server is a running registry: distribution's application behind the
// front door (logins, health, metrics, referrers).
type Server struct {
	cfg     *Config
	opts    Options
	log     *slog.Logger
	app     *handlers.App
	driver  storagedriver.StorageDriver
	auth    *authenticator
	metrics *metrics
	health  *healthChecker
	handler http.Handler
	repl    *Replicator // nil without replication

	mu  sync.Mutex
	srv *http.Server
	ln  net.Listener
}

// logrus is distribution's logger and process-wide: it writes to the log
// of the server made last.
var (
	logrusOnce sync.Once
	logrusOut  = &swapWriter{w: os.Stderr}
)

type swapWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *swapWriter) set(w io.Writer) {
	s.mu.Lock()
	s.w = w
	s.mu.Unlock()
}

func (s *swapWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// New prepares the runtime: opens the storage, builds distribution's
// application and the front door. It does not listen yet.
func New(ctx context.Context, cfg *Config, opts Options) (*Server, error) {
	if opts.Storage == nil {
		opts.Storage = OpenGeo
	}
	if opts.Log == nil {
		opts.Log = os.Stderr
	}
	if opts.ShutdownTimeout <= 0 {
		opts.ShutdownTimeout = 30 * time.Second
	}
	if opts.HealthTTL <= 0 {
		opts.HealthTTL = 5 * time.Second
	}
	if opts.ProbeTimeout <= 0 {
		opts.ProbeTimeout = 5 * time.Second
	}
	if opts.Addr == "" {
		opts.Addr = cfg.Addr
	}
	level := slog.LevelInfo
	_ = level.UnmarshalText([]byte(opts.LogLevel))
	logrusOnce.Do(func() {
		logrus.SetOutput(logrusOut)
		logrus.SetFormatter(&logrus.TextFormatter{DisableColors: true, FullTimestamp: true})
	})
	logrusOut.set(opts.Log)
	if lv, err := logrus.ParseLevel(strings.ToLower(level.String())); err == nil {
		logrus.SetLevel(lv)
	}
	s := &Server{cfg: cfg, opts: opts, log: slog.New(slog.NewTextHandler(opts.Log, &slog.HandlerOptions{Level: level}))}

	d, err := opts.Storage(ctx, cfg.Storage)
	if err != nil {
		key := "DISTRIBUTED_STORAGE_CONFIG"
		if p := cfg.Storage.Preferred(); p.Name != "" {
			key += "." + p.Name
		}
		return nil, &StartError{Key: key, Msg: err.Error()}
	}
	s.driver = d
	if g, ok := d.(*geoDriver); ok && cfg.Storage.Replication {
		pool, err := OpenQueue(ctx, cfg)
		if err != nil {
			return nil, &StartError{Key: "DB_URI", Msg: err.Error()}
		}
		ro := opts.Replication
		switch {
		case ro.Workers == 0:
			ro.Workers = 2
		case ro.Workers < 0:
			ro.Workers = 0
		}
		s.repl = newReplicator(pool, g, cfg.Storage, ro, s.log)
	}
	s.auth = newAuthenticator(cfg.Auth, cfg.bundle, cfg.Hostname)
	storageID, dropStorage := handOff(d)
	defer dropStorage()
	authID, dropAuth := prepareController(s.auth)
	defer dropAuth()
	app, err := cfg.newApp(ctx, cfg.distributionConfig(storageID, authID, opts.CAFile))
	if err != nil {
		return nil, err
	}
	s.app = app
	s.metrics = newMetrics()
	if s.repl != nil {
		s.metrics.reg.MustRegister(&queueCollector{r: s.repl})
	}
	s.health = newHealthChecker(s)
	s.handler = s.metrics.instrument(http.HandlerFunc(s.serve))
	for _, loc := range cfg.Storage.Locations {
		for _, n := range loc.Notes {
			s.log.Warn("storage location " + loc.Name + ": " + n)
		}
	}
	return s, nil
}

// Handler is the registry's HTTP handler.
func (s *Server) Handler() http.Handler { return s.handler }

// Listen binds the listen address (Options.Addr, else :8443 with TLS or
// :8080 without).
func (s *Server) Listen() error {
	ln := s.opts.Listener
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", s.opts.Addr); err != nil {
			return fmt.Errorf("cannot listen on %s: %w", s.opts.Addr, err)
		}
	}
	s.mu.Lock()
	s.ln = ln
	s.srv = &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	if s.cfg.TLS != nil {
		s.srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{*s.cfg.TLS}, MinVersion: tls.VersionTLS12}
	}
	s.mu.Unlock()
	return nil
}

// Addr is the bound address (after Listen).
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return ""
	}
	return s.ln.Addr().String()
}

// Run listens (unless Listen was called), serves until ctx is done, then
// shuts down gracefully: no new connections, running requests get
// ShutdownTimeout to finish, then they are cut off (an upload cut off
// leaves only its upload state, which the runtime purges later).
func (s *Server) Run(ctx context.Context) error {
	if s.Addr() == "" {
		if err := s.Listen(); err != nil {
			return err
		}
	}
	s.mu.Lock()
	srv, ln := s.srv, s.ln
	s.mu.Unlock()
	scheme := "http"
	if srv.TLSConfig != nil {
		scheme = "https"
	}
	s.log.Info("registry serving", "addr", ln.Addr().String(), "scheme", scheme, "url", s.cfg.BaseURL(),
		"storage", s.cfg.Storage.Preferred().Describe(), "auth", s.cfg.Auth.Kind, "anonymous_pull", s.cfg.Auth.Anonymous)
	replDone := make(chan struct{})
	rctx, stopRepl := context.WithCancel(context.WithoutCancel(ctx))
	if s.repl != nil {
		s.log.Info("storage replication on", "preferred", s.cfg.Storage.Preferred().Name,
			"default_locations", strings.Join(s.cfg.Storage.DefaultLocations, ","), "workers", s.repl.opts.Workers)
		go func() { s.repl.Run(rctx); close(replDone) }()
	} else {
		close(replDone)
	}
	defer func() {
		stopRepl()
		<-replDone
		if s.repl != nil {
			s.repl.Close()
		}
	}()
	errc := make(chan error, 1)
	go func() {
		if srv.TLSConfig != nil {
			errc <- srv.ServeTLS(ln, "", "")
		} else {
			errc <- srv.Serve(ln)
		}
	}()
	select {
	case err := <-errc:
		_ = s.app.Shutdown()
		return err
	case <-ctx.Done():
	}
	s.log.Info("registry shutting down", "drain", s.opts.ShutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.Background(), s.opts.ShutdownTimeout)
	defer cancel()
	err := srv.Shutdown(sctx)
	if errors.Is(err, context.DeadlineExceeded) {
		s.log.Warn("requests still running after the drain timeout were cut off")
		_ = srv.Close()
		err = nil
	}
	<-errc
	_ = s.app.Shutdown()
	s.log.Info("registry stopped")
	return err
}

// serve is the front door.
func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/health/instance":
		s.health.serve(w, r, false)
		return
	case "/health/endtoend":
		s.health.serve(w, r, true)
		return
	case "/metrics":
		s.metrics.serve(w, r)
		return
	}
	st := &reqState{}
	user, pass, basic := r.BasicAuth()
	anonymousBasic := basic && user == "" && pass == "" // some clients send ":" when they have nothing
	if r.Header.Get("Authorization") != "" && !anonymousBasic {
		if !basic {
			s.unauthorized(w, "only HTTP Basic credentials are accepted")
			return
		}
		addr := clientAddr(r)
		if wait := s.auth.limiter.wait(addr); wait > 0 {
			secs := int((wait + time.Second - 1) / time.Second)
			w.Header().Set("Retry-After", strconv.Itoa(secs))
			_ = errcode.ServeJSON(w, errcode.ErrorCodeTooManyRequests.WithMessage(
				fmt.Sprintf("too many failed logins from your address; try again in %d seconds", secs)))
			return
		}
		name, err := s.auth.verify(r.Context(), user, pass)
		if err != nil {
			s.log.Error("login could not be checked", "user", user, "err", err.Error())
			_ = errcode.ServeJSON(w, errcode.ErrorCodeUnavailable.WithMessage("the login service is not available; try again later"))
			return
		}
		if name == "" {
			s.auth.limiter.fail(addr)
			s.metrics.loginFailures.Inc()
			s.log.Warn("login failed", "user", user, "client", addr)
			s.unauthorized(w, "wrong user name or password")
			return
		}
		st.user = name
	}
	r = r.WithContext(context.WithValue(r.Context(), stateKey{}, st))
	if s.repl != nil && isBlobUpload(r) {
		// the copies of this process yield while it is served (yield.go)
		defer s.repl.UploadBegin()()
	}
	if repo, ref, ok := splitAPIPath(r.URL.Path, "referrers"); ok {
		s.referrers(w, r, st, repo, ref)
		return
	}
	var out http.ResponseWriter = &denyWriter{ResponseWriter: w, st: st}
	if repo, ref, ok := splitAPIPath(r.URL.Path, "manifests"); ok && r.Method == http.MethodPut {
		{
			m, body, err := readManifestPut(r)
			if err != nil {
				_ = errcode.ServeJSON(w, errcode.ErrorCodeUnknown.WithMessage("reading the manifest failed"))
				return
			}
			alias, isAlias := otherDigest(ref)
			if isAlias && body != nil {
				// pushed by a sha512 digest: check it, store under sha256
				if !alias.Algorithm().Available() || alias.Algorithm().FromBytes(body) != alias {
					_ = errcode.ServeJSON(w, errcode.ErrorCodeDigestInvalid.WithDetail("the manifest does not have the digest it was pushed by"))
					return
				}
				r.URL.Path = "/v2/" + repo + "/manifests/" + digest.FromBytes(body).String()
				r.URL.RawPath = ""
			} else {
				alias = ""
			}
			if m != nil || alias != "" {
				out = &manifestPutWriter{ResponseWriter: out, s: s, ctx: r.Context(), repo: repo, alias: alias, m: m, size: int64(len(body))}
			}
		}
	} else if repo, d, mount, ok := blobRequestDigest(r); ok {
		out = &digestWriter{ResponseWriter: out, s: s, ctx: r.Context(), repo: repo, want: d, mount: mount, from: r.URL.Query().Get("from")}
	}
	s.app.ServeHTTP(out, r)
}

func (s *Server) unauthorized(w http.ResponseWriter, msg string) {
	challenge{realm: s.auth.realm}.SetHeaders(nil, w)
	_ = errcode.ServeJSON(w, errcode.ErrorCodeUnauthorized.WithMessage(msg))
}

// denyWriter turns distribution's 401 into 403 DENIED when the user is
// logged in and only lacks the permission: logging in again cannot help.
type denyWriter struct {
	http.ResponseWriter
	st        *reqState
	swallowed bool
}

func (d *denyWriter) WriteHeader(code int) {
	if code == http.StatusUnauthorized && d.st.denied {
		d.Header().Del("WWW-Authenticate")
		_ = errcode.ServeJSON(d.ResponseWriter, errcode.ErrorCodeDenied)
		d.swallowed = true
		return
	}
	d.ResponseWriter.WriteHeader(code)
}

func (d *denyWriter) Write(b []byte) (int, error) {
	if d.swallowed {
		return len(b), nil
	}
	return d.ResponseWriter.Write(b)
}

func (d *denyWriter) Unwrap() http.ResponseWriter { return d.ResponseWriter }

func (d *denyWriter) Flush() {
	if f, ok := d.ResponseWriter.(http.Flusher); ok && !d.swallowed {
		f.Flush()
	}
}

// isBlobUpload: a request that starts, sends or finishes a blob upload
// (POST, PATCH or PUT under /v2/<name>/blobs/uploads/).
func isBlobUpload(r *http.Request) bool {
	switch r.Method {
	case http.MethodPost, http.MethodPatch, http.MethodPut:
	default:
		return false
	}
	p := r.URL.Path
	return strings.HasPrefix(p, "/v2/") && (strings.Contains(p, "/blobs/uploads/") || strings.HasSuffix(p, "/blobs/uploads"))
}
