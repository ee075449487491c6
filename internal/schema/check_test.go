package schema

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v5"

	"github.com/quay-tools/config-editor/internal/bundle"
	"github.com/quay-tools/config-editor/schemas"
)

// The checker replaced compiling the schema with santhosh-tekuri/jsonschema
// on every start. The library stays as the reference: these tests compare
// the two on every kind of value at every place of the schema.

var (
	refOnce sync.Once
	refSch  *jsonschema.Schema
	refErr  error
)

func referenceValidator() (*jsonschema.Schema, error) {
	refOnce.Do(func() {
		comp := jsonschema.NewCompiler()
		comp.Draft = jsonschema.Draft2020
		comp.AssertFormat = true
		if refErr = comp.AddResource(schemas.QuayConfigURL, bytes.NewReader(schemas.QuayConfig)); refErr != nil {
			return
		}
		refSch, refErr = comp.Compile(schemas.QuayConfigURL)
	})
	return refSch, refErr
}

// referenceViolations are the library's leaf errors as violations.
func referenceViolations(tb testing.TB, cfg map[string]any) []violation {
	tb.Helper()
	sch, err := referenceValidator()
	if err != nil {
		tb.Fatal(err)
	}
	err = sch.Validate(cfg)
	if err == nil {
		return nil
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		tb.Fatalf("validate: %v", err)
	}
	var out []violation
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) > 0 {
			for _, c := range e.Causes {
				walk(c)
			}
			return
		}
		kw := e.KeywordLocation
		if i := strings.LastIndexByte(kw, '/'); i >= 0 {
			kw = kw[i+1:]
		}
		v := violation{segs: instanceSegs(tb, e.InstanceLocation), kw: kw, msg: e.Message}
		if kw == "required" {
			v.missing = quotedNames(e.Message)
		}
		out = append(out, v)
	}
	walk(ve)
	return out
}

// instanceSegs undoes the library's escaping of an instance location: a
// JSON pointer whose tokens are also URL-path-escaped.
func instanceSegs(tb testing.TB, ptr string) []string {
	if ptr == "" {
		return nil
	}
	parts := strings.Split(strings.TrimPrefix(ptr, "/"), "/")
	for i, p := range parts {
		u, err := url.PathUnescape(p)
		if err != nil {
			tb.Fatalf("instance location %q: %v", ptr, err)
		}
		parts[i] = strings.ReplaceAll(strings.ReplaceAll(u, "~1", "/"), "~0", "~")
	}
	return parts
}

func quotedNames(msg string) []string {
	var out []string
	for {
		i := strings.IndexByte(msg, '\'')
		if i < 0 {
			return out
		}
		j := strings.IndexByte(msg[i+1:], '\'')
		if j < 0 {
			return out
		}
		out = append(out, msg[i+1:i+1+j])
		msg = msg[i+j+2:]
	}
}

func violationKey(v violation) string {
	return fmt.Sprintf("%q %s %s %q", v.segs, v.kw, v.msg, v.missing)
}

// sortedViolations orders violations and, where the library lists names
// in map order (additionalProperties), sorts the names.
func sortedViolations(vs []violation) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		if rest, ok := strings.CutPrefix(v.msg, "additionalProperties "); ok {
			names := strings.Split(strings.TrimSuffix(rest, " not allowed"), ", ")
			sort.Strings(names)
			v.msg = "additionalProperties " + strings.Join(names, ", ") + " not allowed"
		}
		out[i] = violationKey(v)
	}
	sort.Strings(out)
	return out
}

func ourViolations(cfg map[string]any) []violation {
	var vs []violation
	Get().root.check(cfg, nil, &vs)
	return vs
}

func compareWithReference(t *testing.T, what string, cfg map[string]any) {
	t.Helper()
	want := sortedViolations(referenceViolations(t, cfg))
	got := sortedViolations(ourViolations(cfg))
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got  %q\n want %q", what, got, want)
	}
}

// baseConfig is a valid config the variations start from.
func baseConfig() map[string]any {
	return map[string]any{
		"SERVER_HOSTNAME":                "quay.example.com",
		"DB_URI":                         "postgresql://quay:pw@db.example.com/quay",
		"DISTRIBUTED_STORAGE_CONFIG":     map[string]any{"local": []any{"LocalStorage", map[string]any{"storage_path": "/datastorage"}}},
		"DISTRIBUTED_STORAGE_PREFERENCE": []any{"local"},
		"BUILDLOGS_REDIS":                map[string]any{"host": "redis.example.com"},
		"USER_EVENTS_REDIS":              map[string]any{"host": "redis.example.com"},
	}
}

