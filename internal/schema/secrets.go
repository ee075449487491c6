package schema

import (
	"encoding/base64"
	"fmt"
	"html"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"unicode"

	"github.com/quay-tools/config-editor/internal/secret"
)

// Placeholder stands in for a secret value wherever a config is shown
// (secret.Placeholder: a secret.Secret prints the same). Submitting it
// back means "keep the current value".
const Placeholder = secret.Placeholder

// IsSecret reports whether the value at a path is a secret (or holds one,
// as a URI's password) according to the schema's x-secret annotations.
func (c *Catalogue) IsSecret(segs ...string) bool { return c.Spec(segs...).IsSecret() }

// secretOf is the secret kind of a spec; nil has none.
func secretOf(spec *FieldSpec) SecretKind {
	if spec == nil {
		return NotSecret
	}
	return spec.Secret
}

// Redact returns a deep copy of cfg with every secret replaced by
// Placeholder (for URIs, only the password). Empty secrets stay empty so
// "not set" remains visible. Keys the schema does not declare (a typo
// such as "pasword", LDAP_ADMIN_PASSWORD for LDAP_ADMIN_PASSWD) are
// judged by their name (LooksSecretKey), and a URI anywhere under them
// loses its password.
func (c *Catalogue) Redact(cfg map[string]any) map[string]any {
	out, _ := c.redact(c.root, cfg, false).(map[string]any)
	return out
}

// redact walks v with its spec; free is true under a key the schema does
// not declare.
func (c *Catalogue) redact(spec *FieldSpec, v any, free bool) any {
	switch secretOf(spec) {
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
			child, childFree := childOf(spec, k, free)
			if childFree && LooksSecretKey(k) {
				out[k] = hideAll(val)
				continue
			}
			out[k] = c.redact(child, val, childFree)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, val := range x {
			child, childFree := childOf(spec, strconv.Itoa(i), free)
			out[i] = c.redact(child, val, childFree)
		}
		return out
	case string:
		if free {
			return RedactURI(x)
		}
	}
	return v
}

// childOf returns the spec of a child and whether the child is free: the
// schema says nothing about it (a key it does not declare, or one it
// allows with "additionalProperties: true"), or it lies under such a key.
func childOf(spec *FieldSpec, seg string, free bool) (*FieldSpec, bool) {
	child := spec.Child(seg)
	return child, free || child == nil
}

// hideAll replaces every non-empty scalar of v by Placeholder.
func hideAll(v any) any {
	switch x := v.(type) {
	case nil:
		return nil
	case string:
		if x == "" {
			return x
		}
		return Placeholder
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, val := range x {
			out[k] = hideAll(val)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, val := range x {
			out[i] = hideAll(val)
		}
		return out
	}
	return Placeholder
}

// allScalars collects the non-empty scalars of v as text.
func allScalars(v any, out []string) []string {
	switch x := v.(type) {
	case nil:
	case string:
		if x != "" {
			out = append(out, x)
		}
	case map[string]any:
		for _, val := range x {
			out = allScalars(val, out)
		}
	case []any:
		for _, val := range x {
			out = allScalars(val, out)
		}
	default:
		out = append(out, fmt.Sprint(x))
	}
	return out
}

// secretWords are words of a key name that mark a secret, also with one
// typo (password, pasword, passwort; secret, secert); secretShort match
// as whole words only; secretJoined anywhere in the name without
// separators (ADMINPASSWORD, apiKey, s3AccessKey).
var (
	secretWords  = []string{"password", "passphrase", "secret", "credential", "credentials"}
	secretShort  = map[string]bool{"pw": true, "pwd": true, "pass": true, "passwd": true, "psw": true, "token": true, "tokens": true}
	secretJoined = []string{"password", "passwd", "passphrase", "secret", "token", "credential", "apikey", "accesskey",
		"privatekey", "secretkey", "signingkey", "encryptionkey", "clientkey", "authkey"}
)

// LooksSecretKey reports whether a key name the schema does not declare
// looks like it holds a secret: LDAP_ADMIN_PASSWORD, pasword, SECRET_KEYY,
// api_token, dbPass.
func LooksSecretKey(key string) bool {
	words := keyWords(key)
	for _, w := range words {
		if secretShort[w] {
			return true
		}
		for _, sw := range secretWords {
			if w == sw || len(w) >= 6 && osaDistance(w, sw) <= 1 {
				return true
			}
		}
	}
	joined := strings.Join(words, "")
	for _, j := range secretJoined {
		if strings.Contains(joined, j) {
			return true
		}
	}
	return false
}

// keyWords splits a key name into lower-case words at anything that is
// not a letter or digit and at lower-to-upper case changes.
func keyWords(key string) []string {
	var words []string
	var cur []rune
	prevLower := false
	flush := func() {
		if len(cur) > 0 {
			words = append(words, strings.ToLower(string(cur)))
			cur = cur[:0]
		}
	}
	for _, r := range key {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			if unicode.IsUpper(r) && prevLower {
				flush()
			}
			cur = append(cur, r)
			prevLower = unicode.IsLower(r) || unicode.IsDigit(r)
		default:
			flush()
			prevLower = false
		}
	}
	flush()
	return words
}

// osaDistance is the optimal string alignment distance: insertions,
// deletions, substitutions and transpositions of neighbours.
func osaDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
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
// server's error message. Undeclared keys count as Redact judges them.
func (c *Catalogue) SecretValues(cfg map[string]any) []string {
	var out []string
	addURI := func(s string) {
		if pw := uriPassword(s); pw != "" {
			out = append(out, pw)
			if dec, err := url.PathUnescape(pw); err == nil && dec != pw {
				out = append(out, dec)
			}
		}
	}
	var walk func(spec *FieldSpec, v any, free bool)
	walk = func(spec *FieldSpec, v any, free bool) {
		switch secretOf(spec) {
		case SecretValue:
			if s, ok := v.(string); ok && s != "" {
				out = append(out, s)
			}
			return
		case SecretUserinfo:
			if s, ok := v.(string); ok {
				addURI(s)
			}
			return
		}
		switch x := v.(type) {
		case map[string]any:
			for k, val := range x {
				child, childFree := childOf(spec, k, free)
				if childFree && LooksSecretKey(k) {
					out = allScalars(val, out)
					continue
				}
				walk(child, val, childFree)
			}
		case []any:
			for i, val := range x {
				child, childFree := childOf(spec, strconv.Itoa(i), free)
				walk(child, val, childFree)
			}
		case string:
			if free && RedactURI(x) != x {
				addURI(x)
			}
		}
	}
	walk(c.root, cfg, false)
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
