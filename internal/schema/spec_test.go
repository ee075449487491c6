package schema

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/quay-tools/config-editor/internal/bundle"
	"github.com/quay-tools/config-editor/schemas"
)

// rawPlaces walks the raw schema (through the deprecated Prop, which reads
// the JSON maps directly) and calls fn with every path it describes: each
// property, pattern property (with a sample key), map value, tuple
// position and list item, recursively.
func rawPlaces(t *testing.T, fn func(path []string, raw map[string]any)) int {
	t.Helper()
	cat := Get()
	n := 0
	var walk func(path []string, depth int)
	walk = func(path []string, depth int) {
		raw := cat.rawProp(path...)
		if raw == nil {
			t.Fatalf("Prop(%q) is nil", path)
		}
		if len(path) > 0 {
			n++
			fn(path, raw)
		}
		if depth > 6 {
			return
		}
		if props, ok := raw["properties"].(map[string]any); ok {
			for _, k := range sortedKeys(props) {
				walk(with(path, k), depth+1)
			}
		}
		if pats, ok := raw["patternProperties"].(map[string]any); ok {
			for p := range pats {
				walk(with(path, sampleKey(p)), depth+1)
			}
		}
		if _, ok := raw["additionalProperties"].(map[string]any); ok {
			walk(with(path, "any key"), depth+1)
		}
		pre := anySlice(raw["prefixItems"])
		for i := range pre {
			walk(with(path, fmt.Sprint(i)), depth+1)
		}
		if _, ok := raw["items"].(map[string]any); ok {
			walk(with(path, fmt.Sprint(len(pre))), depth+1)
		}
	}
	walk(nil, 0)
	return n
}

// TestEverySchemaPlaceHasASpec: every value the schema describes has a
// spec that agrees with the raw schema on type, enum, default, secret,
// pattern, title and description.
func TestEverySchemaPlaceHasASpec(t *testing.T) {
	cat := Get()
	n := rawPlaces(t, func(path []string, raw map[string]any) {
		s := cat.Spec(path...)
		if s == nil {
			t.Errorf("Spec(%q) is nil", path)
			return
		}
		var types []string
		switch x := raw["type"].(type) {
		case string:
			types = []string{x}
		case []any:
			for _, e := range x {
				types = append(types, e.(string))
			}
		}
		if !reflect.DeepEqual(s.Types, types) {
			t.Errorf("%q: Types %v, schema %v", path, s.Types, types)
		}
		if enum := anySlice(raw["enum"]); !reflect.DeepEqual(s.Enum, enum) {
			t.Errorf("%q: Enum %v, schema %v", path, s.Enum, enum)
		}
		def, hasDef := raw["default"]
		if s.HasDefault != hasDef || !reflect.DeepEqual(s.Default, def) {
			t.Errorf("%q: Default %v (%v), schema %v (%v)", path, s.Default, s.HasDefault, def, hasDef)
		}
		if string(s.Secret) != rawSecretKind(raw) {
			t.Errorf("%q: Secret %q, schema %q", path, s.Secret, rawSecretKind(raw))
		}
		if s.IsSecret() != cat.IsSecret(path...) || s.IsSecret() != (rawSecretKind(raw) != "") {
			t.Errorf("%q: IsSecret disagrees", path)
		}
		pat, _ := raw["pattern"].(string)
		if got := ""; s.Pattern != nil {
			got = s.Pattern.String()
			if got != pat {
				t.Errorf("%q: Pattern %q, schema %q", path, got, pat)
			}
		} else if pat != "" {
			t.Errorf("%q: no Pattern, schema %q", path, pat)
		}
		if s.Title != str(raw["title"]) || s.Description != str(raw["description"]) {
			t.Errorf("%q: title/description differ from the schema", path)
		}
		if s.Kind == "" || s.Widget == "" {
			t.Errorf("%q: no kind or widget", path)
		}
		if s.Kind == KindEnum && len(s.Enum) == 0 || s.Kind == KindSecret && s.Secret != SecretValue {
			t.Errorf("%q: kind %s does not fit the spec", path, s.Kind)
		}
		if s.Group == "" || cat.Group(s.Group) == nil {
			t.Errorf("%q: group %q", path, s.Group)
		}
		if g := cat.GroupOf(path[0]); s.Group != g && len(path) > 1 {
			t.Errorf("%q: group %q, its top-level key's %q", path, s.Group, g)
		}
	})
	if n < 500 {
		t.Errorf("only %d places walked", n)
	}
	// and every top-level key: Field and Spec agree
	for _, k := range cat.Keys() {
		f := cat.Field(k)
		if f.Spec == nil || f.Spec != cat.Spec(k) || f.Spec.Name != k {
			t.Errorf("%s: Field.Spec %v, Spec %v", k, f.Spec, cat.Spec(k))
			continue
		}
		if f.Spec.Required != f.Required || f.Spec.Group != f.Group || f.Spec.Component != f.Component || f.Spec.Label() != f.Title {
			t.Errorf("%s: spec and field differ: %+v vs %+v", k, f.Spec, f)
		}
	}
	for _, f := range cat.PatternFields() {
		if f.Spec == nil || f.Spec.NamePattern == nil || f.Spec.NamePattern.String() != f.Key {
			t.Errorf("pattern field %s has no spec", f.Key)
		}
	}
	if cat.Spec("NO_SUCH_KEY") != nil || cat.Spec("SERVER_HOSTNAME", "x") != nil || cat.Spec() != cat.root {
		t.Errorf("Spec of unknown paths / of the root is wrong")
	}
}

