package validators

import (
	"net/url"
	"regexp"
	"strings"

	"github.com/quay-tools/config-editor/internal/bundle"
	"github.com/quay-tools/config-editor/internal/problem"
)

// argBool reads a boolean argument written as a YAML bool or a string.
func argBool(v any) (val, ok bool) {
	switch x := v.(type) {
	case bool:
		return x, true
	case string:
		switch strings.ToLower(strings.TrimSpace(x)) {
		case "true", "yes", "1":
			return true, true
		case "false", "no", "0":
			return false, true
		}
	}
	return false, false
}

// Helpers shared by the group rules. They read values leniently: a value of
// the wrong type is the schema's to report, so a rule treats it as absent.

var (
	durationRE = regexp.MustCompile(`^[0-9]+(w|m|d|h|s)$`)
	httpURLRE  = regexp.MustCompile(`^https?://.+$`)
)

// on reports whether a boolean key (or its default) is true.
func (c *Context) on(key string) bool { return c.Bool(key) }

// present reports whether key of m is set to something other than null or "".
func present(m map[string]any, key string) bool {
	v, ok := m[key]
	if !ok || v == nil {
		return false
	}
	if s, ok := v.(string); ok {
		return strings.TrimSpace(s) != ""
	}
	return true
}

// str reads key of m as a string ("" when absent or not a scalar).
func str(m map[string]any, key string) string { return AsString(m[key]) }

// wrongType reports whether key of m holds a value the rules cannot read as
// a scalar (the schema reports it); rules then stay silent about it.
func wrongType(m map[string]any, key string) bool {
	switch m[key].(type) {
	case nil, string, int, int64, float64, bool:
		return false
	}
	return true
}

// requireIn records a missing member of a mapping, unless it holds a value
// of another type (reported by the schema).
func requireIn(l *problem.List, group string, m map[string]any, base *problem.Path, key, why string) bool {
	if present(m, key) {
		return true
	}
	if wrongType(m, key) {
		return false
	}
	l.Required(group, base.Child(key), strings.TrimPrefix(why, " "))
	return false
}

// requireKey records a missing top-level key, unless it holds a value of
// another type.
func (c *Context) requireKey(l *problem.List, group, key string, tags []string, why string) bool {
	if c.Has(key) {
		return true
	}
	if wrongType(c.Raw, key) {
		return false
	}
	p := problem.Required(group, at(key), why)
	if tags != nil {
		p.Tags = tags
	}
	*l = append(*l, p)
	return false
}

// checkHTTPURL records an unusable http(s) URL at path. The schema already
// enforces "^https?://" where its property has a pattern; this adds the
// checks a pattern cannot make (a host, a parseable URL) and the scheme
// where the schema has no pattern. Secret URLs are never echoed.
func (c *Context) checkHTTPURL(l *problem.List, group string, path *problem.Path, value string, schemaChecksScheme bool) bool {
	if value == "" {
		return false
	}
	if !httpURLRE.MatchString(value) {
		if !schemaChecksScheme {
			l.Errorf(group, path, "%s must be an http:// or https:// URL.", path)
		}
		return false
	}
	u, err := url.Parse(value)
	if err != nil || u.Host == "" || hostOnly(u.Host) == "" {
		l.Errorf(group, path, "%s is not a usable URL: it needs a host name after the scheme (for example https://sso.example.com/).", path)
		return false
	}
	return true
}

// checkBundlePEM checks that a file referenced from config.yaml (ref as
// written) is in the bundle and holds PEM certificates.
func (c *Context) checkBundlePEM(l *problem.List, group string, path *problem.Path, ref, what string) {
	if ref == "" {
		return
	}
	data, name, ok := c.BundleFile(ref)
	if !ok {
		if !strings.HasPrefix(ref, "/") || strings.HasPrefix(ref, "/conf/stack/") {
			l.Errorf(group, path, "%s refers to %s %q, which is not in the bundle; upload it as %s.", path, what, ref, name)
		} else {
			l.Warnf(group, path, "%s refers to %q, outside the config bundle; make sure the Quay container has that file, or upload it to the bundle and refer to it as conf/stack/%s.", path, ref, name)
		}
		return
	}
	certs, err := ParseCertPEM(data)
	if err != nil {
		l.Errorf(group, path, "%s (%s, referenced by %s) is not usable: %v.", name, what, path, err)
		return
	}
	for _, cert := range certs {
		c.checkValidity(l, group, path, name, cert)
	}
}