// probeValues are values of every JSON type and at the edges of the
// schema's bounds.
func probeValues(s *FieldSpec) []any {
	vals := []any{nil, true, false, "", "x", "hello world", "30m", "https://a.example", "ü", 0, -1, 1, 3, 65535, 65536,
		1.5, 2.0, -0.5, 1e21, []any{}, []any{"a"}, []any{"a", "a"}, []any{1, 2, 1}, []any{"a", map[string]any{}},
		[]any{"S3Storage", map[string]any{}, "extra"}, map[string]any{}, map[string]any{"zz": 1}, map[string]any{"a b": "x"}}
	vals = append(vals, s.Enum...)
	for _, e := range s.Enum {
		if str, ok := e.(string); ok {
			vals = append(vals, strings.ToLower(str)+"!")
		}
	}
	if s.HasDefault {
		vals = append(vals, s.Default)
	}
	var long []any
	for i := 0; i < 25; i++ {
		long = append(long, fmt.Sprintf("v%d", i%24)) // a duplicate past 20 items
	}
	return append(vals, long)
}

// TestCheckerMatchesReference puts every probe value at every place the
// schema describes (each property, pattern property, map value, tuple
// position and list item, recursively) and compares the violations.
func TestCheckerMatchesReference(t *testing.T) {
	cat := Get()
	places := 0
	var walk func(spec *FieldSpec, path []string, depth int)
	walk = func(spec *FieldSpec, path []string, depth int) {
		if depth > 6 {
			return
		}
		if len(path) > 0 {
			places++
			for _, v := range probeValues(spec) {
				cfg := baseConfig()
				if !setAt(cfg, path, v) {
					t.Fatalf("cannot place a value at %q", path)
				}
				compareWithReference(t, fmt.Sprintf("%q = %#v", path, v), cfg)
			}
		}
		for _, ch := range spec.Children {
			walk(ch, with(path, ch.Name), depth+1)
		}
		for _, p := range spec.Patterns {
			walk(p, with(path, sampleKey(p.NamePattern.String())), depth+1)
		}
		if spec.Values != nil {
			walk(spec.Values, with(path, "some key"), depth+1)
		}
		for i, p := range spec.Tuple {
			walk(p, with(path, fmt.Sprint(i)), depth+1)
		}
		if spec.Items != nil {
			walk(spec.Items, with(path, fmt.Sprint(len(spec.Tuple))), depth+1)
		}
	}
	walk(cat.root, nil, 0)
	if places < 500 {
		t.Errorf("only %d places checked; the walk missed parts of the schema", places)
	}
	compareWithReference(t, "empty config", map[string]any{})
	compareWithReference(t, "base config", baseConfig())
}

func sampleKey(pattern string) string {
	if pattern == "^[A-Z0-9_]+_LOGIN_CONFIG$" {
		return "ACME_LOGIN_CONFIG"
	}
	panic("no sample key for pattern " + pattern)
}

// setAt stores v at path, making the containers on the way (a list for a
// decimal segment).
func setAt(cfg map[string]any, path []string, v any) bool {
	var cur any = cfg
	for i, seg := range path {
		last := i == len(path)-1
		var next any
		if !last {
			if isIndex(path[i+1]) {
				n := 0
				fmt.Sscan(path[i+1], &n)
				next = make([]any, n+1)
			} else {
				next = map[string]any{}
			}
		}
		switch c := cur.(type) {
		case map[string]any:
			if last {
				c[seg] = v
				return true
			}
			if existing, ok := c[seg]; ok && reflect.TypeOf(existing) == reflect.TypeOf(next) {
				next = existing
				if l, isList := next.([]any); isList {
					n := 0
					fmt.Sscan(path[i+1], &n)
					for len(l) <= n {
						l = append(l, nil)
					}
					c[seg], next = l, l
				}
			} else {
				c[seg] = next
			}
		case []any:
			n := 0
			fmt.Sscan(seg, &n)
			if last {
				c[n] = v
				return true
			}
			if existing := c[n]; existing != nil && reflect.TypeOf(existing) == reflect.TypeOf(next) {
				next = existing
			} else {
				c[n] = next
			}
		default:
			return false
		}
		cur = next
	}
	return false
}

func isIndex(s string) bool {
	_, err := atoi(s)
	return err == nil
}

// TestCheckerMatchesReferenceOnBundles compares the two on every config in
// the repository's test data.
func TestCheckerMatchesReferenceOnBundles(t *testing.T) {
	var files []string
	for _, glob := range []string{"testdata/*.yaml", "../bundle/testdata/*.yaml", "../validators/testdata/*/*.yaml", "../validators/testdata/*.yaml", "../../examples/*/config.yaml"} {
		m, _ := filepath.Glob(glob)
		files = append(files, m...)
	}
	if len(files) < 5 {
		t.Fatalf("only %d test configs found", len(files))
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		doc, err := bundle.ParseDocument(data, bundle.Limits{})
		if err != nil {
			continue // malformed on purpose
		}
		compareWithReference(t, f, doc.Value())
	}
}

