package registry

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"net"
	"strconv"
	"strings"

	"golang.org/x/crypto/bcrypt"

	"github.com/quay-tools/config-editor/internal/bundle"
	"github.com/quay-tools/config-editor/internal/problem"
	"github.com/quay-tools/config-editor/internal/schema"
	"github.com/quay-tools/config-editor/internal/secret"
)

// HtpasswdFile is the bundle file holding registry-mode credentials when
// AUTHENTICATION_TYPE is Database.
const HtpasswdFile = "registry.htpasswd"

// Default listen addresses, as in Quay's container.
const (
	AddrHTTP  = ":8080"
	AddrHTTPS = ":8443"
)

// Config is registry mode's typed view of a bundle: everything the runtime
// needs, read once from config.yaml and the bundle's files.
type Config struct {
	Hostname    string // SERVER_HOSTNAME
	Scheme      string // PREFERRED_URL_SCHEME: http or https
	ExternalTLS bool   // EXTERNAL_TLS_TERMINATION
	// TLS is the server certificate from ssl.cert/ssl.key; nil when this
	// process speaks plain HTTP (scheme http, or TLS terminated in front).
	TLS *tls.Certificate
	// Addr is where to listen by default: :8443 with TLS, :8080 without.
	Addr string
	// HTTPSecret signs upload state; derived from SECRET_KEY so every
	// replica on the bundle agrees.
	HTTPSecret secret.Secret
	// Delete enables manifest and blob deletion (someone may delete:
	// SUPER_USERS is not empty).
	Delete bool
	// RedirectDisabled makes the registry stream blobs itself instead of
	// redirecting clients to the object store (FEATURE_PROXY_STORAGE).
	RedirectDisabled bool
	Storage          StorageConfig
	// Redis is the blob-descriptor cache; nil means an in-memory cache.
	Redis *RedisConfig
	Auth  AuthConfig

	bundle *bundle.Bundle
}

// BaseURL is PREFERRED_URL_SCHEME://SERVER_HOSTNAME, the prefix of every
// absolute URL the registry hands out.
func (c *Config) BaseURL() string { return c.Scheme + "://" + c.Hostname }

// Bundle is the bundle the configuration was read from.
func (c *Config) Bundle() *bundle.Bundle { return c.bundle }

// RedisConfig is one of the bundle's Redis servers.
type RedisConfig struct {
	Key      string // the config key it came from
	Addr     string // host:port
	Username string
	Password secret.Secret
	DB       int
	TLS      bool
}

// Auth kinds.
const (
	AuthHtpasswd = "htpasswd"
	AuthLDAP     = "ldap"
	AuthNone     = "none" // nobody can log in: pull-only with anonymous access
)

// AuthConfig says who may push and pull.
type AuthConfig struct {
	Kind       string
	Htpasswd   map[string][]byte // user -> bcrypt hash
	LDAP       LDAPConfig
	Anonymous  bool // FEATURE_ANONYMOUS_ACCESS: anonymous pulls
	SuperUsers []string
}

// LDAPConfig is what a user login needs from the LDAP settings.
type LDAPConfig struct {
	URI        string
	AdminDN    string
	AdminPass  string
	UIDAttr    string
	UserFilter string
	Bases      []string // user search bases (LDAP_USER_RDN + LDAP_BASE_DN, then secondary RDNs)
}

// Env is the environment that changes the translation.
type Env struct {
	// StoragePreference is QUAY_DISTRIBUTED_STORAGE_PREFERENCE.
	StoragePreference string
}

