package schema

import (
	"sort"
	"strings"
	"testing"
)

// guardedCases groups the guarded keys by their guard (a group's, or a
// key's own x-guard such as LOGS_MODEL_CONFIG's).
func guardedCases(cat *Catalogue) map[string][]*Field {
	out := map[string][]*Field{}
	for _, k := range cat.Keys() {
		f := cat.Field(k)
		if len(f.Guard) > 0 {
			out[f.Group+" ("+f.Guard.String()+")"] = append(out[f.Group+" ("+f.Guard.String()+")"], f)
		}
	}
	return out
}

// badValue returns a value of the key's type that its spec refuses for
// another reason than the type (pattern, enum, bound), or nil.
func badValue(s *FieldSpec) any {
	var cands []any
	switch {
	case s.Pattern != nil:
		cands = []any{"not valid at all!", "-x-", ""}
	case len(s.Enum) > 0:
		cands = []any{"no-such-choice"}
	case s.Minimum != nil:
		cands = []any{*s.Minimum - 1}
	}
	for _, v := range cands {
		var vs []violation
		s.check(v, []string{s.Name}, &vs)
		if len(vs) > 0 && vs[0].kw != "type" {
			return v
		}
	}
	return nil
}

// wrongType returns a value of a JSON type the spec does not allow.
func wrongType(s *FieldSpec) any {
	for _, v := range []any{[]any{"x"}, map[string]any{"x": 1}, "text", true} {
		var vs []violation
		s.check(v, []string{s.Name}, &vs)
		if len(vs) > 0 && vs[0].kw == "type" {
			return v
		}
	}
	return nil
}

// setGuard sets every term of g to its first value (on) or, for off, the
// first term to a value of the same type that the term does not allow.
func setGuard(t *testing.T, cat *Catalogue, cfg map[string]any, g Guard, on bool) {
	for i, term := range g {
		cfg[term.Key] = term.Values[0]
		if on || i > 0 {
			continue
		}
		switch v := term.Values[0].(type) {
		case bool:
			cfg[term.Key] = !v
		case string:
			other := ""
			for _, e := range cat.Field(term.Key).Spec.Enum {
				allowed := false
				for _, w := range term.Values {
					allowed = allowed || w == e
				}
				if s, ok := e.(string); ok && !allowed {
					other = s
					break
				}
			}
			if other == "" {
				t.Fatalf("no value turns %s off", term.Key)
			}
			cfg[term.Key] = other
		}
	}
}

func problemsAt(ps []located, key string) []string {
	var out []string
	for _, p := range ps {
		if len(p.segs) > 0 && p.segs[0] == key {
			out = append(out, p.Path.String()+": "+p.Message)
		}
	}
	return out
}

// Per guarded group: with the guard on, a value that breaks its pattern,
// enum or bound is an error; with the guard off, nothing, as Quay neither
// validates nor reads it. A wrong type stays an error under an off guard
// exactly for the keys Quay's start-up validation type-checks anyway.
func TestGuardedKeysFollowTheirGuard(t *testing.T) {
	cat := Get()
	cases := guardedCases(cat)
	if len(cases) < 12 {
		t.Fatalf("only %d guards in the catalogue", len(cases))
	}
	names := make([]string, 0, len(cases))
	for n := range cases {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		fields := cases[name]
		t.Run(name, func(t *testing.T) {
			g := fields[0].Guard
			bad := map[string]any{}
			for _, f := range fields {
				if v := badValue(f.Spec); v != nil {
					bad[f.Key] = v
				}
			}
			for _, on := range []bool{true, false} {
				cfg := baseConfig()
				setGuard(t, cat, cfg, g, on)
				for k, v := range bad {
					cfg[k] = v
				}
				ps := cat.structural(cfg)
				for k := range bad {
					got := problemsAt(ps, k)
					if on && len(got) == 0 {
						t.Errorf("guard on: %s = %v is not reported", k, bad[k])
					}
					if !on && len(got) > 0 {
						t.Errorf("guard off: %s is reported although Quay ignores it: %v", k, got)
					}
				}
			}
			typed := 0
			for _, f := range fields {
				wt := wrongType(f.Spec)
				if wt == nil {
					continue
				}
				cfg := baseConfig()
				setGuard(t, cat, cfg, g, false)
				cfg[f.Key] = wt
				got := problemsAt(cat.structural(cfg), f.Key)
				if f.QuayTyped {
					typed++
					if len(got) != 1 || !strings.Contains(got[0], "must be") {
						t.Errorf("guard off: %s of the wrong type must stay an error (Quay's start-up validation type-checks it); got %v", f.Key, got)
					}
				} else if len(got) > 0 {
					t.Errorf("guard off: %s of the wrong type is reported although Quay never reads it: %v", f.Key, got)
				}
			}
			t.Logf("%d keys, %d with a breakable rule, %d type-checked by Quay", len(fields), len(bad), typed)
		})
	}
}

// The case of the issue, through Validate: REPO_MIRROR_SERVER_HOSTNAME
// with a bad value is an error only while FEATURE_REPO_MIRROR is on, and a
// flag of the wrong type decides nothing (the guarded key stays checked).
func TestRepoMirrorHostnameGuard(t *testing.T) {
	cat := Get()
	for _, tc := range []struct {
		flag any
		want int
	}{{true, 1}, {false, 0}, {nil, 0}, {"yes", 1}} {
		cfg := baseConfig()
		cfg["REPO_MIRROR_SERVER_HOSTNAME"] = "-mirror-.example.com:x"
		if tc.flag != nil {
			cfg["FEATURE_REPO_MIRROR"] = tc.flag
		}
		if got := problemsAt(cat.structural(cfg), "REPO_MIRROR_SERVER_HOSTNAME"); len(got) != tc.want {
			t.Errorf("FEATURE_REPO_MIRROR: %v: got %v, want %d problem(s)", tc.flag, got, tc.want)
		}
		cfg["REPO_MIRROR_SERVER_HOSTNAME"] = 42
		if got := problemsAt(cat.structural(cfg), "REPO_MIRROR_SERVER_HOSTNAME"); len(got) != 1 {
			t.Errorf("FEATURE_REPO_MIRROR: %v: a number as hostname: got %v, want the type error Quay's start-up gives", tc.flag, got)
		}
	}
}

// A guard names known keys with values their specs allow; a broken one
// fails the build of the catalogue.
func TestGuardAnnotationsChecked(t *testing.T) {
	for _, tc := range []struct{ name, schema string }{
		{"unknown key", `{"type":"object","x-groups":[{"name":"G","guard":{"NOPE":true}}],"properties":{"A":{"x-group":"G","type":"string"}}}`},
		{"value of the wrong type", `{"type":"object","x-groups":[{"name":"G","guard":{"F":"on"}}],"properties":{"A":{"x-group":"G","type":"string"},"F":{"x-group":"G","type":"boolean","default":false}}}`},
		{"no default", `{"type":"object","x-groups":[{"name":"G","guard":{"F":true}}],"properties":{"A":{"x-group":"G","type":"string"},"F":{"x-group":"G","type":"boolean"}}}`},
		{"not a mapping", `{"type":"object","x-groups":[{"name":"G"}],"properties":{"A":{"x-group":"G","type":"string","x-guard":["F"]}}}`},
	} {
		if _, err := Load([]byte(tc.schema)); err == nil {
			t.Errorf("%s: the schema loads", tc.name)
		}
	}
}