// FuzzCheckerMatchesReference: for any YAML, the checker and the library
// agree (except on NaN and infinities, where the library panics).
func FuzzCheckerMatchesReference(f *testing.F) {
	for _, name := range []string{"valid.yaml", "wrong.bad.yaml"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("DISTRIBUTED_STORAGE_CONFIG:\n  a b: [S3Storage, {port: 0, is_secure: maybe}, x]\nTAG_EXPIRATION_OPTIONS: [1w, 1w]\n"))
	f.Add([]byte("ACME_LOGIN_CONFIG: {OIDC_SERVER: ftp://x}\nBUILDLOGS_REDIS: {port: 1.5}\nMAIL_PORT: '25x'\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		doc, err := bundle.ParseDocument(data, bundle.Limits{MaxNodes: 5000})
		if err != nil {
			return
		}
		cfg := doc.Value()
		if hasNonFinite(cfg) {
			t.Skip("the reference validator panics on NaN and infinities")
		}
		compareWithReference(t, "fuzz input", cfg)
	})
}

func hasNonFinite(v any) bool {
	switch x := v.(type) {
	case float64:
		return math.IsNaN(x) || math.IsInf(x, 0)
	case map[string]any:
		for _, e := range x {
			if hasNonFinite(e) {
				return true
			}
		}
	case []any:
		for _, e := range x {
			if hasNonFinite(e) {
				return true
			}
		}
	}
	return false
}

// editDistance computes only a band of the table; it must agree with the
// full Levenshtein table below the limit.
func TestEditDistanceBand(t *testing.T) {
	full := func(a, b string) int {
		d := make([][]int, len(a)+1)
		for i := range d {
			d[i] = make([]int, len(b)+1)
			d[i][0] = i
		}
		for j := range d[0] {
			d[0][j] = j
		}
		for i := 1; i <= len(a); i++ {
			for j := 1; j <= len(b); j++ {
				cost := 1
				if a[i-1] == b[j-1] {
					cost = 0
				}
				d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			}
		}
		return d[len(a)][len(b)]
	}
	words := []string{"", "A", "AB", "BA", "ABC", "SERVER_HOSTNAME", "SERVER_HOSTNAM", "SERVR_HOSTNAME", "server_hostname",
		"DB_URI", "DBURI", "DB_URL", "FEATURE_MAILING", "FEATURE_MAILNG_1", "XFEATURE_MAILING", "FEATURE_MAILINGX", "ZZZ"}
	buf := make([]int, 200)
	for _, a := range words {
		for _, b := range words {
			for limit := 1; limit <= 4; limit++ {
				if got, want := editDistance(a, b, limit, buf), min(full(a, b), limit); got != want {
					t.Errorf("editDistance(%q, %q, %d) = %d, want %d", a, b, limit, got, want)
				}
			}
		}
	}
}

// suggest skips candidates by a cheap lower bound; it must pick what a
// plain scan of every key by edit distance picks.
func TestSuggestMatchesPlainScan(t *testing.T) {
	cat := Get()
	plain := func(k string) string {
		best, bestD := "", 3
		buf := make([]int, 512)
		for _, cand := range cat.keyList {
			if d := editDistance(k, cand, 3, buf); d < bestD {
				best, bestD = cand, d
			}
		}
		return best
	}
	words := []string{"SERVER_HOSTNAM", "SERVR_HOSTNAME", "DB_URL", "DBURI", "FEATURE_MAILNG", "FEATURE_MAILNG_1",
		"SUPER_USER", "SECRET_KEYS", "REGISTRY_TITEL", "LDAP_URL", "TOTALLY_UNKNOWN_THING", "X", "", "MAIL_PORTS",
		"AUTHENTICATION_TYP", "FEATURE_USER_CREATON", "BUILDLOGS_REDI", "USER_EVENT_REDIS", "DISTRIBUTED_STORAGE_CONFG"}
	suggested := 0
	for _, w := range words {
		if got, want := cat.suggest(w), plain(w); got != want {
			t.Errorf("suggest(%q) = %q, plain scan %q", w, got, want)
		}
		if cat.suggest(w) != "" {
			suggested++
		}
	}
	if suggested < 10 {
		t.Errorf("only %d of the misspellings got a suggestion", suggested)
	}
}

// A Go value no decoder produces is one problem for its key, not a panic.
func TestCheckerForeignGoType(t *testing.T) {
	cfg := baseConfig()
	cfg["LDAP_TIMEOUT"] = struct{}{}
	ps := Get().structural(cfg)
	if len(ps) != 1 || ps[0].Path.String() != "LDAP_TIMEOUT" || !strings.Contains(ps[0].Message, "has no JSON type") {
		t.Errorf("got %+v", ps)
	}
}
