package schema

import (
	"fmt"
	"math/bits"
	"strconv"
	"strings"

	"github.com/quay-tools/config-editor/internal/bundle"
	"github.com/quay-tools/config-editor/internal/problem"
)

// UnknownGroup is the FieldGroup of keys Quay does not know.
const UnknownGroup = "Unknown"

// Validate checks config.yaml against the schema: types, enums, patterns
// and required keys, one problem per offending key, plus a warning for
// every top-level key Quay would ignore. Missing keys that have a default
// are not errors: Quay applies the default. A key whose guard is off (a
// disabled feature, another AUTHENTICATION_TYPE; see GuardOff) is not
// read by Quay, so only a wrong type of a key Quay type-checks anyway
// (x-quay-typed) is reported for it.
func (c *Catalogue) Validate(doc *bundle.Document) []problem.Problem {
	// Only what the file says is checked: no required key has a default and
	// every default is itself valid (TestDefaultsAreValid), so merging the
	// ~300 defaults first would give the same answer several times slower.
	var out []problem.Problem
	for _, p := range c.structural(doc.Value()) {
		p.Line = doc.Line(p.segs...)
		out = append(out, p.Problem)
	}
	out = append(out, c.unknownKeys(doc)...)
	return out
}

type located struct {
	problem.Problem
	segs []string
}

func (c *Catalogue) structural(cfg map[string]any) (out []located) {
	defer func() {
		// a defect of the checker must not take the process down
		if r := recover(); r != nil {
			out = append(out, located{Problem: problem.Problem{FieldGroup: UnknownGroup, Severity: problem.Error,
				Message: fmt.Sprintf("internal error while checking types: %v", r)}})
		}
	}()
	var vs []violation
	c.root.check(cfg, nil, &vs)
	seen := map[string]bool{}
	off := map[string]bool{}
	for _, v := range vs {
		if len(v.segs) > 0 && c.unread(v, cfg, off) {
			continue
		}
		for _, l := range c.leaf(v, cfg) {
			k := l.Path.String() + "\x00" + l.Message
			if !seen[k] {
				seen[k] = true
				out = append(out, l)
			}
		}
	}
	return out
}

// unread reports whether v concerns a key Quay does not read under cfg
// (its guard is off; see GuardOff), so that Quay ignores the value, except
// for a wrong type of a key Quay's start-up validation reads into a typed
// field whatever the guard. off caches the guard of each top-level key.
func (c *Catalogue) unread(v violation, cfg map[string]any, off map[string]bool) bool {
	if v.kw == "" {
		return false // a value of no JSON type: a defect of ours, always shown
	}
	key := v.segs[0]
	isOff, ok := off[key]
	if !ok {
		_, isOff = c.GuardOff(key, cfg)
		off[key] = isOff
	}
	if !isOff {
		return false
	}
	if v.kw == "type" {
		if f := c.Field(key); f != nil && f.QuayTyped {
			return false
		}
	}
	return true
}

// pathOf builds a problem path, telling list indexes from map keys by
// looking at the value itself.
func pathOf(cfg map[string]any, segs []string) *problem.Path {
	if len(segs) == 0 {
		return nil
	}
	p := problem.NewPath(segs[0])
	var cur any = cfg[segs[0]]
	for _, s := range segs[1:] {
		switch x := cur.(type) {
		case []any:
			i, _ := strconv.Atoi(s)
			p = p.Index(i)
			if i >= 0 && i < len(x) {
				cur = x[i]
			} else {
				cur = nil
			}
		case map[string]any:
			p = p.Child(s)
			cur = x[s]
		default:
			p = p.Child(s)
			cur = nil
		}
	}
	return p
}

func (c *Catalogue) groupFor(segs []string) string {
	if len(segs) == 0 {
		return UnknownGroup
	}
	if g := c.GroupOf(segs[0]); g != "" {
		return g
	}
	return UnknownGroup
}

func (c *Catalogue) leaf(e violation, cfg map[string]any) []located {
	segs, kw := e.segs, e.kw
	group := c.groupFor(segs)
	path := pathOf(cfg, segs)
	mk := func(segs []string, p problem.Problem) located {
		p.Tags = tagsOf(segs)
		return located{segs: segs, Problem: p}
	}
	secret := len(segs) > 0 && c.IsSecret(segs...)
	val, _ := bundle.ValueAt(cfg, segs...)
	got := ""
	if !secret && val != nil {
		if s, ok := val.(string); ok {
			got = fmt.Sprintf("%q", truncate(s, 80))
		} else if _, isMap := val.(map[string]any); !isMap {
			if _, isList := val.([]any); !isList {
				got = fmt.Sprint(val)
			}
		}
	}
	gotSuffix := ""
	if got != "" {
		gotSuffix = "; got " + got
	}
	switch kw {
	case "required":
		var out []located
		for _, missing := range e.missing {
			child := append(append([]string(nil), segs...), missing)
			out = append(out, mk(child, problem.Required(c.groupFor(child), pathOf(cfg, child), "")))
		}
		if len(out) > 0 {
			return out
		}
	case "type":
		return []located{mk(segs, problem.Invalid(group, path, fmt.Sprintf("must be %s, not %s", typeWords(e.msg), jsonTypeName(val))))}
	case "enum", "const":
		if len(e.allowed) > 0 {
			return []located{mk(segs, problem.NotSupported(group, path, got, e.allowed))}
		}
		return []located{mk(segs, problem.Invalid(group, path, strings.Replace(e.msg, "value must be", "must be", 1)+gotSuffix))}
	case "pattern":
		return []located{mk(segs, problem.Invalid(group, path, fmt.Sprintf("is not in the expected form (%s)%s", e.msg, gotSuffix)))}
	}
	name := path.String()
	if name == "" {
		name = "config.yaml"
	}
	return []located{mk(segs, problem.Problem{FieldGroup: group, Message: fmt.Sprintf("%s: %s%s.", name, e.msg, gotSuffix),
		Path: path, Severity: problem.Error})}
}