// Translate reads a bundle into a runtime configuration. Problems carry
// the field path; the configuration is usable only when none is an error.
func Translate(b *bundle.Bundle, env Env) (*Config, []problem.Problem) {
	var l problem.List
	raw := b.Config().Value()
	cfg := schema.Get().WithDefaults(raw)
	c := &Config{bundle: b}

	// HostSettings
	c.Hostname = strings.TrimSpace(str(cfg["SERVER_HOSTNAME"]))
	if c.Hostname == "" {
		l.Required("HostSettings", problem.NewPath("SERVER_HOSTNAME"), "for the registry's absolute URLs")
	} else if strings.Contains(c.Hostname, "/") || strings.ContainsAny(c.Hostname, " \t") {
		l.Errorf("HostSettings", problem.NewPath("SERVER_HOSTNAME"), "SERVER_HOSTNAME %q must be a host name with an optional port, without scheme or path.", c.Hostname)
	}
	c.Scheme = strings.ToLower(str(cfg["PREFERRED_URL_SCHEME"]))
	if c.Scheme == "" {
		c.Scheme = "http"
	}
	if c.Scheme != "http" && c.Scheme != "https" {
		l.Errorf("HostSettings", problem.NewPath("PREFERRED_URL_SCHEME"), "PREFERRED_URL_SCHEME must be http or https, not %q.", c.Scheme)
	}
	c.ExternalTLS = boolOf(cfg["EXTERNAL_TLS_TERMINATION"])
	c.Addr = AddrHTTP
	if c.Scheme == "https" && !c.ExternalTLS {
		c.Addr = AddrHTTPS
		certPEM, okC := b.File("ssl.cert")
		keyPEM, okK := b.File("ssl.key")
		switch {
		case !okC || !okK:
			l.ErrorTags("HostSettings", problem.File("ssl.cert"), []string{"PREFERRED_URL_SCHEME", "EXTERNAL_TLS_TERMINATION"},
				"PREFERRED_URL_SCHEME is https and TLS is not terminated in front (EXTERNAL_TLS_TERMINATION is false), so the registry serves TLS itself and needs ssl.cert and ssl.key in the bundle.")
		default:
			pair, err := tls.X509KeyPair(certPEM, keyPEM)
			if err != nil {
				l.ErrorTags("HostSettings", problem.File("ssl.cert"), []string{"ssl.cert", "ssl.key"},
					"ssl.cert and ssl.key cannot serve TLS: %s.", strings.TrimPrefix(err.Error(), "tls: "))
			} else {
				c.TLS = &pair
			}
		}
	}

	// The HTTP secret: one value on every replica of the bundle.
	secretKey, from := str(cfg["SECRET_KEY"]), "SECRET_KEY"
	if secretKey == "" {
		secretKey, from = str(cfg["DATABASE_SECRET_KEY"]), "DATABASE_SECRET_KEY"
	}
	if secretKey == "" {
		l.WarnTags("SecurityKeys", problem.NewPath("SECRET_KEY"), []string{"SECRET_KEY"},
			"SECRET_KEY is not set: each registry process makes up its own upload secret, so an upload started on one replica cannot be finished on another.")
	} else {
		if from != "SECRET_KEY" {
			l.Warnf("SecurityKeys", problem.NewPath("SECRET_KEY"), "SECRET_KEY is not set: the upload secret is derived from DATABASE_SECRET_KEY instead.")
		}
		c.HTTPSecret = secret.New(DeriveHTTPSecret(secretKey))
	}

	// Storage
	c.Storage = translateStorage(cfg, env.StoragePreference, &l)
	c.RedirectDisabled = boolOf(cfg["FEATURE_PROXY_STORAGE"])

	// Cache
	c.Redis = translateRedis(cfg, &l)

	// Who may do what
	c.Auth.Anonymous = boolOf(cfg["FEATURE_ANONYMOUS_ACCESS"])
	c.Auth.SuperUsers = stringList(cfg["SUPER_USERS"])
	c.Delete = len(c.Auth.SuperUsers) > 0
	translateAuth(b, cfg, &c.Auth, &l)

	ps := []problem.Problem(l)
	for i := range ps {
		if ps[i].Tags == nil {
			ps[i].Tags = []string{}
		}
		if ps[i].Line == 0 && ps[i].Path != nil {
			ps[i].Line = b.Config().Line(ps[i].Path.Segments()...)
		}
	}
	problem.Sort(ps)
	return c, ps
}

// DeriveHTTPSecret turns the bundle's SECRET_KEY into distribution's HTTP
// secret (which signs the upload state handed to clients): a keyed hash, so
// the secret key itself never reaches the runtime's configuration.
func DeriveHTTPSecret(secretKey string) string {
	m := hmac.New(sha256.New, []byte(secretKey))
	m.Write([]byte("config-editor registry http.secret v1"))
	return hex.EncodeToString(m.Sum(nil))
}

// translateRedis picks the blob-descriptor cache: the model cache's Redis
// when DATA_MODEL_CACHE_CONFIG uses one, else BUILDLOGS_REDIS.
func translateRedis(cfg map[string]any, l *problem.List) *RedisConfig {
	key, path := "", (*problem.Path)(nil)
	var m map[string]any
	if mc, ok := cfg["DATA_MODEL_CACHE_CONFIG"].(map[string]any); ok && str(mc["engine"]) == "redis" {
		if rc, ok := mc["redis_config"].(map[string]any); ok {
			if p, ok := rc["primary"].(map[string]any); ok {
				key, path, m = "DATA_MODEL_CACHE_CONFIG.redis_config.primary", problem.NewPath("DATA_MODEL_CACHE_CONFIG", "redis_config", "primary"), p
			}
		}
	}
	if m == nil {
		if p, ok := cfg["BUILDLOGS_REDIS"].(map[string]any); ok {
			key, path, m = "BUILDLOGS_REDIS", problem.NewPath("BUILDLOGS_REDIS"), p
		}
	}
	if m == nil || str(m["host"]) == "" {
		return nil
	}
	r := &RedisConfig{Key: key, Username: str(m["username"]), Password: secret.New(str(m["password"])), TLS: boolOf(m["ssl"])}
	port := 6379
	if v, ok := m["port"]; ok && v != nil {
		n, ok := scalarInt(v)
		if !ok || n < 1 || n > 65535 {
			l.Errorf("Redis", path.Child("port"), "%s.port must be a port number, not %s.", key, kindWords(v))
			return nil
		}
		port = n
	}
	if v, ok := m["db"]; ok && v != nil {
		n, ok := scalarInt(v)
		if !ok || n < 0 {
			l.Errorf("Redis", path.Child("db"), "%s.db must be a database number, not %s.", key, kindWords(v))
			return nil
		}
		r.DB = n
	}
	r.Addr = net.JoinHostPort(str(m["host"]), strconv.Itoa(port))
	return r
}