func TestSpecKindsAndWidgets(t *testing.T) {
	cat := Get()
	cases := []struct {
		path   []string
		kind   Kind
		widget Widget
	}{
		{[]string{"SERVER_HOSTNAME"}, KindString, WidgetText},
		{[]string{"DB_URI"}, KindString, WidgetText},
		{[]string{"AUTHENTICATION_TYPE"}, KindEnum, WidgetSelect},
		{[]string{"FEATURE_MAILING"}, KindBool, WidgetCheckbox},
		{[]string{"LDAP_TIMEOUT"}, KindInt, WidgetNumber},
		{[]string{"SECRET_KEY"}, KindSecret, WidgetSecret},
		{[]string{"SUPER_USERS"}, KindList, WidgetList},
		{[]string{"FRESH_LOGIN_TIMEOUT"}, KindDuration, WidgetText},
		{[]string{"BUILDLOGS_REDIS"}, KindObject, WidgetNested},
		{[]string{"BUILDLOGS_REDIS", "port"}, KindInt, WidgetNumber},
		{[]string{"BUILDLOGS_REDIS", "password"}, KindSecret, WidgetSecret},
		{[]string{"DB_CONNECTION_ARGS", "sslmode"}, KindEnum, WidgetSelect},
		{[]string{"DISTRIBUTED_STORAGE_CONFIG"}, KindMap, WidgetYAML},
		{[]string{"DISTRIBUTED_STORAGE_CONFIG", "x"}, KindTuple, WidgetYAML},
		{[]string{"DISTRIBUTED_STORAGE_CONFIG", "x", "0"}, KindEnum, WidgetSelect},
		{[]string{"DISTRIBUTED_STORAGE_CONFIG", "x", "1"}, KindObject, WidgetYAML},
		{[]string{"DISTRIBUTED_STORAGE_CONFIG", "x", "1", "port"}, KindMixed, WidgetText},
		{[]string{"DISTRIBUTED_STORAGE_CONFIG", "x", "1", "s3_secret_key"}, KindSecret, WidgetSecret},
		{[]string{"DISTRIBUTED_STORAGE_CONFIG", "x", "1", "maximum_chunk_size_gb"}, KindNumber, WidgetNumber},
		{[]string{"ACME_LOGIN_CONFIG"}, KindObject, WidgetNested},
		{[]string{"ACME_LOGIN_CONFIG", "CLIENT_SECRET"}, KindSecret, WidgetSecret},
	}
	for _, tc := range cases {
		s := cat.Spec(tc.path...)
		if s == nil || s.Kind != tc.kind || s.Widget != tc.widget {
			t.Errorf("Spec(%q): %v", tc.path, s)
		}
	}
	if s := cat.Spec("AUTHENTICATION_TYPE"); !s.HasDefault || s.Default != "Database" || !s.Common {
		t.Errorf("AUTHENTICATION_TYPE: default %v, common %v", s.Default, s.Common)
	}
	if s := cat.Spec("DB_URI"); s.Secret != SecretUserinfo || !s.Required || !s.Common || s.Component != "postgres" {
		t.Errorf("DB_URI: %+v", s)
	}
	if s := cat.Spec("BUILDLOGS_REDIS", "host"); !s.Required || !s.Common || s.Group != "Redis" || s.Component != "redis" {
		t.Errorf("BUILDLOGS_REDIS.host: %+v", s)
	}
	if s := cat.Spec("BUILDLOGS_REDIS", "port"); s.Required || s.Minimum == nil || *s.Minimum != 1 || s.Maximum == nil || *s.Maximum != 65535 {
		t.Errorf("BUILDLOGS_REDIS.port: %+v", s)
	}
	if s := cat.Spec("DISTRIBUTED_STORAGE_CONFIG", "us.east", "1", "s3_bucket"); s.Component != "objectstorage" || s.Group != "DistributedStorage" {
		t.Errorf("storage arg: component %q group %q", s.Component, s.Group)
	}
	if s := cat.Spec("LDAP_POOL_SIZE"); s == nil || s.Common || s.Required {
		t.Errorf("LDAP_POOL_SIZE should be advanced: %+v", s)
	}
	if s := cat.Spec("ACME_LOGIN_CONFIG"); s.Group != "OIDC" || !s.Common || s.Label() != "OIDC provider" {
		t.Errorf("OIDC provider: %+v", s)
	}
}

