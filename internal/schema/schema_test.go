package schema

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/quay-tools/config-editor/internal/bundle"
	"github.com/quay-tools/config-editor/internal/problem"
)

func TestEmbeddedSchemaIsComplete(t *testing.T) {
	cat := Get()
	if len(cat.Groups()) == 0 {
		t.Fatal("no groups")
	}
	for _, g := range cat.Groups() {
		if len(g.Fields) == 0 {
			t.Errorf("group %s owns no key", g.Name)
		}
		if g.Title == "" || g.Description == "" {
			t.Errorf("group %s lacks a title or description", g.Name)
		}
		if cat.Group(g.Name) != g {
			t.Errorf("Group(%q) does not return it", g.Name)
		}
	}
	var raw map[string]any
	if err := json.Unmarshal(Raw(), &raw); err != nil {
		t.Fatal(err)
	}
	props := raw["properties"].(map[string]any)
	for _, pp := range []map[string]any{props, raw["patternProperties"].(map[string]any)} {
		for k, v := range pp {
			p := cat.resolve(v.(map[string]any)) // a $ref brings its title and description
			for _, attr := range []string{"x-group", "title", "description"} {
				if s, _ := p[attr].(string); strings.TrimSpace(s) == "" {
					t.Errorf("%s: no %s", k, attr)
				}
			}
			if _, hasType := p["type"]; !hasType {
				if _, hasRef := p["$ref"]; !hasRef {
					t.Errorf("%s: no type", k)
				}
			}
		}
	}
	for _, k := range cat.Keys() {
		f := cat.Field(k)
		if f == nil || f.Key != k {
			t.Errorf("Field(%q) = %v", k, f)
			continue
		}
		if f.Type() == "" {
			t.Errorf("%s: no type (after $ref)", k)
		}
		if cat.GroupOf(k) != f.Group || cat.Group(f.Group) == nil {
			t.Errorf("%s: group %q not in the catalogue", k, f.Group)
		}
		if f.HasDefault && len(f.Enum) > 0 {
			found := false
			for _, e := range f.Enum {
				if fmt.Sprint(e) == fmt.Sprint(f.Default) {
					found = true
				}
			}
			if !found {
				t.Errorf("%s: default %v is not one of its enum %v", k, f.Default, f.Enum)
			}
		}
	}
	for _, r := range cat.Required() {
		if f := cat.Field(r); f == nil || !f.Required {
			t.Errorf("required key %s is not a field marked Required", r)
		}
	}

	// every driver's args exist in $defs.storageArgs, required ⊆ args
	argProps := raw["$defs"].(map[string]any)["storageArgs"].(map[string]any)["properties"].(map[string]any)
	if len(cat.Drivers()) == 0 {
		t.Fatal("no storage drivers")
	}
	for _, d := range cat.Drivers() {
		if len(d.Args) == 0 || d.Title == "" {
			t.Errorf("driver %s: no args or title", d.Name)
		}
		args := map[string]bool{}
		for _, a := range d.Args {
			args[a] = true
			if _, ok := argProps[a]; !ok {
				t.Errorf("driver %s: arg %q is not in $defs.storageArgs", d.Name, a)
			}
		}
		for _, r := range d.Required {
			if !args[r] {
				t.Errorf("driver %s: required %q is not among its args", d.Name, r)
			}
		}
		if cat.Driver(d.Name) != d {
			t.Errorf("Driver(%q) does not return it", d.Name)
		}
	}
	// the storage location's driver enum and x-storage-drivers agree
	enum := Get().rawProp("DISTRIBUTED_STORAGE_CONFIG", "x", "0")["enum"].([]any)
	var names []string
	for _, e := range enum {
		names = append(names, e.(string))
		if cat.Driver(e.(string)) == nil {
			t.Errorf("driver %s is in the enum but not in x-storage-drivers", e)
		}
	}
	if len(names) != len(cat.Drivers()) {
		t.Errorf("enum has %d drivers, x-storage-drivers %d", len(names), len(cat.Drivers()))
	}
	// the schema stays a valid JSON Schema for other tools (config-editor
	// schema prints it): a general validator compiles it
	if _, err := referenceValidator(); err != nil {
		t.Fatalf("schema does not compile: %v", err)
	}
}

