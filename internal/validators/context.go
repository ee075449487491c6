package validators

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/quay-tools/config-editor/internal/bundle"
	"github.com/quay-tools/config-editor/internal/problem"
	"github.com/quay-tools/config-editor/internal/schema"
	"github.com/quay-tools/config-editor/internal/secret"
)

// Context is what a rule sees: the bundle, its config as written and with
// defaults, the catalogue and the options. Accessors tolerate wrong types
// (the schema check has already reported them) by returning zero values.
type Context struct {
	Bundle *bundle.Bundle
	Raw    map[string]any // config.yaml as written
	Config map[string]any // with defaults of missing keys
	Cat    *schema.Catalogue
	Opts   Options
	Now    time.Time

	scrub *schema.Scrubber // the config's secrets, for messages

	rootsOnce sync.Once
	roots     *x509.CertPool
	preloads  sync.WaitGroup // trust store loads started ahead of need; Validate waits for them

	dbOnce sync.Once
	dbURI  *dbURI // DB_URI read once: see database.go

	sharedMu    sync.Mutex
	sharedCalls map[any]*sharedCall
}

func newContext(b *bundle.Bundle, opts Options) *Context {
	raw := b.Config().Value()
	opts.Hosted = opts.Hosted.withDefaults()
	return &Context{
		Bundle: b,
		Raw:    raw,
		Config: opts.Catalogue.WithDefaults(raw),
		Cat:    opts.Catalogue,
		Opts:   opts,
		Now:    opts.Now,
		scrub:  schema.NewScrubber(opts.Catalogue.SecretValues(raw)),
	}
}

// Get returns the value at a path of keys and decimal indexes.
func (c *Context) Get(path ...string) (any, bool) {
	return bundle.ValueAt(c.Config, path...)
}

// Has reports whether the path is set, as written (defaults ignored), to
// something other than null or "".
func (c *Context) Has(path ...string) bool {
	cur, ok := bundle.ValueAt(c.Raw, path...)
	if !ok {
		return false
	}
	if s, ok := cur.(string); ok {
		return s != ""
	}
	return cur != nil
}

// Str returns a string value; numbers are formatted, other types give "".
func (c *Context) Str(path ...string) string {
	v, _ := c.Get(path...)
	return AsString(v)
}

// AsString formats scalars as Quay would read them.
func AsString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case int:
		return strconv.Itoa(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	}
	return ""
}

// Bool returns a boolean value; anything else is false.
func (c *Context) Bool(path ...string) bool {
	v, _ := c.Get(path...)
	b, _ := v.(bool)
	return b
}

// Int returns an integer value (numeric strings accepted) and whether it
// was one.
func (c *Context) Int(path ...string) (int, bool) {
	v, _ := c.Get(path...)
	return AsInt(v)
}

// AsInt reads an integer from a number or a numeric string.
func AsInt(v any) (int, bool) {
	switch x := v.(type) {
	case int:
		return x, true
	case int64:
		return int(x), true
	case float64:
		if x == float64(int(x)) {
			return int(x), true
		}
	case string:
		n, err := strconv.Atoi(strings.TrimSpace(x))
		return n, err == nil
	}
	return 0, false
}

// Map returns a mapping value or nil.
func (c *Context) Map(path ...string) map[string]any {
	v, _ := c.Get(path...)
	m, _ := v.(map[string]any)
	return m
}

// List returns a list value or nil.
func (c *Context) List(path ...string) []any {
	v, _ := c.Get(path...)
	l, _ := v.([]any)
	return l
}