func tagsOf(segs []string) []string {
	if len(segs) == 0 {
		return []string{}
	}
	return []string{segs[0]}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

func typeWords(msg string) string {
	// "expected string, but got number" / "expected integer or string, ..."
	msg = strings.TrimPrefix(msg, "expected ")
	if i := strings.Index(msg, ", but got"); i >= 0 {
		msg = msg[:i]
	}
	words := strings.Split(msg, " or ")
	for i, w := range words {
		words[i] = article(w)
	}
	return strings.Join(words, " or ")
}

func article(t string) string {
	switch t {
	case "object":
		return "a mapping"
	case "array":
		return "a list"
	case "integer":
		return "an integer"
	case "boolean":
		return "true or false"
	case "null":
		return "empty"
	}
	return "a " + t
}

func jsonTypeName(v any) string {
	switch x := v.(type) {
	case nil:
		return "empty"
	case bool:
		return "a boolean"
	case string:
		return "a string"
	case map[string]any:
		return "a mapping"
	case []any:
		return "a list"
	case float64:
		if x != float64(int64(x)) {
			return "a decimal number"
		}
		return "a number"
	default:
		return "a number"
	}
}

func (c *Catalogue) unknownKeys(doc *bundle.Document) []problem.Problem {
	var out []problem.Problem
	var lines map[string]int // built on the first unknown key: one pass, not one scan per key
	for _, k := range doc.Keys() {
		if c.Field(k) != nil {
			continue
		}
		path := problem.NewPath(k)
		var p problem.Problem
		if strings.ToUpper(k) != k {
			msg := fmt.Sprintf("%s is ignored: Quay reads only UPPERCASE top-level keys.", k)
			if c.Field(strings.ToUpper(k)) != nil {
				msg = fmt.Sprintf("%s is ignored: Quay reads only UPPERCASE top-level keys (did you mean %s?).", k, strings.ToUpper(k))
			}
			p = problem.Problem{FieldGroup: UnknownGroup, Tags: []string{k}, Message: msg, Path: path, Severity: problem.Warning}
		} else {
			p = problem.UnknownKey(UnknownGroup, path, c.suggest(k))
		}
		if lines == nil {
			lines = doc.KeyLines()
		}
		p.Line = lines[k]
		out = append(out, p)
	}
	return out
}

// suggest returns the closest known key within two edits, if any.
func (c *Catalogue) suggest(k string) string {
	best, bestD := "", 3
	var rows [2 * 64]int
	sig := charSet(k)
	for i, cand := range c.keyList {
		if abs(len(cand)-len(k)) >= bestD {
			continue
		}
		// a byte (class) in one string and not the other costs an edit;
		// one substitution settles at most one on each side
		if max(bits.OnesCount64(sig&^c.keySigs[i]), bits.OnesCount64(c.keySigs[i]&^sig)) >= bestD {
			continue
		}
		buf := rows[:]
		if 2*(len(cand)+1) > len(buf) {
			buf = make([]int, 2*(len(cand)+1))
		}
		if d := editDistance(k, cand, bestD, buf); d < bestD {
			best, bestD = cand, d
		}
	}
	return best
}

// charSet is the set of byte classes (the byte modulo 64) in s; it
// bounds the edit distance of two strings from below cheaply.
func charSet(s string) uint64 {
	var set uint64
	for i := 0; i < len(s); i++ {
		set |= 1 << (s[i] & 63)
	}
	return set
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// editDistance is the Levenshtein distance of a and b when it is below
// limit, and limit otherwise. Only the band of cells within limit of the
// diagonal is computed (a cell off it is at least limit), in two rows of
// buf (at least 2*(len(b)+1) long), so a call costs O(len(a)*limit) and
// allocates nothing.
func editDistance(a, b string, limit int, buf []int) int {
	n := len(b)
	if abs(len(a)-n) >= limit {
		return limit // the last cell is off the band
	}
	prev, cur := buf[:n+1], buf[n+1:2*(n+1)]
	for j := range prev {
		prev[j] = min(j, limit)
	}
	for i := 1; i <= len(a); i++ {
		lo, hi := max(1, i-limit+1), min(n, i+limit-1)
		rowMin := limit
		if lo == 1 {
			cur[0] = min(i, limit)
			rowMin = cur[0]
		} else {
			cur[lo-1] = limit
		}
		for j := lo; j <= hi; j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			v := min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost, limit)
			cur[j] = v
			rowMin = min(rowMin, v)
		}
		if hi < n {
			cur[hi+1] = limit
		}
		if rowMin >= limit {
			return limit
		}
		prev, cur = cur, prev
	}
	return min(prev[n], limit)
}
