package schema

// The structural check: types, enums, patterns, bounds and required keys,
// read from the FieldSpecs the catalogue builds from the schema. It
// replaces compiling the whole JSON Schema with a general validator on
// every start (tens of milliseconds): building the specs costs a few, and
// checking walks only the keys the file sets.
//
// It implements exactly the keywords specKeywords admits (build refuses
// any other), with the semantics and the wording of the JSON-Schema
// validator it replaced (santhosh-tekuri/jsonschema v5); a differential
// test and a fuzz target compare the two on every kind of value.

import (
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// violation is one failed keyword, worded as the JSON-Schema validator
// words it; leaf turns it into a Problem.
type violation struct {
	segs    []string // instance path: map keys and decimal list indexes
	kw      string   // the keyword that failed
	msg     string
	missing []string // for "required": the missing keys
	allowed []string // for "enum": the allowed values as the message shows them
}

// check appends the violations of v against s. segs is the path of v and
// is never modified.
func (s *FieldSpec) check(v any, segs []string, out *[]violation) {
	add := func(kw, format string, args ...any) {
		*out = append(*out, violation{segs: segs, kw: kw, msg: fmt.Sprintf(format, args...)})
	}
	vt, known := jsonType(v)
	if !known {
		add("", "a value of Go type %T has no JSON type", v) // no decoder of ours makes one
		return
	}
	if len(s.Types) > 0 {
		matched := false
		for _, t := range s.Types {
			if t == vt || t == "integer" && vt == "number" && isInteger(v) {
				matched = true
				break
			}
		}
		if !matched {
			add("type", "expected %s, but got %s", strings.Join(s.Types, " or "), vt)
			return
		}
	}
	if len(s.Enum) > 0 {
		matched := false
		for _, e := range s.Enum {
			if equalJSON(v, e) {
				matched = true
				break
			}
		}
		if !matched {
			*out = append(*out, violation{segs: segs, kw: "enum", msg: s.c.enumMsg, allowed: s.c.enumAllowed})
		}
	}
	switch x := v.(type) {
	case map[string]any:
		s.checkObject(x, segs, out, add)
	case []any:
		s.checkArray(x, segs, out, add)
	case string:
		if s.c.minLength >= 0 || s.c.maxLength >= 0 {
			n := utf8.RuneCountInString(x)
			if s.c.minLength >= 0 && n < s.c.minLength {
				add("minLength", "length must be >= %d, but got %d", s.c.minLength, n)
			}
			if s.c.maxLength >= 0 && n > s.c.maxLength {
				add("maxLength", "length must be <= %d, but got %d", s.c.maxLength, n)
			}
		}
		if s.Pattern != nil && !s.Pattern.MatchString(x) {
			add("pattern", "does not match pattern %s", quote(s.Pattern.String()))
		}
	case bool, nil:
	default: // a number
		if s.Minimum != nil || s.Maximum != nil {
			f := toFloat(v)
			if s.Minimum != nil && !(f >= *s.Minimum) {
				add("minimum", "must be >= %v but found %v", *s.Minimum, v)
			}
			if s.Maximum != nil && !(f <= *s.Maximum) {
				add("maximum", "must be <= %v but found %v", *s.Maximum, v)
			}
		}
	}
}

func (s *FieldSpec) checkObject(m map[string]any, segs []string, out *[]violation, add func(kw, format string, args ...any)) {
	if s.c.minProperties >= 0 && len(m) < s.c.minProperties {
		add("minProperties", "minimum %d properties allowed, but found %d properties", s.c.minProperties, len(m))
	}
	if s.c.maxProperties >= 0 && len(m) > s.c.maxProperties {
		add("maxProperties", "maximum %d properties allowed, but found %d properties", s.c.maxProperties, len(m))
	}
	var missing []string
	for _, r := range s.c.required {
		if _, ok := m[r]; !ok {
			missing = append(missing, r)
		}
	}
	if len(missing) > 0 {
		q := make([]string, len(missing))
		for i, r := range missing {
			q[i] = quote(r)
		}
		*out = append(*out, violation{segs: segs, kw: "required", msg: "missing properties: " + strings.Join(q, ", "), missing: missing})
	}
	// declared properties in the spec's order: cost follows the schema,
	// not the size of the mapping
	for _, ch := range s.Children {
		if pv, ok := m[ch.Name]; ok {
			ch.check(pv, with(segs, ch.Name), out)
		}
	}
	if len(s.Patterns) == 0 && s.Values == nil && !s.c.forbidExtra {
		return
	}
	// the other keys, each checked once, in sorted order (only the keys
	// that have something to check are sorted)
	type hit struct {
		key  string
		spec *FieldSpec
	}
	var hits []hit
	var extra []string
	for k := range m {
		matched := s.props[k] != nil // patterns apply to declared keys too
		for _, p := range s.Patterns {
			if p.NamePattern.MatchString(k) {
				matched = true
				hits = append(hits, hit{k, p})
			}
		}
		switch {
		case matched:
		case s.Values != nil:
			hits = append(hits, hit{k, s.Values})
		case s.c.forbidExtra:
			extra = append(extra, k)
		}
	}
	sort.Slice(hits, func(i, j int) bool {
		if hits[i].key != hits[j].key {
			return hits[i].key < hits[j].key
		}
		return hits[i].spec.Name < hits[j].spec.Name
	})
	for _, h := range hits {
		h.spec.check(m[h.key], with(segs, h.key), out)
	}
	if len(extra) > 0 {
		sort.Strings(extra)
		for i, k := range extra {
			extra[i] = quote(k)
		}
		add("additionalProperties", "additionalProperties %s not allowed", strings.Join(extra, ", "))
	}
}

func (s *FieldSpec) checkArray(l []any, segs []string, out *[]violation, add func(kw, format string, args ...any)) {
	if s.c.minItems >= 0 && len(l) < s.c.minItems {
		add("minItems", "minimum %d items required, but found %d items", s.c.minItems, len(l))
	}
	if s.c.maxItems >= 0 && len(l) > s.c.maxItems {
		add("maxItems", "maximum %d items required, but found %d items", s.c.maxItems, len(l))
	}
	if s.c.uniqueItems {
		if i, j, dup := firstDuplicate(l); dup {
			add("uniqueItems", "items at index %d and %d are equal", j, i)
		}
	}
	for i, item := range l {
		switch {
		case i < len(s.Tuple):
			s.Tuple[i].check(item, with(segs, strconv.Itoa(i)), out)
		case s.Items != nil:
			s.Items.check(item, with(segs, strconv.Itoa(i)), out)
		case s.c.forbidItems:
			*out = append(*out, violation{segs: with(segs, strconv.Itoa(i)), kw: "items", msg: "not allowed"})
		default:
			return
		}
	}
}

// firstDuplicate finds the first item equal to an earlier one: the
// smallest such i, and the smallest j < i it equals.
func firstDuplicate(l []any) (i, j int, ok bool) {
	if len(l) <= 20 {
		for i := 1; i < len(l); i++ {
			for j := 0; j < i; j++ {
				if equalJSON(l[i], l[j]) {
					return i, j, true
				}
			}
		}
		return 0, 0, false
	}
	seen := map[string][]int{}
	for i, item := range l {
		k := canonical(item)
		for _, j := range seen[k] {
			if equalJSON(l[j], item) {
				return i, j, true
			}
		}
		seen[k] = append(seen[k], i)
	}
	return 0, 0, false
}

// canonical is a key under which equal JSON values meet.
func canonical(v any) string {
	switch x := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var b strings.Builder
		b.WriteByte('{')
		for _, k := range keys {
			b.WriteString(strconv.Quote(k))
			b.WriteByte(':')
			b.WriteString(canonical(x[k]))
			b.WriteByte(',')
		}
		b.WriteByte('}')
		return b.String()
	case []any:
		var b strings.Builder
		b.WriteByte('[')
		for _, e := range x {
			b.WriteString(canonical(e))
			b.WriteByte(',')
		}
		b.WriteByte(']')
		return b.String()
	case string:
		return strconv.Quote(x)
	case nil:
		return "null"
	case bool:
		return strconv.FormatBool(x)
	}
	return "n" + strconv.FormatFloat(toFloat(v), 'g', -1, 64)
}

