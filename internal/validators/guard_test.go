package validators

import (
	"fmt"
	"testing"

	"github.com/quay-tools/config-editor/internal/bundle"
	"github.com/quay-tools/config-editor/internal/problem"
	"github.com/quay-tools/config-editor/internal/schema"
)

// offValue is a value of the guard term's type that the term does not
// allow: it turns the guard off.
func offValue(t *testing.T, cat *schema.Catalogue, term schema.GuardTerm) any {
	switch v := term.Values[0].(type) {
	case bool:
		return !v
	case string:
		for _, e := range cat.Field(term.Key).Spec.Enum {
			allowed := false
			for _, w := range term.Values {
				allowed = allowed || w == e
			}
			if !allowed {
				return e
			}
		}
	}
	t.Fatalf("no value turns %s off", term.Key)
	return nil
}

// junk is a value of the key's kind that no rule accepts: text that is
// neither a host, a URL, a duration nor a choice, a negative number, a
// mapping or list holding only that text.
func junk(s *schema.FieldSpec) any {
	const bad = "-not valid at all!-"
	switch s.Kind {
	case schema.KindBool, schema.KindAny, schema.KindMixed:
		return nil
	case schema.KindInt, schema.KindNumber:
		return -1
	case schema.KindList, schema.KindTuple:
		return []any{bad}
	case schema.KindObject, schema.KindMap:
		return map[string]any{"bogus": bad}
	}
	return bad
}

// Every guard of the catalogue holds for the whole validation, the
// validators' rules included, not only for the structural check: with the
// guard off (a disabled feature, another AUTHENTICATION_TYPE, LOGS_MODEL
// database), junk in every guarded key yields no error about those keys,
// since Quay neither validates nor reads them; with the guard on, the same
// junk is refused.
func TestGuardsHoldForEveryRule(t *testing.T) {
	cat := schema.Get()
	byGuard := map[string][]*schema.Field{}
	var order []string
	for _, k := range cat.Keys() {
		f := cat.Field(k)
		if len(f.Guard) == 0 {
			continue
		}
		name := f.Group + " (" + f.Guard.String() + ")"
		if byGuard[name] == nil {
			order = append(order, name)
		}
		byGuard[name] = append(byGuard[name], f)
	}
	for _, name := range order {
		fields := byGuard[name]
		t.Run(name, func(t *testing.T) {
			guard := fields[0].Guard
			for _, on := range []bool{false, true} {
				merged := loadCase(t, "base.yaml").Config().Value()
				for _, term := range guard {
					merged[term.Key] = term.Values[0]
				}
				if !on {
					merged[guard[0].Key] = offValue(t, cat, guard[0])
				}
				guarded := map[string]bool{}
				for _, f := range fields {
					if v := junk(f.Spec); v != nil {
						merged[f.Key] = v
						guarded[f.Key] = true
					}
				}
				b, err := bundle.FromValue(merged, bundle.Limits{})
				if err != nil {
					t.Fatal(err)
				}
				var about []problem.Problem
				for _, p := range validateOffline(b) {
					if segs := p.Path.Segments(); p.Severity == problem.Error && len(segs) > 0 && guarded[segs[0]] {
						about = append(about, p)
					}
				}
				switch {
				case on && len(about) == 0:
					t.Errorf("guard on: junk in %d guarded keys is not refused", len(guarded))
				case !on && len(about) > 0:
					t.Errorf("guard off (%s: %v): Quay ignores these keys, but:\n%s", guard[0].Key, merged[guard[0].Key], dump(about))
				}
				if testing.Verbose() {
					fmt.Printf("%s on=%v: %d errors about %d guarded keys\n", name, on, len(about), len(guarded))
				}
			}
		})
	}
}