// Every group shows something before its advanced keys, and every
// required key is common.
func TestCommonKeys(t *testing.T) {
	cat := Get()
	for _, g := range cat.Groups() {
		n := 0
		for _, f := range g.Fields {
			if f.Spec.Common {
				n++
			}
			if f.Required && !f.Spec.Common {
				t.Errorf("%s is required but not common", f.Key)
			}
		}
		if n == 0 {
			t.Errorf("group %s has no common key", g.Name)
		}
		if n == len(g.Fields) && len(g.Fields) > 4 {
			t.Errorf("group %s: all %d keys are common; nothing is advanced", g.Name, n)
		}
	}
}

func TestDriverSpecs(t *testing.T) {
	cat := Get()
	var raw map[string]any
	if err := json.Unmarshal(Raw(), &raw); err != nil {
		t.Fatal(err)
	}
	drivers := raw["x-storage-drivers"].(map[string]any)
	if len(cat.DriverSpecs()) != len(drivers) || len(drivers) == 0 {
		t.Fatalf("%d driver specs, schema has %d", len(cat.DriverSpecs()), len(drivers))
	}
	for _, d := range cat.DriverSpecs() {
		rd := drivers[d.Name].(map[string]any)
		if cat.DriverSpec(d.Name) != d || d.Title != rd["title"] {
			t.Errorf("%s: lookup or title wrong", d.Name)
		}
		var args, req []string
		for _, a := range anySlice(rd["args"]) {
			args = append(args, a.(string))
		}
		for _, a := range args {
			for _, r := range anySlice(rd["required"]) {
				if r == a {
					req = append(req, a)
				}
			}
		}
		if !reflect.DeepEqual(d.ArgNames(), args) || !reflect.DeepEqual(d.RequiredArgs(), req) {
			t.Errorf("%s: args %v required %v; schema %v %v", d.Name, d.ArgNames(), d.RequiredArgs(), args, req)
		}
		if old := cat.Driver(d.Name); !reflect.DeepEqual(old.Args, d.ArgNames()) {
			t.Errorf("%s: Driver and DriverSpec disagree", d.Name)
		}
		for _, a := range d.Args {
			if a.Spec == nil || a.Spec != cat.Spec("DISTRIBUTED_STORAGE_CONFIG", "loc", "1", a.Name) || d.Arg(a.Name) != a {
				t.Errorf("%s.%s: spec %v", d.Name, a.Name, a.Spec)
			}
			if a.Spec.IsSecret() != cat.IsSecret("DISTRIBUTED_STORAGE_CONFIG", "loc", "1", a.Name) {
				t.Errorf("%s.%s: secret flag differs", d.Name, a.Name)
			}
		}
		if d.Arg("no_such_arg") != nil {
			t.Errorf("%s: Arg of an unknown name", d.Name)
		}
	}
	// the driver enum and the driver specs agree
	enum := cat.Spec("DISTRIBUTED_STORAGE_CONFIG", "x", "0").Enum
	if len(enum) != len(cat.DriverSpecs()) {
		t.Errorf("enum lists %d drivers, specs %d", len(enum), len(cat.DriverSpecs()))
	}
	for _, e := range enum {
		if cat.DriverSpec(e.(string)) == nil {
			t.Errorf("driver %s has no spec", e)
		}
	}
	if s3 := cat.DriverSpec("S3Storage"); !s3.Arg("s3_bucket").Required || s3.Arg("s3_access_key").Required ||
		s3.Arg("s3_secret_key").Spec.Kind != KindSecret || s3.Arg("port").Spec.Kind != KindMixed {
		t.Errorf("S3Storage args wrong: %+v", s3.Args)
	}
}

