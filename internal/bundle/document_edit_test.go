package bundle

import (
	"bytes"
	"strconv"
	"strings"
	"testing"
)

// splitLines splits text keeping each line's terminator, so a CRLF line
// rewritten with LF shows up as a change.
func splitLines(b []byte) []string {
	var out []string
	for _, l := range lines(b) {
		out = append(out, string(l))
	}
	return out
}

// hunk reduces two texts to their single differing region: the 1-based
// line of a where it starts and the removed and added text. Edits of one
// key are contiguous, so one hunk is all a correct edit may produce.
func hunk(a, b []byte) (start int, removed, added string) {
	al, bl := splitLines(a), splitLines(b)
	p := 0
	for p < len(al) && p < len(bl) && al[p] == bl[p] {
		p++
	}
	s := 0
	for s < len(al)-p && s < len(bl)-p && al[len(al)-1-s] == bl[len(bl)-1-s] {
		s++
	}
	return p + 1, strings.Join(al[p:len(al)-s], ""), strings.Join(bl[p:len(bl)-s], "")
}

type gone struct{}

type editCase struct {
	name    string
	file    string
	edit    func(d *Document) error
	removed string // exact removed text
	added   string // exact added text
	path    []string
	want    any // the value at path after the edit; gone{} for deleted
	others  map[string]any
}

func set(path string, v any) func(d *Document) error {
	return func(d *Document) error { return d.Set(strings.Split(path, "."), v) }
}

func del(path string) func(d *Document) error {
	return func(d *Document) error { return d.Delete(strings.Split(path, ".")) }
}

// applyEdit changes one path in a copy of the whole value and applies it,
// the way the web editor submits a form.
func applyEdit(path string, v any) func(d *Document) error {
	return func(d *Document) error {
		val := DeepCopy(d.Value()).(map[string]any)
		segs := strings.Split(path, ".")
		var cur any = val
		for _, s := range segs[:len(segs)-1] {
			next, ok := ValueAt(cur, s)
			if !ok {
				next = map[string]any{}
				cur.(map[string]any)[s] = next
			}
			cur = next
		}
		last := segs[len(segs)-1]
		switch c := cur.(type) {
		case map[string]any:
			if _, isGone := v.(gone); isGone {
				delete(c, last)
			} else {
				c[last] = v
			}
		case []any:
			i, err := strconv.Atoi(last)
			if err != nil {
				return err
			}
			c[i] = v
		}
		return d.Apply(val)
	}
}

