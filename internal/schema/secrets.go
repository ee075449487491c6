package schema

import (
	"encoding/base64"
	"html"
	"net/url"
	"regexp"
	"strconv"
	"strings"
)

// Placeholder stands in for a secret value wherever a config is shown.
// Submitting it back means "keep the current value".
const Placeholder = "<secret>"

// IsSecret reports whether the value at a path is a secret (or holds one,
// as a URI's password) according to the schema's x-secret annotations.
func (c *Catalogue) IsSecret(segs ...string) bool { return c.Spec(segs...).IsSecret() }

// Redact returns a deep copy of cfg with every secret replaced by
// Placeholder (for URIs, only the password). Empty secrets stay empty so
// "not set" remains visible.
func (c *Catalogue) Redact(cfg map[string]any) map[string]any {
	out, _ := redact(c.root, cfg).(map[string]any)
	return out
}

func redact(spec *FieldSpec, v any) any {
	var secret SecretKind
	if spec != nil {
		secret = spec.Secret
	}
	switch secret {
	case SecretValue:
		if s, ok := v.(string); ok && s == "" || v == nil {
			return v
		}
		return Placeholder
	case SecretUserinfo:
		if s, ok := v.(string); ok {
			return RedactURI(s)
		}
		return Placeholder
	}
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, val := range x {
			out[k] = redact(spec.Child(k), val)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, val := range x {
			out[i] = redact(spec.Child(strconv.Itoa(i)), val)
		}
		return out
	}
	return v
}

// RedactURI hides the password of a URI's userinfo; a string that is not a
// URI with a password is returned unchanged.
func RedactURI(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		// unparseable: hide anything between "://user:" and "@"
		if i := strings.Index(s, "://"); i >= 0 {
			rest := s[i+3:]
			if at := strings.LastIndex(rest, "@"); at >= 0 {
				if colon := strings.Index(rest[:at], ":"); colon >= 0 {
					return s[:i+3] + rest[:colon+1] + Placeholder + rest[at:]
				}
			}
		}
		return s
	}
	if _, has := u.User.Password(); !has {
		return s
	}
	i := strings.Index(s, "://")
	at := strings.LastIndex(s, "@")
	colon := strings.Index(s[i+3:], ":")
	if i < 0 || at < 0 || colon < 0 || i+3+colon > at {
		return s
	}
	return s[:i+3+colon+1] + Placeholder + s[at:]
}

// RestoreSecrets returns a copy of submitted where every Placeholder (or
// URI password placeholder) is replaced by the value at the same path in
// current. A placeholder with no current value becomes empty: it never
// reaches a saved file.
func (c *Catalogue) RestoreSecrets(submitted, current map[string]any) map[string]any {
	out, _ := restore(submitted, current).(map[string]any)
	return out
}

func restore(sub, cur any) any {
	switch x := sub.(type) {
	case string:
		if x == Placeholder {
			if _, ok := cur.(string); ok || cur != nil {
				return cur
			}
			return ""
		}
		if strings.Contains(x, ":"+Placeholder+"@") {
			if cs, ok := cur.(string); ok {
				if pw := uriPassword(cs); pw != "" {
					return strings.Replace(x, ":"+Placeholder+"@", ":"+pw+"@", 1)
				}
			}
			return strings.Replace(x, ":"+Placeholder+"@", "@", 1)
		}
		return x
	case map[string]any:
		cm, _ := cur.(map[string]any)
		out := make(map[string]any, len(x))
		for k, v := range x {
			out[k] = restore(v, cm[k])
		}
		return out
	case []any:
		cs, _ := cur.([]any)
		out := make([]any, len(x))
		for i, v := range x {
			var cv any
			if i < len(cs) {
				cv = cs[i]
			}
			out[i] = restore(v, cv)
		}
		return out
	}
	return sub
}

func uriPassword(s string) string {
	i := strings.Index(s, "://")
	at := strings.LastIndex(s, "@")
	if i < 0 || at < i {
		return ""
	}
	userinfo := s[i+3 : at]
	if colon := strings.Index(userinfo, ":"); colon >= 0 {
		return userinfo[colon+1:]
	}
	return ""
}

// SecretValues collects every non-empty secret string in cfg (URI
// passwords included), so callers can scrub them from text such as a
// server's error message.
func (c *Catalogue) SecretValues(cfg map[string]any) []string {
	var out []string
	var walk func(spec *FieldSpec, v any)
	walk = func(spec *FieldSpec, v any) {
		var secret SecretKind
		if spec != nil {
			secret = spec.Secret
		}
		switch secret {
		case SecretValue:
			if s, ok := v.(string); ok && s != "" {
				out = append(out, s)
			}
			return
		case SecretUserinfo:
			if s, ok := v.(string); ok {
				if pw := uriPassword(s); pw != "" {
					out = append(out, pw)
					if dec, err := url.PathUnescape(pw); err == nil && dec != pw {
						out = append(out, dec)
					}
				}
			}
			return
		}
		switch x := v.(type) {
		case map[string]any:
			for k, val := range x {
				walk(spec.Child(k), val)
			}
		case []any:
			for i, val := range x {
				walk(spec.Child(strconv.Itoa(i)), val)
			}
		}
	}
	walk(c.root, cfg)
	return out
}

// Scrub replaces every occurrence of the given secrets in s; see Scrubber
// for the forms it recognises. To scrub many texts, build a Scrubber once.
func Scrub(s string, secrets []string) string { return NewScrubber(secrets).Scrub(s) }

// Scrubber replaces secrets in text, such as a server's error message,
// with Placeholder. A server may echo a credential in another case or
// encoded, so each secret (of at least 3 bytes) is matched ignoring case,
// URL-encoded as in a query (url.QueryEscape) and in a path
// (url.PathEscape), HTML-escaped, and in base64 (standard and URL
// alphabets, padded or not; base64 is matched exactly, since its case is
// significant).
type Scrubber struct {
	re *regexp.Regexp
}

// NewScrubber compiles the forms of the secrets into one matcher.
func NewScrubber(secrets []string) *Scrubber {
	var folded, exact []string
	seen := map[string]bool{}
	add := func(into *[]string, form string) {
		if len(form) < 3 || seen[form] {
			return
		}
		seen[form] = true
		*into = append(*into, form)
	}
	for _, sec := range secrets {
		if len(sec) < 3 {
			continue
		}
		for _, f := range []string{sec, url.QueryEscape(sec), url.PathEscape(sec), html.EscapeString(sec)} {
			add(&folded, f)
		}
		b := []byte(sec)
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
			add(&exact, enc.EncodeToString(b))
		}
	}
	if len(folded) == 0 {
		return &Scrubber{}
	}
	quote := func(forms []string) string {
		q := make([]string, len(forms))
		for i, f := range forms {
			q[i] = regexp.QuoteMeta(f)
		}
		return strings.Join(q, "|")
	}
	expr := "(?i:" + quote(folded) + ")|" + quote(exact)
	re := regexp.MustCompile(expr)
	re.Longest() // a longer secret wins over a shorter one it starts with
	return &Scrubber{re: re}
}

// Scrub returns s with every form of every secret replaced.
func (sc *Scrubber) Scrub(s string) string {
	if sc == nil || sc.re == nil {
		return s
	}
	return sc.re.ReplaceAllLiteralString(s, Placeholder)
}