func TestValidLocationName(t *testing.T) {
	ok := []string{"default", "us.east", "a-b_c.1", "Z", strings.Repeat("a", 63)}
	bad := []string{"", "a b", "-x", ".x", "_x", "a/b", "ä", strings.Repeat("a", 64), "us east"}
	for _, n := range ok {
		if err := ValidLocationName(n); err != nil {
			t.Errorf("%q refused: %v", n, err)
		}
	}
	for _, n := range bad {
		err := ValidLocationName(n)
		if err == nil {
			t.Errorf("%q accepted", n)
			continue
		}
		if n != "" && !strings.Contains(err.Error(), fmt.Sprintf("%q", n)) {
			t.Errorf("%q: the message does not name it: %v", n, err)
		}
	}
}

func TestDBURIPattern(t *testing.T) {
	cat := Get()
	if cat.DBURIPattern() == nil || cat.DBURIPattern().String() != cat.rawProp("DB_URI")["pattern"] {
		t.Fatalf("DBURIPattern %v is not the schema's", cat.DBURIPattern())
	}
	for uri, want := range map[string]bool{
		"postgresql://u:p@db/quay": true, "mysql+pymysql://db/quay": true, "postgres://db/q": true, "sqlite:///x.db": true,
		"http://db/quay": false, "postgresql:/db": false, "": false, "POSTGRESQL://db": false,
	} {
		if got := cat.MatchDBURI(uri); got != want {
			t.Errorf("MatchDBURI(%q) = %v", uri, got)
		}
	}
}

