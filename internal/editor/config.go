package editor

import (
	"io"
	"log/slog"
	"time"
)

// User is the only user name, as in the historical editor.
const User = "quayconfig"

// Body limits: bundle routes take real bundles with certificates; forms are
// small; before authentication (the login form) a body is a few KiB and
// must arrive quickly.
const (
	BundleBodyLimit    = 16 << 20
	FormBodyLimit      = 64 << 10
	PreAuthBodyLimit   = 4 << 10
	PreAuthBodyTimeout = 10 * time.Second
	AuthBodyTimeout    = 2 * time.Minute
)

// Config is what New needs. Zero fields take the defaults noted.
type Config struct {
	// BundlePath is the mounted bundle (directory, quay-config.tar.gz or
	// config.yaml); empty starts setup sessions with defaults.
	BundlePath string
	// Password of the user quayconfig (required).
	Password string
	// Addr to listen on (":8080").
	Addr string
	// TLSCert and TLSKey are PEM file paths; both or neither.
	TLSCert, TLSKey string
	// ReadOnlyGroups are field groups shown but not editable (-r).
	ReadOnlyGroups []string
	// Version is shown in pages and the OpenAPI document.
	Version string
	// Logger receives structured logs (discarded when nil).
	Logger *slog.Logger
	// ValidateTimeout bounds each online probe (validators.DefaultTimeout).
	ValidateTimeout time.Duration
	// SessionTTL is the idle lifetime of a login session (8h).
	SessionTTL time.Duration
	// MaxSessions caps live sessions; the least recently used goes first (1000).
	MaxSessions int
	// LoginFailures per client per minute before 429 (5).
	LoginFailures int
	// TrustedProxies are CIDRs (or addresses) of reverse proxies whose
	// X-Forwarded-For names the client (--trusted-proxies); none by default.
	TrustedProxies []string
	// MaxNodes bounds the values of a submitted config (20000).
	MaxNodes int
	// PreAuthTimeout bounds the reading of a body before authentication,
	// the login form's (PreAuthBodyTimeout).
	PreAuthTimeout time.Duration
	// ShutdownTimeout lets in-flight requests finish on SIGTERM (15s).
	ShutdownTimeout time.Duration
	// Now is the clock (time.Now).
	Now func() time.Time
}

func (c Config) withDefaults() Config {
	if c.Addr == "" {
		c.Addr = ":8080"
	}
	if c.Version == "" {
		c.Version = "dev"
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if c.SessionTTL <= 0 {
		c.SessionTTL = 8 * time.Hour
	}
	if c.MaxSessions <= 0 {
		c.MaxSessions = 1000
	}
	if c.LoginFailures <= 0 {
		c.LoginFailures = 5
	}
	if c.MaxNodes <= 0 {
		c.MaxNodes = 20000
	}
	if c.PreAuthTimeout <= 0 {
		c.PreAuthTimeout = PreAuthBodyTimeout
	}
	if c.ShutdownTimeout <= 0 {
		c.ShutdownTimeout = 15 * time.Second
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}