// Validate checks only the keys a file sets; that is right only while no
// required key has a default and every default passes its own schema.
func TestDefaultsAreValid(t *testing.T) {
	cat := Get()
	minimal := map[string]any{
		"SERVER_HOSTNAME":                "quay.example.com",
		"DB_URI":                         "postgresql://quay:pw@db.example.com/quay",
		"DISTRIBUTED_STORAGE_CONFIG":     map[string]any{"local": []any{"LocalStorage", map[string]any{"storage_path": "/datastorage"}}},
		"DISTRIBUTED_STORAGE_PREFERENCE": []any{"local"},
		"BUILDLOGS_REDIS":                map[string]any{"host": "redis.example.com"},
		"USER_EVENTS_REDIS":              map[string]any{"host": "redis.example.com"},
	}
	if got := cat.structural(minimal); len(got) != 0 {
		t.Fatalf("the minimal config is not valid: %+v", got)
	}
	full := cat.WithDefaults(minimal)
	if len(full) <= len(minimal)+100 {
		t.Fatalf("only %d keys after adding defaults; the defaults are missing", len(full))
	}
	for _, p := range cat.structural(full) {
		t.Errorf("the default of %s is not valid against its own schema: %s", p.Path, p.Message)
	}
	for _, k := range cat.rawSchema()["required"].([]any) {
		if _, ok := cat.defaults[k.(string)]; ok {
			t.Errorf("required key %s has a default; Validate must merge it before checking", k)
		}
	}
}

func TestPropFollowsRefsAndPatterns(t *testing.T) {
	cat := Get()
	cases := []struct {
		segs []string
		want string // the "type"
	}{
		{[]string{"BUILDLOGS_REDIS", "port"}, "integer"},
		{[]string{"DISTRIBUTED_STORAGE_CONFIG", "anyname", "1", "s3_bucket"}, "string"},
		{[]string{"DISTRIBUTED_STORAGE_CONFIG", "anyname", "0"}, "string"},
		{[]string{"ACME_LOGIN_CONFIG", "CLIENT_SECRET"}, "string"},
	}
	for _, tc := range cases {
		p := cat.rawProp(tc.segs...)
		if p == nil || p["type"] != tc.want {
			t.Errorf("Prop(%v) = %v", tc.segs, p)
		}
	}
	if cat.rawProp("NO_SUCH_KEY_AT_ALL", "x") != nil {
		t.Errorf("Prop of an unknown path is not nil")
	}
	if !cat.IsSecret("DISTRIBUTED_STORAGE_CONFIG", "x", "1", "s3_secret_key") || !cat.IsSecret("ACME_LOGIN_CONFIG", "CLIENT_SECRET") {
		t.Errorf("nested secrets not found")
	}
	if cat.IsSecret("SERVER_HOSTNAME") || cat.IsSecret("DISTRIBUTED_STORAGE_CONFIG", "x", "1", "s3_bucket") {
		t.Errorf("non-secret reported secret")
	}
}