// with returns segs plus one segment, never sharing segs' spare capacity.
func with(segs []string, seg string) []string {
	out := make([]string, len(segs)+1)
	copy(out, segs)
	out[len(segs)] = seg
	return out
}

// jsonType names the JSON type of a decoded value; ok is false for a Go
// type no decoder of ours produces.
func jsonType(v any) (string, bool) {
	switch v.(type) {
	case nil:
		return "null", true
	case bool:
		return "boolean", true
	case string:
		return "string", true
	case []any:
		return "array", true
	case map[string]any:
		return "object", true
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64, float32, float64, json.Number:
		return "number", true
	}
	return "", false
}

func isInteger(v any) bool {
	switch x := v.(type) {
	case float64:
		return !math.IsInf(x, 0) && x == math.Trunc(x)
	case float32:
		f := float64(x)
		return !math.IsInf(f, 0) && f == math.Trunc(f)
	case json.Number:
		r, ok := new(big.Rat).SetString(string(x))
		return ok && r.IsInt()
	}
	return true // the integer types
}

func toFloat(v any) float64 {
	switch x := v.(type) {
	case int:
		return float64(x)
	case int8:
		return float64(x)
	case int16:
		return float64(x)
	case int32:
		return float64(x)
	case int64:
		return float64(x)
	case uint:
		return float64(x)
	case uint8:
		return float64(x)
	case uint16:
		return float64(x)
	case uint32:
		return float64(x)
	case uint64:
		return float64(x)
	case float32:
		return float64(x)
	case float64:
		return x
	case json.Number:
		f, _ := x.Float64()
		return f
	}
	return math.NaN()
}

// equalJSON compares two decoded JSON values; numbers by value.
func equalJSON(a, b any) bool {
	ta, _ := jsonType(a)
	tb, _ := jsonType(b)
	if ta != tb {
		return false
	}
	switch x := a.(type) {
	case map[string]any:
		y := b.(map[string]any)
		if len(x) != len(y) {
			return false
		}
		for k, xv := range x {
			yv, ok := y[k]
			if !ok || !equalJSON(xv, yv) {
				return false
			}
		}
		return true
	case []any:
		y := b.([]any)
		if len(x) != len(y) {
			return false
		}
		for i := range x {
			if !equalJSON(x[i], y[i]) {
				return false
			}
		}
		return true
	case string:
		return x == b.(string)
	case bool:
		return x == b.(bool)
	case nil:
		return true
	}
	return toFloat(a) == toFloat(b)
}

// quote single-quotes a name the way the validator's messages do.
func quote(s string) string {
	q := strconv.Quote(s)
	q = strings.ReplaceAll(q, `\"`, `"`)
	q = strings.ReplaceAll(q, `'`, `\'`)
	return "'" + q[1:len(q)-1] + "'"
}