// build refuses what the checker would silently ignore.
func TestBuildRefusesUnsupportedSchemas(t *testing.T) {
	edit := func(f func(s map[string]any)) []byte {
		var s map[string]any
		if err := json.Unmarshal(schemas.QuayConfig, &s); err != nil {
			t.Fatal(err)
		}
		f(s)
		out, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	prop := func(s map[string]any, k string) map[string]any {
		return s["properties"].(map[string]any)[k].(map[string]any)
	}
	cases := []struct {
		name, want string
		f          func(s map[string]any)
	}{
		{"oneOf", `"oneOf"`, func(s map[string]any) { prop(s, "MAIL_PORT")["oneOf"] = []any{map[string]any{"type": "integer"}} }},
		{"format", `"format"`, func(s map[string]any) { prop(s, "SERVER_HOSTNAME")["format"] = "hostname" }},
		{"nested if", `"if"`, func(s map[string]any) {
			prop(s, "BUILDLOGS_REDIS")["properties"].(map[string]any)["host"].(map[string]any)["if"] = map[string]any{}
		}},
		{"rule beside $ref", `"minItems"`, func(s map[string]any) {
			s["patternProperties"].(map[string]any)["^[A-Z0-9_]+_LOGIN_CONFIG$"].(map[string]any)["minItems"] = 1.0
		}},
		{"remote $ref", "local", func(s map[string]any) {
			s["patternProperties"].(map[string]any)["^[A-Z0-9_]+_LOGIN_CONFIG$"].(map[string]any)["$ref"] = "https://example.com/x.json"
		}},
		{"bad pattern", "pattern", func(s map[string]any) { prop(s, "DB_URI")["pattern"] = "(" }},
		{"unknown type", "unknown type", func(s map[string]any) { prop(s, "DB_URI")["type"] = "text" }},
		{"driver arg without spec", "does not describe", func(s map[string]any) {
			d := s["x-storage-drivers"].(map[string]any)["LocalStorage"].(map[string]any)
			d["args"] = append(d["args"].([]any), "no_such_arg")
		}},
		{"required arg not listed", "does not list", func(s map[string]any) {
			d := s["x-storage-drivers"].(map[string]any)["LocalStorage"].(map[string]any)
			d["required"] = append(d["required"].([]any), "s3_bucket")
		}},
	}
	for _, tc := range cases {
		_, err := Load(edit(tc.f))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err %v, want one mentioning %s", tc.name, err, tc.want)
		}
	}
	if _, err := Load(edit(func(map[string]any) {})); err != nil {
		t.Fatalf("the unchanged schema is refused: %v", err)
	}
}

// A location whose name holds a space or a dot gets its own path segments,
// rendered quoted, and the line of the offending key (the JSON-Schema
// validator used to URL-escape the name, which lost the line).
func TestValidateOddLocationNames(t *testing.T) {
	src := "SERVER_HOSTNAME: quay.example.com\n" +
		"DISTRIBUTED_STORAGE_CONFIG:\n" +
		"  a b:\n" +
		"  - S3Storage\n" +
		"  - s3_bucket: quay\n" +
		"    storage_path: 7\n" +
		"  us.east:\n" +
		"  - S3Storage\n" +
		"  - s3_bucket: quay\n" +
		"    port: -1\n"
	doc, err := bundle.ParseDocument([]byte(src), bundle.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	found := 0
	for _, p := range Get().Validate(doc) {
		switch {
		case p.Path.String() == `DISTRIBUTED_STORAGE_CONFIG["a b"][1].storage_path`:
			found++
			if p.Line != 6 || p.Message != `DISTRIBUTED_STORAGE_CONFIG["a b"][1].storage_path must be a string, not a number.` {
				t.Errorf("a b: %+v", p)
			}
		case p.Path.String() == `DISTRIBUTED_STORAGE_CONFIG["us.east"][1].port`:
			found++
			if p.Line != 10 {
				t.Errorf("us.east: %+v", p)
			}
		case strings.Contains(p.Path.String(), "%20"), strings.Contains(p.Path.String(), ".us.east"), strings.Contains(p.Path.String(), ".a b"):
			t.Errorf("escaped path: %+v", p)
		}
	}
	if found != 2 {
		t.Errorf("found %d of the 2 problems", found)
	}
}