func parse(t *testing.T, name string) *bundle.Document {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	d, err := bundle.ParseDocument(data, bundle.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestValidateAcceptsAValidConfig(t *testing.T) {
	for _, p := range Get().Validate(parse(t, "valid.yaml")) {
		t.Errorf("unexpected: %+v", p)
	}
}

func TestValidateOneProblemPerWrongKey(t *testing.T) {
	doc := parse(t, "wrong.bad.yaml")
	got := Get().Validate(doc)
	type want struct {
		group, path string
		line        int
		sev         problem.Severity
		msg         string
	}
	wants := []want{
		{"HostSettings", "SERVER_HOSTNAME", 1, problem.Error, "SERVER_HOSTNAME is not in the expected form"},
		{"Database", "DB_URI", 2, problem.Error, "DB_URI is not in the expected form"},
		{"DistributedStorage", "DISTRIBUTED_STORAGE_CONFIG.default[1].storage_path", 6, problem.Error, "must be a string, not a number"},
		{"Redis", "BUILDLOGS_REDIS.port", 11, problem.Error, "BUILDLOGS_REDIS.port must be an integer, not a string"},
		{"Email", "FEATURE_MAILING", 15, problem.Error, "FEATURE_MAILING must be true or false, not a string"},
		{"HostSettings", "PREFERRED_URL_SCHEME", 16, problem.Error, `got "ftp"`},
		{"Superusers", "SUPER_USERS", 17, problem.Error, "SUPER_USERS must be a list"},
		{"", "SECRET_KEY", 18, problem.Error, "SECRET_KEY must be a string"},
		{"Unknown", "server_hostname", 19, problem.Warning, "did you mean SERVER_HOSTNAME?"},
		{"Unknown", "SERVER_HOSTNAM", 20, problem.Warning, "did you mean SERVER_HOSTNAME?"},
		{"Unknown", "TOTALLY_UNKNOWN_THING", 21, problem.Warning, "carried along"},
	}
	byPath := map[string][]problem.Problem{}
	for _, p := range got {
		byPath[p.Path.String()] = append(byPath[p.Path.String()], p)
	}
	for _, w := range wants {
		ps := byPath[w.path]
		if len(ps) != 1 {
			t.Errorf("%s: %d problems, want 1: %+v", w.path, len(ps), ps)
			continue
		}
		p := ps[0]
		group := w.group
		if group == "" {
			group = Get().GroupOf(w.path)
		}
		if p.FieldGroup != group || p.Line != w.line || p.Severity != w.sev || !strings.Contains(p.Message, w.msg) {
			t.Errorf("%s: got %+v\nwant group %s line %d %s containing %q", w.path, p, group, w.line, w.sev, w.msg)
		}
		if len(p.Tags) == 0 || p.Tags[0] != strings.SplitN(strings.SplitN(w.path, ".", 2)[0], "[", 2)[0] {
			t.Errorf("%s: tags %v", w.path, p.Tags)
		}
		delete(byPath, w.path)
	}
	for path, ps := range byPath {
		t.Errorf("unexpected problem at %q: %+v", path, ps)
	}
	// secrets are never echoed
	for _, p := range got {
		for _, s := range []string{"hunter2secret", "918273645"} {
			if strings.Contains(p.Message, s) {
				t.Errorf("message echoes a secret: %s", p.Message)
			}
		}
	}
}

func TestValidateRequiredKeys(t *testing.T) {
	d, err := bundle.ParseDocument([]byte("SERVER_HOSTNAME: quay.example.com\n"), bundle.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	got := Get().Validate(d)
	missing := map[string]string{}
	for _, p := range got {
		if strings.HasSuffix(p.Message, "is required.") {
			missing[p.Path.String()] = p.FieldGroup
		}
	}
	for _, r := range Get().Required() {
		if r == "SERVER_HOSTNAME" {
			continue
		}
		if g, ok := missing[r]; !ok || g != Get().GroupOf(r) {
			t.Errorf("%s: missing-key problem %q (group %q): %+v", r, g, Get().GroupOf(r), got)
		}
	}
	if _, ok := missing["SERVER_HOSTNAME"]; ok {
		t.Errorf("SERVER_HOSTNAME reported missing")
	}
}

func TestValidateLowercaseWithoutSuggestion(t *testing.T) {
	d, _ := bundle.ParseDocument([]byte("nothing_like_a_key: 1\n"), bundle.Limits{})
	var ws []problem.Problem
	for _, p := range Get().Validate(d) {
		if p.Path.String() == "nothing_like_a_key" {
			ws = append(ws, p)
		}
	}
	if len(ws) != 1 || ws[0].Severity != problem.Warning || !strings.Contains(ws[0].Message, "UPPERCASE") || strings.Contains(ws[0].Message, "did you mean") {
		t.Errorf("got %+v", ws)
	}
}

// secretConfig builds a config holding every secret the schema declares,
// each set to a unique marker, by walking the schema itself: a secret
// added to the schema is covered without touching this test.
func secretConfig(t *testing.T) (cfg map[string]any, markers []string) {
	t.Helper()
	var raw map[string]any
	if err := json.Unmarshal(Raw(), &raw); err != nil {
		t.Fatal(err)
	}
	cat := Get()
	patternKeys := map[string]string{`^[A-Z0-9_]+_LOGIN_CONFIG$`: "ACME_LOGIN_CONFIG"}
	var gen func(node map[string]any, depth int) (any, bool)
	gen = func(node map[string]any, depth int) (any, bool) {
		node = cat.resolve(node)
		if node == nil || depth > 12 {
			return nil, false
		}
		if kind := rawSecretKind(node); kind != "" {
			m := fmt.Sprintf("MARKER%03dzz", len(markers))
			markers = append(markers, m)
			if kind == "userinfo" {
				return "postgresql://quayuser:" + m + "@db.example.com:5432/quay", true
			}
			return m, true
		}
		if props, ok := node["properties"].(map[string]any); ok || node["patternProperties"] != nil || node["additionalProperties"] != nil {
			out := map[string]any{}
			keys := make([]string, 0, len(props))
			for k := range props {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				if v, ok := gen(props[k].(map[string]any), depth+1); ok {
					out[k] = v
				}
			}
			if pats, ok := node["patternProperties"].(map[string]any); ok {
				for pat, p := range pats {
					key, known := patternKeys[pat]
					if !known {
						t.Fatalf("no example key for pattern %s; add one to patternKeys", pat)
					}
					if v, ok := gen(p.(map[string]any), depth+1); ok {
						out[key] = v
					}
				}
			}
			if ap, ok := node["additionalProperties"].(map[string]any); ok {
				if v, ok := gen(ap, depth+1); ok {
					out["somelocation"] = v
				}
			}
			return out, len(out) > 0
		}
		if pre := anySlice(node["prefixItems"]); len(pre) > 0 {
			out := make([]any, len(pre))
			found := false
			for i, p := range pre {
				v, ok := gen(p.(map[string]any), depth+1)
				if !ok {
					v = "plain"
					if e := anySlice(p.(map[string]any)["enum"]); len(e) > 0 {
						v = e[0]
					}
				}
				found = found || ok
				out[i] = v
			}
			return out, found
		}
		if it, ok := node["items"].(map[string]any); ok {
			if v, ok := gen(it, depth+1); ok {
				return []any{v}, true
			}
		}
		return nil, false
	}
	v, _ := gen(raw, 0)
	cfg = v.(map[string]any)
	cfg["SERVER_HOSTNAME"] = "visible.example.com"
	cfg["zzz_unknown"] = "visible too"
	return cfg, markers
}

// TestRedactHidesEverySecret is the Prometheus-style check: every secret
// set, the marshalled redacted config holds no marker and exactly one
// placeholder per secret.
func TestRedactHidesEverySecret(t *testing.T) {
	cat := Get()
	cfg, markers := secretConfig(t)
	if len(markers) < 30 {
		t.Fatalf("only %d secrets found in the schema walk", len(markers))
	}
	red := cat.Redact(cfg)
	jsonEnc := func(v any) ([]byte, error) {
		var buf bytes.Buffer
		e := json.NewEncoder(&buf)
		e.SetEscapeHTML(false)
		err := e.Encode(v)
		return buf.Bytes(), err
	}
	for _, enc := range []func(any) ([]byte, error){jsonEnc, yaml.Marshal} {
		out, err := enc(red)
		if err != nil {
			t.Fatal(err)
		}
		text := string(out)
		for _, m := range markers {
			if strings.Contains(text, m) {
				t.Errorf("marker %s leaks:\n%s", m, text)
			}
		}
		if n := strings.Count(text, Placeholder); n != len(markers) {
			t.Errorf("%d placeholders for %d secrets:\n%s", n, len(markers), text)
		}
		for _, keep := range []string{"visible.example.com", "visible too", "quayuser", "db.example.com:5432/quay"} {
			if !strings.Contains(text, keep) {
				t.Errorf("non-secret %q redacted too", keep)
			}
		}
	}
	// Redact never modifies its input
	if strings.Count(fmt.Sprint(cfg), "MARKER") != len(markers) {
		t.Errorf("Redact modified its input")
	}

	// SecretValues finds all of them; Scrub removes them from any text
	vals := cat.SecretValues(cfg)
	set := map[string]bool{}
	for _, v := range vals {
		set[v] = true
	}
	for _, m := range markers {
		if !set[m] {
			t.Errorf("SecretValues misses %s", m)
		}
	}
	msg := "dial failed: user=quayuser password=" + markers[0] + " key " + markers[len(markers)-1]
	if s := Scrub(msg, vals); strings.Contains(s, markers[0]) || strings.Contains(s, markers[len(markers)-1]) || !strings.Contains(s, "quayuser") {
		t.Errorf("Scrub: %s", s)
	}

	// RestoreSecrets: placeholders come back as the current values
	restored := cat.RestoreSecrets(red, cfg)
	a, _ := json.Marshal(restored)
	b, _ := json.Marshal(cfg)
	if string(a) != string(b) {
		t.Errorf("RestoreSecrets did not restore:\n%s\n%s", a, b)
	}
}

func TestRedactURIs(t *testing.T) {
	cases := map[string]string{
		"postgresql://quay:s3cr3t@db.example.com:5432/quay?sslmode=require": "postgresql://quay:<secret>@db.example.com:5432/quay?sslmode=require",
		"mysql+pymysql://quay:p%40ss@db/quay":                               "mysql+pymysql://quay:<secret>@db/quay",
		"postgresql://quay:p@ss@db/quay":                                    "postgresql://quay:<secret>@db/quay",
		"postgresql://quay@db/quay":                                         "postgresql://quay@db/quay",
		"postgresql://db/quay":                                              "postgresql://db/quay",
		"postgresql://quay:pw with space@db/quay":                           "postgresql://quay:<secret>@db/quay",
		"postgresql://quay:@db/quay":                                        "postgresql://quay:<secret>@db/quay",
		"not a uri":                                                         "not a uri",
	}
	for in, want := range cases {
		if got := RedactURI(in); got != want {
			t.Errorf("RedactURI(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRestoreSecrets(t *testing.T) {
	cat := Get()
	current := map[string]any{
		"DB_URI":          "postgresql://quay:old%40pw@db/quay",
		"SECRET_KEY":      "oldkey",
		"BUILDLOGS_REDIS": map[string]any{"host": "r", "password": "oldredis"},
		"DISTRIBUTED_STORAGE_CONFIG": map[string]any{"us": []any{"S3Storage", map[string]any{
			"s3_bucket": "b", "s3_secret_key": "olds3"}}},
	}
	submitted := map[string]any{
		"DB_URI":          "postgresql://quay2:<secret>@db2/quay", // user and host changed, password kept
		"SECRET_KEY":      "newkey",                               // a new secret is taken
		"BUILDLOGS_REDIS": map[string]any{"host": "r2", "password": Placeholder},
		"DISTRIBUTED_STORAGE_CONFIG": map[string]any{"us": []any{"S3Storage", map[string]any{
			"s3_bucket": "b2", "s3_secret_key": Placeholder}}},
		"MAIL_PASSWORD": Placeholder, // nothing to restore: becomes empty
	}
	got := cat.RestoreSecrets(submitted, current)
	want := map[string]any{
		"DB_URI":          "postgresql://quay2:old%40pw@db2/quay",
		"SECRET_KEY":      "newkey",
		"BUILDLOGS_REDIS": map[string]any{"host": "r2", "password": "oldredis"},
		"DISTRIBUTED_STORAGE_CONFIG": map[string]any{"us": []any{"S3Storage", map[string]any{
			"s3_bucket": "b2", "s3_secret_key": "olds3"}}},
		"MAIL_PASSWORD": "",
	}
	a, _ := json.Marshal(got)
	b, _ := json.Marshal(want)
	if string(a) != string(b) {
		t.Errorf("got  %s\nwant %s", a, b)
	}
	if strings.Contains(string(a), Placeholder) {
		t.Errorf("a placeholder survived: %s", a)
	}
	// SecretValues includes both forms of an escaped URI password
	vals := cat.SecretValues(current)
	for _, w := range []string{"old%40pw", "old@pw", "oldkey", "oldredis", "olds3"} {
		found := false
		for _, v := range vals {
			found = found || v == w
		}
		if !found {
			t.Errorf("SecretValues lacks %q: %v", w, vals)
		}
	}
	// empty secrets stay empty when redacted: "not set" stays visible
	red := cat.Redact(map[string]any{"SECRET_KEY": "", "MAIL_PASSWORD": nil})
	if red["SECRET_KEY"] != "" || red["MAIL_PASSWORD"] != nil {
		t.Errorf("empty secrets: %v", red)
	}
	// a secret given as a number or list is still hidden
	red = cat.Redact(map[string]any{"SECRET_KEY": 12345, "DATABASE_SECRET_KEY": []any{"a"}})
	if red["SECRET_KEY"] != Placeholder || red["DATABASE_SECRET_KEY"] != Placeholder {
		t.Errorf("non-string secrets: %v", red)
	}
}

func TestScrubIgnoresTinySecrets(t *testing.T) {
	if got := Scrub("a b c", []string{"a", "b"}); got != "a b c" {
		t.Errorf("Scrub replaced 1-letter secrets: %q", got)
	}
	if got := Scrub("token=abcdef", []string{"abcdef"}); got != "token="+Placeholder {
		t.Errorf("Scrub: %q", got)
	}
}

// A server may echo a credential in another case or encoded: every form is
// scrubbed, and the text around it survives.
func TestScrubCaseAndEncodings(t *testing.T) {
	sec := "Pw/Hole+Sëcret 9&x<y>"
	forms := map[string]string{
		"as is":              sec,
		"upper case":         strings.ToUpper(sec),
		"lower case":         strings.ToLower(sec),
		"query escaped":      url.QueryEscape(sec),
		"path escaped":       url.PathEscape(sec),
		"lower-case %xx":     strings.ToLower(url.QueryEscape(sec)),
		"upper query":        strings.ToUpper(url.QueryEscape(sec)),
		"HTML escaped":       html.EscapeString(sec),
		"base64":             base64.StdEncoding.EncodeToString([]byte(sec)),
		"base64 URL, no pad": base64.RawURLEncoding.EncodeToString([]byte(sec)),
	}
	for name, form := range forms {
		got := Scrub("before "+form+" after", []string{sec})
		if got != "before "+Placeholder+" after" {
			t.Errorf("%s (%q): %q", name, form, got)
		}
	}
	// a longer secret that starts with a shorter one is replaced whole
	if got := Scrub("x abcdef y", []string{"abc", "abcdef"}); got != "x "+Placeholder+" y" {
		t.Errorf("overlapping secrets: %q", got)
	}
	// base64 is case-sensitive: another case is other bytes
	b64 := base64.StdEncoding.EncodeToString([]byte("secret-value"))
	if got := Scrub(strings.ToLower(b64), []string{"secret-value"}); got != strings.ToLower(b64) {
		t.Errorf("lower-cased base64 scrubbed: %q", got)
	}
	if got := NewScrubber(nil).Scrub("nothing <secret> here"); got != "nothing <secret> here" {
		t.Errorf("empty scrubber changed text: %q", got)
	}
}

// rawSecretKind reads x-secret from a raw schema node, independently of
// the specs the code under test builds.
func rawSecretKind(node map[string]any) string {
	switch s := node["x-secret"].(type) {
	case bool:
		if s {
			return "value"
		}
	case string:
		if s == "userinfo" {
			return "userinfo"
		}
		if s != "" {
			return "value"
		}
	}
	return ""
}
