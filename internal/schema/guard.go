package schema

// Guards: the settings under which Quay reads a key at all. Quay's start-up
// validation (config-tool fieldgroups/<group>/<group>_validator.go) returns
// early when a group's feature is off, and Quay's runtime never reads the
// keys of a disabled feature, so a value there that breaks a pattern, an
// enum or a bound is not a problem. What config-tool does check whatever
// the feature is the Go type of the keys its constructors read into typed
// fields (x-quay-typed): a wrong type there fails the whole start-up
// validation before any group is looked at.
//
// Annotations: "guard" on an x-groups entry applies to every key of the
// group but the guard's own keys; "x-guard" on a property replaces the
// group's ({} for none). Both are {key: value or [values]}; all terms must
// hold for the key to be read.

import (
	"fmt"
	"sort"
	"strings"
)

// GuardTerm is one condition of a guard: Key must hold one of Values.
type GuardTerm struct {
	Key    string
	Values []any // booleans or strings
}

// Guard is the conjunction of its terms, sorted by key; nil: always read.
type Guard []GuardTerm

// String renders the guard as the message names it, e.g.
// "FEATURE_BUILD_SUPPORT: true and FEATURE_GITLAB_BUILD: true".
func (g Guard) String() string {
	var parts []string
	for _, t := range g {
		var vs []string
		for _, v := range t.Values {
			vs = append(vs, fmt.Sprint(v))
		}
		parts = append(parts, t.Key+": "+strings.Join(vs, " or "))
	}
	return strings.Join(parts, " and ")
}

func parseGuard(v any, where string) (Guard, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s: a guard is a mapping of key to value(s)", where)
	}
	var g Guard
	for k, raw := range m {
		vals := anySlice(raw)
		if vals == nil {
			vals = []any{raw}
		}
		for _, x := range vals {
			switch x.(type) {
			case bool, string:
			default:
				return nil, fmt.Errorf("%s: guard %s: a value must be a boolean or a string, not %T", where, k, x)
			}
		}
		g = append(g, GuardTerm{Key: k, Values: vals})
	}
	sort.Slice(g, func(i, j int) bool { return g[i].Key < g[j].Key })
	return g, nil
}

// resolveGuards sets every field's effective guard and checks that each
// guard names known keys with values their specs allow.
func (c *Catalogue) resolveGuards() error {
	fields := make([]*Field, 0, len(c.byKey)+len(c.patterns))
	for _, k := range c.keyList {
		fields = append(fields, c.byKey[k])
	}
	fields = append(fields, c.patterns...)
	for _, f := range fields {
		g := c.byGroup[f.Group].Guard
		if raw, ok := f.raw["x-guard"]; ok {
			var err error
			if g, err = parseGuard(raw, f.Key); err != nil {
				return err
			}
		}
		own := false
		for _, t := range g {
			if t.Key == f.Key {
				own = true
			}
		}
		if !own {
			f.Guard = g
		}
		f.QuayTyped, _ = f.raw["x-quay-typed"].(bool)
	}
	for _, grp := range c.groups {
		for _, t := range grp.Guard {
			if err := c.checkGuardTerm(t); err != nil {
				return fmt.Errorf("group %s: %w", grp.Name, err)
			}
		}
	}
	for _, f := range fields {
		for _, t := range f.Guard {
			if err := c.checkGuardTerm(t); err != nil {
				return fmt.Errorf("%s: %w", f.Key, err)
			}
		}
	}
	return nil
}

func (c *Catalogue) checkGuardTerm(t GuardTerm) error {
	gf := c.byKey[t.Key]
	if gf == nil || gf.Spec == nil {
		return fmt.Errorf("guard names unknown key %s", t.Key)
	}
	for _, v := range t.Values {
		var vs []violation
		gf.Spec.check(v, []string{t.Key}, &vs)
		if len(vs) > 0 {
			return fmt.Errorf("guard value %v is not a valid %s", v, t.Key)
		}
	}
	if !gf.HasDefault {
		return fmt.Errorf("guard key %s has no default", t.Key)
	}
	return nil
}

// GuardOff reports whether Quay does not read key under cfg (the file as
// written; missing keys take their defaults), with the term that fails.
// A guard key holding a value of the wrong type decides nothing: that key
// is an error of its own, and the guarded key stays checked.
func (c *Catalogue) GuardOff(key string, cfg map[string]any) (GuardTerm, bool) {
	f := c.Field(key)
	if f == nil {
		return GuardTerm{}, false
	}
	for _, t := range f.Guard {
		v, ok := cfg[t.Key]
		if !ok || v == nil {
			v = c.defaults[t.Key]
		}
		sameType, match := false, false
		for _, want := range t.Values {
			if fmt.Sprintf("%T", want) == fmt.Sprintf("%T", v) {
				sameType = true
			}
			if want == v {
				match = true
			}
		}
		if sameType && !match {
			return t, true
		}
	}
	return GuardTerm{}, false
}