// Strings returns the string elements of a list value.
func (c *Context) Strings(path ...string) []string {
	var out []string
	for _, v := range c.List(path...) {
		if s, ok := v.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// SortedKeys returns a mapping's keys in order.
func SortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// groupInUse reports whether the config sets any key of the group.
func (c *Context) groupInUse(group string) bool {
	g := c.Cat.Group(group)
	if g == nil {
		return false
	}
	for _, f := range g.Fields {
		if f.Pattern != nil {
			for k := range c.Raw {
				if f.Pattern.MatchString(k) {
					return true
				}
			}
			continue
		}
		if c.Has(f.Key) {
			if b, ok := c.Raw[f.Key].(bool); ok && !b {
				continue
			}
			return true
		}
	}
	return false
}

// RootCAs returns the system trust store plus every extra CA of the bundle
// (extra_ca_certs/* and extra_ca_cert_*), which every outbound TLS
// connection must trust.
func (c *Context) RootCAs() *x509.CertPool {
	c.rootsOnce.Do(func() {
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		for _, data := range c.Bundle.ExtraCAs() {
			for _, cert := range ParseCerts(data) {
				pool.AddCert(cert)
			}
		}
		c.roots = pool
	})
	return c.roots
}

// preloadRootCAs starts loading the trust store in the background for a
// probe that will need it after some network wait of its own.
func (c *Context) preloadRootCAs() {
	c.preloads.Go(func() { c.RootCAs() })
}

// TLSConfig returns a client TLS config for serverName trusting RootCAs
// plus the PEM certificates in extraCA (e.g. the bundle's database.pem).
func (c *Context) TLSConfig(serverName string, extraCA ...[]byte) *tls.Config {
	pool := c.RootCAs()
	if len(extraCA) > 0 {
		pool = pool.Clone()
		for _, data := range extraCA {
			for _, cert := range ParseCerts(data) {
				pool.AddCert(cert)
			}
		}
	}
	return &tls.Config{ServerName: serverName, RootCAs: pool, MinVersion: tls.VersionTLS12}
}

// ParseCerts returns every certificate in PEM data, skipping other blocks.
func ParseCerts(data []byte) []*x509.Certificate {
	var out []*x509.Certificate
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			return out
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		if cert, err := x509.ParseCertificate(block.Bytes); err == nil {
			out = append(out, cert)
		}
	}
}

// BundleFile resolves a path as written in config.yaml (often
// "conf/stack/database.pem" or "/conf/stack/ldap.crt") to a file of the
// bundle.
func (c *Context) BundleFile(ref string) ([]byte, string, bool) {
	name := ref
	for _, prefix := range []string{"/conf/stack/", "conf/stack/", "/"} {
		name = strings.TrimPrefix(name, prefix)
	}
	data, ok := c.Bundle.File(name)
	return data, name, ok
}

// problemList is a helper for tests and rules that build problems at a path.
func at(key string, more ...string) *problem.Path { return problem.NewPath(key, more...) }

// sharedCall is one piece of work that several probes of a validation
// need alike, such as one PING of the same Redis with the same
// credentials: the first probe to ask does it, the others wait for it.
type sharedCall struct {
	done chan struct{}
	val  any
}

// share returns run's result for key (a comparable value), running it at
// most once per validation. ok is false when ctx ends before the probe
// that runs it is done, or when run panicked.
func (c *Context) share(ctx context.Context, key any, run func() any) (any, bool) {
	c.sharedMu.Lock()
	call, found := c.sharedCalls[key]
	if !found {
		if c.sharedCalls == nil {
			c.sharedCalls = map[any]*sharedCall{}
		}
		call = &sharedCall{done: make(chan struct{})}
		c.sharedCalls[key] = call
	}
	c.sharedMu.Unlock()
	if !found {
		defer close(call.done)
		call.val = run()
		return call.val, true
	}
	select {
	case <-call.done:
		return call.val, call.val != nil
	case <-ctx.Done():
		return nil, false
	}
}

// Secret reads a secret value (a password, key or token) as a
// secret.Secret: rules and probes hold it that way and call Reveal only
// where it goes to a driver or onto the wire. Like Str, numbers are
// formatted and other types give "".
func (c *Context) Secret(path ...string) secret.Secret { return secret.New(c.Str(path...)) }

// secretIn reads a secret value of a mapping, as AsString(m[key]) does.
func secretIn(m map[string]any, key string) secret.Secret { return secret.New(AsString(m[key])) }

// SecretArg reads a secret driver argument (s3_secret_key, swift_password…).
func (s StorageLocation) SecretArg(name string) secret.Secret { return secret.New(s.Arg(name)) }