func TestEditsChangeOnlyTheKeysLines(t *testing.T) {
	cases := []editCase{
		{name: "scalar keeps trailing comment", file: "commented.yaml", edit: set("SERVER_HOSTNAME", "new.example.com"),
			removed: "SERVER_HOSTNAME: quay.example.com   # public name\n",
			added:   "SERVER_HOSTNAME: new.example.com   # public name\n",
			path:    []string{"SERVER_HOSTNAME"}, want: "new.example.com"},
		{name: "single quoted stays single quoted", file: "commented.yaml", edit: set("DB_URI", "postgresql://quay:pw2@db/quay"),
			removed: "DB_URI: 'postgresql://quay:pw@db.example.com/quay'\n",
			added:   "DB_URI: 'postgresql://quay:pw2@db/quay'\n",
			path:    []string{"DB_URI"}, want: "postgresql://quay:pw2@db/quay"},
		{name: "nested scalar in 4-space block", file: "commented.yaml", edit: set("BUILDLOGS_REDIS.port", 6380),
			removed: "    port: 6379\n", added: "    port: 6380\n",
			path: []string{"BUILDLOGS_REDIS", "port"}, want: 6380},
		{name: "scalar inside list item keeps comment", file: "commented.yaml", edit: set("DISTRIBUTED_STORAGE_CONFIG.us.1.s3_bucket", "other"),
			removed: "  - s3_bucket: quay-us   # the bucket\n", added: "  - s3_bucket: other   # the bucket\n",
			path: []string{"DISTRIBUTED_STORAGE_CONFIG", "us", "1", "s3_bucket"}, want: "other"},
		{name: "new top-level key appended", file: "commented.yaml", edit: set("FEATURE_BUILD_SUPPORT", true),
			removed: "", added: "FEATURE_BUILD_SUPPORT: true\n",
			path: []string{"FEATURE_BUILD_SUPPORT"}, want: true},
		{name: "new nested key in 4-space block", file: "commented.yaml", edit: set("BUILDLOGS_REDIS.password", "pw"),
			removed: "", added: "    password: pw\n",
			path: []string{"BUILDLOGS_REDIS", "password"}, want: "pw"},
		{name: "delete unknown key", file: "commented.yaml", edit: del("zzz_unknown_key"),
			removed: "zzz_unknown_key: keep me\n", added: "",
			path: []string{"zzz_unknown_key"}, want: gone{}},
		{name: "delete nested key", file: "commented.yaml", edit: del("BUILDLOGS_REDIS.port"),
			removed: "    port: 6379\n", added: "",
			path: []string{"BUILDLOGS_REDIS", "port"}, want: gone{}},
		{name: "delete entry keeps the comment after it", file: "commented.yaml", edit: del("DISTRIBUTED_STORAGE_CONFIG"),
			removed: "DISTRIBUTED_STORAGE_CONFIG:\n  us:\n  - S3Storage\n  - s3_bucket: quay-us   # the bucket\n    storage_path: /registry\n", added: "",
			path: []string{"DISTRIBUTED_STORAGE_CONFIG"}, want: gone{}},
		{name: "flow list stays flow", file: "commented.yaml", edit: set("TAG_EXPIRATION_OPTIONS", []any{"0s", "2w"}),
			removed: "TAG_EXPIRATION_OPTIONS: [0s, 1d, 1w]\n", added: "TAG_EXPIRATION_OPTIONS: [0s, 2w]\n",
			path: []string{"TAG_EXPIRATION_OPTIONS"}, want: []any{"0s", "2w"}},
		{name: "apply whole value with one change", file: "commented.yaml", edit: applyEdit("FEATURE_MAILING", true),
			removed: "FEATURE_MAILING: false\n", added: "FEATURE_MAILING: true\n",
			path: []string{"FEATURE_MAILING"}, want: true},
		{name: "apply nested change from JSON-ish float", file: "commented.yaml", edit: applyEdit("BUILDLOGS_REDIS.port", float64(6390)),
			removed: "    port: 6379\n", added: "    port: 6390\n",
			path: []string{"BUILDLOGS_REDIS", "port"}, want: 6390},
		{name: "apply removing a key", file: "commented.yaml", edit: applyEdit("zzz_unknown_key", gone{}),
			removed: "zzz_unknown_key: keep me\n", added: "",
			path: []string{"zzz_unknown_key"}, want: gone{}},

		{name: "pyyaml list append", file: "pyyaml.yaml", edit: set("SUPER_USERS", []any{"admin", "ops", "bob"}),
			removed: "", added: "- bob\n", path: []string{"SUPER_USERS", "2"}, want: "bob"},
		{name: "pyyaml nested list item", file: "pyyaml.yaml", edit: set("DISTRIBUTED_STORAGE_CONFIG.default.1.storage_path", "/data"),
			removed: "  - storage_path: /datastorage/registry\n", added: "  - storage_path: /data\n",
			path: []string{"DISTRIBUTED_STORAGE_CONFIG", "default", "1", "storage_path"}, want: "/data"},
		{name: "pyyaml new location", file: "pyyaml.yaml", edit: set("DISTRIBUTED_STORAGE_CONFIG.us", []any{"S3Storage", map[string]any{"s3_bucket": "b"}}),
			removed: "", added: "  us:\n  - S3Storage\n  - s3_bucket: b\n",
			path: []string{"DISTRIBUTED_STORAGE_CONFIG", "us", "1", "s3_bucket"}, want: "b"},
		{name: "pyyaml numeric string stays a string", file: "pyyaml.yaml", edit: set("DATABASE_SECRET_KEY", "42"),
			removed: "DATABASE_SECRET_KEY: '0123456789'\n", added: "DATABASE_SECRET_KEY: '42'\n",
			path: []string{"DATABASE_SECRET_KEY"}, want: "42"},
		{name: "pyyaml plain string that needs quoting", file: "pyyaml.yaml", edit: set("SERVER_HOSTNAME", "true"),
			removed: "SERVER_HOSTNAME: quay.example.com\n", added: "SERVER_HOSTNAME: \"true\"\n",
			path: []string{"SERVER_HOSTNAME"}, want: "true"},
		{name: "pyyaml empty flow list filled", file: "pyyaml.yaml", edit: set("DISTRIBUTED_STORAGE_DEFAULT_LOCATIONS", []any{"default"}),
			removed: "DISTRIBUTED_STORAGE_DEFAULT_LOCATIONS: []\n", added: "DISTRIBUTED_STORAGE_DEFAULT_LOCATIONS: [default]\n",
			path: []string{"DISTRIBUTED_STORAGE_DEFAULT_LOCATIONS", "0"}, want: "default"},
		{name: "pyyaml apply list change", file: "pyyaml.yaml", edit: applyEdit("TAG_EXPIRATION_OPTIONS", []any{"2w", "8w"}),
			removed: "- 4w\n", added: "- 8w\n",
			path: []string{"TAG_EXPIRATION_OPTIONS", "1"}, want: "8w"},

		{name: "merge key override", file: "anchors.yaml", edit: set("USER_EVENTS_REDIS.port", 6381),
			removed: "  port: 6380\n", added: "  port: 6381\n",
			path: []string{"USER_EVENTS_REDIS", "port"}, want: 6381,
			others: map[string]any{"BUILDLOGS_REDIS.port": 6379, "x_redis.port": 6379}},
		{name: "edit through alias leaves the anchor alone", file: "anchors.yaml", edit: set("BUILDLOGS_REDIS.host", "other"),
			removed: "BUILDLOGS_REDIS: *redis\n", added: "BUILDLOGS_REDIS:\n  host: other\n  port: 6379\n",
			path: []string{"BUILDLOGS_REDIS", "host"}, want: "other",
			others: map[string]any{"x_redis.host": "redis.internal", "USER_EVENTS_REDIS.host": "redis.internal"}},
		{name: "delete through alias leaves the anchor alone", file: "anchors.yaml", edit: del("BUILDLOGS_REDIS.port"),
			removed: "BUILDLOGS_REDIS: *redis\n", added: "BUILDLOGS_REDIS:\n  host: redis.internal\n",
			path: []string{"BUILDLOGS_REDIS", "port"}, want: gone{},
			others: map[string]any{"x_redis.port": 6379, "USER_EVENTS_REDIS.port": 6380}},
		{name: "merged key overridden locally", file: "anchors.yaml", edit: set("USER_EVENTS_REDIS.host", "ue"),
			removed: "", added: "  host: ue\n",
			path: []string{"USER_EVENTS_REDIS", "host"}, want: "ue",
			others: map[string]any{"x_redis.host": "redis.internal", "BUILDLOGS_REDIS.host": "redis.internal"}},
		{name: "apply with alias unchanged keeps alias", file: "anchors.yaml", edit: applyEdit("SERVER_HOSTNAME", "h2"),
			removed: "SERVER_HOSTNAME: \"quay.example.com\"\n", added: "SERVER_HOSTNAME: \"h2\"\n",
			path: []string{"SERVER_HOSTNAME"}, want: "h2"},
		{name: "unicode single quoted", file: "anchors.yaml", edit: set("TITLE", "Registre ✓ d'été"),
			removed: "TITLE: 'Quay — Registry ✓'\n", added: "TITLE: 'Registre ✓ d''été'\n",
			path: []string{"TITLE"}, want: "Registre ✓ d'été"},
		{name: "flow list with unicode", file: "anchors.yaml", edit: set("SUPER_USERS", []any{"admin", "ops", "éva", "zoë"}),
			removed: "SUPER_USERS: [admin, \"ops\", 'éva']\n", added: "SUPER_USERS: [admin, \"ops\", 'éva', zoë]\n",
			path: []string{"SUPER_USERS", "3"}, want: "zoë"},

		{name: "crlf scalar", file: "crlf.yaml", edit: set("SERVER_HOSTNAME", "new"),
			removed: "SERVER_HOSTNAME: quay.example.com\r\n", added: "SERVER_HOSTNAME: new\r\n",
			path: []string{"SERVER_HOSTNAME"}, want: "new"},
		{name: "crlf nested scalar", file: "crlf.yaml", edit: set("BUILDLOGS_REDIS.port", 1),
			removed: "  port: 6379\r\n", added: "  port: 1\r\n",
			path: []string{"BUILDLOGS_REDIS", "port"}, want: 1},
		{name: "crlf list append", file: "crlf.yaml", edit: set("SUPER_USERS", []any{"admin", "bob"}),
			removed: "", added: "- bob\r\n", path: []string{"SUPER_USERS", "1"}, want: "bob"},
		{name: "crlf new key", file: "crlf.yaml", edit: set("NEW_KEY", 1),
			removed: "", added: "NEW_KEY: 1\r\n", path: []string{"NEW_KEY"}, want: 1},
		{name: "crlf delete nested", file: "crlf.yaml", edit: del("BUILDLOGS_REDIS.port"),
			removed: "  port: 6379\r\n", added: "", path: []string{"BUILDLOGS_REDIS", "port"}, want: gone{}},

		{name: "doc marker scalar", file: "docstart.yaml", edit: set("SERVER_HOSTNAME", "x.example.org"),
			removed: "SERVER_HOSTNAME: registry.example.org\n", added: "SERVER_HOSTNAME: x.example.org\n",
			path: []string{"SERVER_HOSTNAME"}, want: "x.example.org"},
		{name: "double quoted unicode", file: "docstart.yaml", edit: set("REGISTRY_TITLE", "Ünï 2"),
			removed: "REGISTRY_TITLE: \"Ünïcödé Registry 🚀\"\n", added: "REGISTRY_TITLE: \"Ünï 2\"\n",
			path: []string{"REGISTRY_TITLE"}, want: "Ünï 2"},
		{name: "double quoted with escapes", file: "docstart.yaml", edit: set("LDAP_ADMIN_PASSWD", `new"pw\`),
			removed: "LDAP_ADMIN_PASSWD: \"p\\\"ass word\"\n", added: "LDAP_ADMIN_PASSWD: \"new\\\"pw\\\\\"\n",
			path: []string{"LDAP_ADMIN_PASSWD"}, want: `new"pw\`},
		{name: "new key before document end marker", file: "docstart.yaml", edit: set("FEATURE_X", true),
			removed: "", added: "FEATURE_X: true\n", path: []string{"FEATURE_X"}, want: true},
		{name: "nested key in last entry", file: "docstart.yaml", edit: set("BUILDLOGS_REDIS.port", 7000),
			removed: "    port: 6379\n", added: "    port: 7000\n", path: []string{"BUILDLOGS_REDIS", "port"}, want: 7000},
		{name: "delete last entry keeps end marker", file: "docstart.yaml", edit: del("BUILDLOGS_REDIS"),
			removed: "BUILDLOGS_REDIS:\n    host: redis\n    port: 6379\n", added: "", path: []string{"BUILDLOGS_REDIS"}, want: gone{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			src := readTestdata(t, tc.file)
			doc, err := ParseDocument(src, Limits{})
			if err != nil {
				t.Fatal(err)
			}
			before := DeepCopy(doc.Value()).(map[string]any)
			if err := tc.edit(doc); err != nil {
				t.Fatalf("edit: %v", err)
			}
			out := doc.Bytes()
			_, removed, added := hunk(src, out)
			if removed != tc.removed || added != tc.added {
				t.Errorf("diff:\n-%q\n+%q\nwant:\n-%q\n+%q\nresult:\n%s", removed, added, tc.removed, tc.added, out)
			}
			// the saved text must parse to the same value the document reports
			re, err := ParseDocument(out, Limits{})
			if err != nil {
				t.Fatalf("result does not re-parse: %v\n%s", err, out)
			}
			if !EqualValues(re.Value(), doc.Value()) {
				t.Errorf("re-parsed value differs from Value()")
			}
			got, ok := ValueAt(doc.Value(), tc.path...)
			if _, isGone := tc.want.(gone); isGone {
				if ok {
					t.Errorf("%v still present: %v", tc.path, got)
				}
			} else if !ok || !EqualValues(got, tc.want) {
				t.Errorf("value at %v = %#v, want %#v", tc.path, got, tc.want)
			}
			for p, want := range tc.others {
				if got, _ := ValueAt(doc.Value(), strings.Split(p, ".")...); !EqualValues(got, want) {
					t.Errorf("%s = %#v, want %#v (edit leaked)", p, got, want)
				}
			}
			// nothing but the edited top-level key changed in value
			for k, v := range before {
				if k == tc.path[0] {
					continue
				}
				if !EqualValues(doc.Value()[k], v) && tc.others == nil {
					t.Errorf("unrelated key %s changed: %#v -> %#v", k, v, doc.Value()[k])
				}
			}
		})
	}
}

func TestSetOnEmptyDocument(t *testing.T) {
	for _, src := range []string{"", "# only a comment\n", "---\n", "~\n"} {
		doc, err := ParseDocument([]byte(src), Limits{})
		if err != nil {
			t.Fatalf("%q: %v", src, err)
		}
		if err := doc.Set([]string{"A", "b"}, "c"); err != nil {
			t.Fatalf("%q: %v", src, err)
		}
		if got, _ := ValueAt(doc.Value(), "A", "b"); got != "c" {
			t.Errorf("%q: A.b = %v\n%s", src, got, doc.Bytes())
		}
		if strings.HasPrefix(src, "#") && !bytes.HasPrefix(doc.Bytes(), []byte(src)) {
			t.Errorf("%q: comment lost:\n%s", src, doc.Bytes())
		}
	}
}

// TestApplyOwnValueIsANoOp: submitting the document's own value changes
// nothing, whatever YAML spelled it (NaN, infinities, merges, aliases).
func TestApplyOwnValueIsANoOp(t *testing.T) {
	srcs := []string{"A: .nan\nB: -.inf\nC: 0x1F\nD: 1_000\nE: 0o17\nF: ~\nG: 2001-12-14\n"}
	for _, f := range []string{"commented.yaml", "pyyaml.yaml", "anchors.yaml", "crlf.yaml", "docstart.yaml", "realistic.yaml"} {
		srcs = append(srcs, string(readTestdata(t, f)))
	}
	for _, src := range srcs {
		d, err := ParseDocument([]byte(src), Limits{})
		if err != nil {
			t.Fatal(err)
		}
		if err := d.Apply(DeepCopy(d.Value()).(map[string]any)); err != nil {
			t.Errorf("Apply(own value): %v\n%s", err, src)
		}
		if string(d.Bytes()) != src {
			t.Errorf("Apply(own value) changed the text:\n%s\n---\n%s", src, d.Bytes())
		}
	}
}

// Go callers build values with typed slices and maps; they must land in
// the document exactly like their []any / map[string]any equivalents.
func TestFromValueAcceptsTypedGoValues(t *testing.T) {
	b, err := FromValue(map[string]any{
		"SERVER_HOSTNAME":                "quay.example.com",
		"DISTRIBUTED_STORAGE_PREFERENCE": []string{"us", "eu"},
		"BUILDLOGS_REDIS":                map[string]string{"host": "redis.example.com"},
		"TAG_EXPIRATION_OPTIONS":         []string{"2w", "4w"},
		"DB_CONNECTION_POOLING":          true,
		"DB_CONNECTION_ARGS":             map[string]any{"max_connections": int32(10), "stale_timeout": uint16(60)},
	}, DefaultLimits)
	if err != nil {
		t.Fatalf("FromValue: %v", err)
	}
	got := b.Config().Value()
	want := map[string]any{
		"SERVER_HOSTNAME":                "quay.example.com",
		"DISTRIBUTED_STORAGE_PREFERENCE": []any{"us", "eu"},
		"BUILDLOGS_REDIS":                map[string]any{"host": "redis.example.com"},
		"TAG_EXPIRATION_OPTIONS":         []any{"2w", "4w"},
		"DB_CONNECTION_POOLING":          true,
		"DB_CONNECTION_ARGS":             map[string]any{"max_connections": 10, "stale_timeout": 60},
	}
	if !EqualValues(got, want) {
		t.Fatalf("value after FromValue:\n got %#v\nwant %#v", got, want)
	}
	if !strings.Contains(string(b.Config().Bytes()), "- us\n") {
		t.Errorf("the list was not written as a YAML sequence:\n%s", b.Config().Bytes())
	}
}

func TestSetRefusesNonUTF8InTypedValues(t *testing.T) {
	d, err := ParseDocument([]byte("A: 1\n"), DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []any{[]string{"ok", "bad\xff"}, map[string]string{"k": "bad\xff"}} {
		if err := d.Set([]string{"B"}, v); err == nil || !strings.Contains(err.Error(), "UTF-8") {
			t.Errorf("Set(%#v) = %v, want a UTF-8 error", v, err)
		}
	}
	if string(d.Bytes()) != "A: 1\n" {
		t.Errorf("a refused Set changed the document: %q", d.Bytes())
	}
}

// TestFilledPlaceholdersAreBlockStyle: the editor adds a storage location
// or an OIDC provider with empty arguments ({}) first and fills them in
// later; the filled map must come out in block style like the rest of a
// hand-written file, not as the one-line flow map the empty {} was.
func TestFilledPlaceholdersAreBlockStyle(t *testing.T) {
	src := readTestdata(t, "pyyaml.yaml")
	d, err := ParseDocument(src, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	steps := []func(d *Document) error{
		set("DISTRIBUTED_STORAGE_CONFIG.us", []any{"S3Storage", map[string]any{}}),
		set("FOO_LOGIN_CONFIG", map[string]any{}),
		applyEdit("DISTRIBUTED_STORAGE_CONFIG.us", []any{"S3Storage", map[string]any{"host": "s3.example.com", "s3_bucket": "b"}}),
		applyEdit("FOO_LOGIN_CONFIG", map[string]any{"OIDC_SERVER": "https://id.example.com/", "CLIENT_ID": "quay",
			"LOGIN_SCOPES": []any{"openid", "email"}}),
		// an empty flow list filled with scalars stays a short flow list
		set("DISTRIBUTED_STORAGE_DEFAULT_LOCATIONS", []any{"default"}),
	}
	for i, step := range steps {
		if err := step(d); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
	_, removed, added := hunk(src, d.Bytes())
	// the hunk runs from the new location to the appended provider
	wantRemoved := strings.Join(splitLines(src)[10:], "")
	wantAdded := "  us:\n  - S3Storage\n  - host: s3.example.com\n    s3_bucket: b\n" +
		"DISTRIBUTED_STORAGE_DEFAULT_LOCATIONS: [default]\n" +
		strings.Join(splitLines(src)[11:], "") +
		"FOO_LOGIN_CONFIG:\n  CLIENT_ID: quay\n  LOGIN_SCOPES:\n  - openid\n  - email\n  OIDC_SERVER: https://id.example.com/\n"
	if removed != wantRemoved || added != wantAdded {
		t.Errorf("diff:\n--- removed\n%s--- added\n%s--- want removed\n%s--- want added\n%s", removed, added, wantRemoved, wantAdded)
	}
}