// redisTarget checks one Redis connection object {host, port, password,
// ssl}, the shape shared by BUILDLOGS_REDIS, USER_EVENTS_REDIS,
// PULL_METRICS_REDIS and the model cache. Missing host and out-of-range
// ports are the schema's to report when it requires them.
func redisTarget(l *problem.List, group string, base *problem.Path, m map[string]any, hostKey, portKey, sslKey string, requireHost bool) {
	host := str(m, hostKey)
	if requireHost && !wrongType(m, hostKey) {
		if _, set := m[hostKey]; set && strings.TrimSpace(host) == "" {
			l.Errorf(group, base.Child(hostKey), "%s.%s is empty; set the Redis host name or address.", base, hostKey)
		}
	}
	if host != "" {
		switch {
		case strings.Contains(host, "://"):
			l.Errorf(group, base.Child(hostKey), "%s.%s must be a bare host name, not a URL; put the port in %s and TLS in %s.", base, hostKey, portKey, sslKey)
		case strings.ContainsAny(host, " /"):
			l.Errorf(group, base.Child(hostKey), "%s.%s is not a valid host name.", base, hostKey)
		case strings.Count(host, ":") == 1:
			l.Errorf(group, base.Child(hostKey), "%s.%s must not carry a port; put it in %s.", base, hostKey, portKey)
		}
	}
	port, portOK := AsInt(m[portKey])
	ssl, _ := m[sslKey].(bool)
	if portOK && port == 6380 && !ssl && strings.HasSuffix(strings.ToLower(host), ".redis.cache.windows.net") {
		l.Warnf(group, base.Child(sslKey), "%s uses port 6380 of Azure Cache for Redis, which only speaks TLS; set %s.%s: true.", base, base, sslKey)
	}
}

// schemaHasPattern reports whether the schema constrains the value at segs
// with a pattern (then a mismatch is already reported).
func (c *Context) schemaHasPattern(segs ...string) bool {
	spec := c.Cat.Spec(segs...)
	return spec != nil && spec.Pattern != nil
}

// checkDuration checks a Quay duration (30m, 2w) the schema may not cover.
func (c *Context) checkDuration(l *problem.List, group string, key string) {
	s, ok := c.Raw[key].(string)
	if !ok || s == "" || durationRE.MatchString(s) || c.schemaHasPattern(key) {
		return
	}
	l.Errorf(group, at(key), "%s must be a duration such as 30m, 12h, 7d or 2w; got %q.", key, s)
}

// dependsOn warns when key is set (true, or non-empty) but the feature it
// belongs to is off, so the setting has no effect.
func (c *Context) dependsOn(l *problem.List, group, key, feature string) {
	if !c.Has(key) || c.on(feature) {
		return
	}
	if b, ok := c.Raw[key].(bool); ok && !b {
		return
	}
	// a key written with its default changes nothing: GET /api/v1/config
	// answers every default, and scripts post that answer back
	if def, ok := c.Cat.Default(key); ok && bundle.EqualValues(c.Raw[key], def) {
		return
	}
	if wrongType(c.Raw, feature) {
		return
	}
	l.WarnTags(group, at(key), []string{key, feature}, "%s has no effect while %s is off; set %s: true or remove %s.", key, feature, feature, key)
}

// listOrAbsent reports whether key of m is a list or unset (not a value of
// another type, which the schema reports).
func listOrAbsent(m map[string]any, key string) bool {
	_, isList := m[key].([]any)
	return isList || m[key] == nil
}