func translateAuth(b *bundle.Bundle, cfg map[string]any, a *AuthConfig, l *problem.List) {
	kind := str(cfg["AUTHENTICATION_TYPE"])
	switch kind {
	case "", "Database":
		data, ok := b.File(HtpasswdFile)
		if !ok {
			a.Kind = AuthNone
			l.WarnTags("AccessSettings", problem.File(HtpasswdFile), []string{"AUTHENTICATION_TYPE"},
				"AUTHENTICATION_TYPE is Database and the bundle has no %s, so nobody can log in to the registry: pushes are refused and only anonymous pulls (FEATURE_ANONYMOUS_ACCESS) work. Add %s (bcrypt, e.g. htpasswd -B) or use LDAP.", HtpasswdFile, HtpasswdFile)
			return
		}
		users, errs := ParseHtpasswd(data)
		for _, e := range errs {
			l.ErrorTags("AccessSettings", problem.File(HtpasswdFile), []string{"AUTHENTICATION_TYPE"}, "%s: %s", HtpasswdFile, e)
		}
		a.Kind, a.Htpasswd = AuthHtpasswd, users
		if len(users) == 0 && len(errs) == 0 {
			l.WarnTags("AccessSettings", problem.File(HtpasswdFile), []string{"AUTHENTICATION_TYPE"}, "%s has no users: nobody can log in to the registry.", HtpasswdFile)
		}
	case "LDAP":
		a.Kind = AuthLDAP
		uri := str(cfg["LDAP_URI"])
		if uri == "" {
			uri = "ldap://localhost"
		}
		a.LDAP = LDAPConfig{
			URI: uri, AdminDN: str(cfg["LDAP_ADMIN_DN"]), AdminPass: str(cfg["LDAP_ADMIN_PASSWD"]),
			UIDAttr: str(cfg["LDAP_UID_ATTR"]), UserFilter: strings.TrimSpace(str(cfg["LDAP_USER_FILTER"])),
		}
		if a.LDAP.UIDAttr == "" {
			a.LDAP.UIDAttr = "uid"
		}
		base := stringList(cfg["LDAP_BASE_DN"])
		rdns := [][]string{stringList(cfg["LDAP_USER_RDN"])}
		for _, s := range stringList(cfg["LDAP_SECONDARY_USER_RDNS"]) {
			rdns = append(rdns, []string{s})
		}
		for _, rdn := range rdns {
			a.LDAP.Bases = append(a.LDAP.Bases, strings.Join(append(append([]string{}, rdn...), base...), ","))
		}
		if a.LDAP.AdminDN == "" {
			l.Required("LDAP", problem.NewPath("LDAP_ADMIN_DN"), "to look up the users who log in to the registry")
		}
		if len(base) == 0 {
			l.Required("LDAP", problem.NewPath("LDAP_BASE_DN"), "to look up the users who log in to the registry")
		}
	default:
		l.Errorf("AccessSettings", problem.NewPath("AUTHENTICATION_TYPE"),
			"AUTHENTICATION_TYPE %s is not supported by registry mode, which checks registry logins against LDAP (AUTHENTICATION_TYPE: LDAP) or against %s in the bundle (AUTHENTICATION_TYPE: Database).", kind, HtpasswdFile)
	}
}

// ParseHtpasswd reads "user:bcrypt-hash" lines (blank lines and # comments
// allowed). Only bcrypt hashes are accepted: the other htpasswd formats
// (MD5, SHA1, crypt, plain) are too weak to guard pushes.
func ParseHtpasswd(data []byte) (map[string][]byte, []string) {
	users := map[string][]byte{}
	var errs []string
	for i, line := range bytes.Split(data, []byte("\n")) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		user, hash, ok := bytes.Cut(line, []byte(":"))
		n := i + 1
		switch {
		case !ok || len(user) == 0:
			errs = append(errs, fmt.Sprintf("line %d is not user:hash.", n))
			continue
		case !bytes.HasPrefix(hash, []byte("$2")):
			errs = append(errs, fmt.Sprintf("line %d (user %q): only bcrypt hashes ($2y$…, htpasswd -B) are accepted.", n, user))
			continue
		}
		if _, err := bcrypt.Cost(hash); err != nil {
			errs = append(errs, fmt.Sprintf("line %d (user %q): the bcrypt hash is malformed.", n, user))
			continue
		}
		if _, dup := users[string(user)]; dup {
			errs = append(errs, fmt.Sprintf("line %d: user %q is listed twice.", n, user))
			continue
		}
		users[string(user)] = append([]byte(nil), hash...)
	}
	return users, errs
}

func str(v any) string {
	s, _ := scalarString(v)
	if _, isBool := v.(bool); isBool {
		return ""
	}
	return s
}

func boolOf(v any) bool {
	b, _ := scalarBool(v)
	return b
}
