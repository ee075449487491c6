package bundle

import (
	"reflect"
	"strconv"
)

// EqualValues compares plain values, treating numbers by value so that a
// JSON 5 equals a YAML 5.
func EqualValues(a, b any) bool {
	if af, ok := number(a); ok {
		bf, ok := number(b)
		// NaN equals NaN here: ".nan" read back from YAML is the same value
		return ok && (af == bf || af != af && bf != bf)
	}
	switch av := a.(type) {
	case map[string]any:
		bv, ok := b.(map[string]any)
		if !ok || len(av) != len(bv) {
			return false
		}
		for k, x := range av {
			y, ok := bv[k]
			if !ok || !EqualValues(x, y) {
				return false
			}
		}
		return true
	case []any:
		bv, ok := b.([]any)
		if !ok || len(av) != len(bv) {
			return false
		}
		for i := range av {
			if !EqualValues(av[i], bv[i]) {
				return false
			}
		}
		return true
	}
	return reflect.DeepEqual(a, b)
}

func number(v any) (float64, bool) {
	switch n := v.(type) {
	case int:
		return float64(n), true
	case int64:
		return float64(n), true
	case int32:
		return float64(n), true
	case uint64:
		return float64(n), true
	case float64:
		return n, true
	case float32:
		return float64(n), true
	}
	return 0, false
}

// DeepCopy copies a plain value (map[string]any, []any and scalars, as
// Document.Value returns them) so that the copy can be changed without
// touching the original. Maps and lists are copied at every level, a nil
// map or list becoming an empty one; anything else is shared as it is.
func DeepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, val := range x {
			m[k] = DeepCopy(val)
		}
		return m
	case []any:
		l := make([]any, len(x))
		for i, val := range x {
			l[i] = DeepCopy(val)
		}
		return l
	}
	return v
}

// ValueAt walks a plain value along a path of map keys and list indexes
// and returns what it finds there. An index is a decimal string, read as
// strconv.Atoi reads it ("0", "12"). ok is false when a key is missing, an
// index is not a number or out of range, or the path goes on below a
// scalar; a nil stored at the end of the path is found (nil, true). The
// empty path returns v itself.
func ValueAt(v any, path ...string) (any, bool) {
	for _, s := range path {
		switch x := v.(type) {
		case map[string]any:
			next, ok := x[s]
			if !ok {
				return nil, false
			}
			v = next
		case []any:
			i, err := strconv.Atoi(s)
			if err != nil || i < 0 || i >= len(x) {
				return nil, false
			}
			v = x[i]
		default:
			return nil, false
		}
	}
	return v, true
}
