package editor

import (
	"io"
	"log/slog"
	"time"

	"github.com/quay-tools/config-editor/internal/bundle"
	"github.com/quay-tools/config-editor/internal/secret"
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
	// StateDir keeps the users' working copies on disk (state.go); empty:
	// next to the bundle (DefaultStateDir), or a temp dir when that is not
	// writable.
	StateDir string
	// Password of the user quayconfig (required); it leaves only to be
	// digested (New) and measured (the weak-password warning).
	Password secret.Secret
	// Addr to listen on (":8080").
	Addr string
	// TLSCert and TLSKey are PEM file paths; both or neither.
	TLSCert, TLSKey string
	// ReadOnlyGroups are field groups shown but not editable (-r).
	ReadOnlyGroups []string
	// Operator, when set, is Operator mode: BundlePath is its Dir() and
	// "Reconfigure Quay" pushes to its QuayRegistry (operator.go).
	Operator *Operator
	// Version is shown in pages and the OpenAPI document.
	Version string
	// Logger receives structured logs (discarded when nil).
	Logger *slog.Logger
	// ValidateTimeout bounds each online probe (validators.DefaultTimeout).
	ValidateTimeout time.Duration
	// MaxOnlineValidations bounds the online validations running at once in
	// the process (4); each session runs at most one.
	MaxOnlineValidations int
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
	// MaxBundleBytes bounds one bundle, config.yaml and files uncompressed,
	// whether mounted, uploaded or PUT (16 MiB, the body limit).
	MaxBundleBytes int64
	// MaxSessionBytes bounds what one session holds: its working copy and
	// the bundle it was loaded from, shared files once (2 x MaxBundleBytes).
	MaxSessionBytes int64
	// MaxHeldBytes bounds what all sessions hold together (512 MiB); a
	// change past it is refused, a login past it evicts the least recently
	// used sessions.
	MaxHeldBytes int64
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
	if c.MaxOnlineValidations <= 0 {
		c.MaxOnlineValidations = 4
	}
	if c.MaxNodes <= 0 {
		c.MaxNodes = 20000
	}
	if c.MaxBundleBytes <= 0 {
		c.MaxBundleBytes = BundleBodyLimit
	}
	if c.MaxSessionBytes <= 0 {
		c.MaxSessionBytes = 2 * c.MaxBundleBytes
	}
	if c.MaxHeldBytes <= 0 {
		c.MaxHeldBytes = 512 << 20
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

// bundleLimits are the limits of every bundle the editor reads.
func (c Config) bundleLimits() bundle.Limits {
	return bundle.Limits{MaxNodes: c.MaxNodes, MaxTotalBytes: c.MaxBundleBytes}
}

// memBudget is the accounting of the bytes sessions hold.
func (c Config) memBudget() *memBudget {
	return &memBudget{perSession: c.MaxSessionBytes, max: c.MaxHeldBytes}
}
