package problem

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// Keys holding '.', '[', ']', '"', spaces or nothing render quoted, so the
// rendered path says where one key ends; plain keys render as before.
func TestPathQuotesOddKeys(t *testing.T) {
	dsc := NewPath("DISTRIBUTED_STORAGE_CONFIG")
	cases := []struct {
		path *Path
		want string
		segs []string
	}{
		{dsc.Key("default").Index(1).Child("s3_bucket"), `DISTRIBUTED_STORAGE_CONFIG.default[1].s3_bucket`,
			[]string{"DISTRIBUTED_STORAGE_CONFIG", "default", "1", "s3_bucket"}},
		{dsc.Key("us.east").Index(1).Child("s3_bucket"), `DISTRIBUTED_STORAGE_CONFIG["us.east"][1].s3_bucket`,
			[]string{"DISTRIBUTED_STORAGE_CONFIG", "us.east", "1", "s3_bucket"}},
		{dsc.Key("a b").Index(1), `DISTRIBUTED_STORAGE_CONFIG["a b"][1]`, []string{"DISTRIBUTED_STORAGE_CONFIG", "a b", "1"}},
		{dsc.Key("x[0]"), `DISTRIBUTED_STORAGE_CONFIG["x[0]"]`, []string{"DISTRIBUTED_STORAGE_CONFIG", "x[0]"}},
		{dsc.Key("a]b"), `DISTRIBUTED_STORAGE_CONFIG["a]b"]`, []string{"DISTRIBUTED_STORAGE_CONFIG", "a]b"}},
		{dsc.Key(`say "hi"`), `DISTRIBUTED_STORAGE_CONFIG["say \"hi\""]`, []string{"DISTRIBUTED_STORAGE_CONFIG", `say "hi"`}},
		{dsc.Key("tab\there"), `DISTRIBUTED_STORAGE_CONFIG["tab\there"]`, []string{"DISTRIBUTED_STORAGE_CONFIG", "tab\there"}},
		{dsc.Key(""), `DISTRIBUTED_STORAGE_CONFIG[""]`, []string{"DISTRIBUTED_STORAGE_CONFIG", ""}},
		{dsc.Key("ünïcode-ok_1"), `DISTRIBUTED_STORAGE_CONFIG.ünïcode-ok_1`, []string{"DISTRIBUTED_STORAGE_CONFIG", "ünïcode-ok_1"}},
		{dsc.Key("1"), `DISTRIBUTED_STORAGE_CONFIG.1`, []string{"DISTRIBUTED_STORAGE_CONFIG", "1"}},
		{NewPath("a.b").Child("c"), `["a.b"].c`, []string{"a.b", "c"}},
		{NewPath("SUPER_USERS").Index(0), `SUPER_USERS[0]`, []string{"SUPER_USERS", "0"}},
	}
	for _, tc := range cases {
		if got := tc.path.String(); got != tc.want {
			t.Errorf("String() = %s, want %s", got, tc.want)
		}
		if got := tc.path.Segments(); !reflect.DeepEqual(got, tc.segs) {
			t.Errorf("%s: Segments() = %q, want %q", tc.want, got, tc.segs)
		}
		back, err := ParsePath(tc.want)
		if err != nil {
			t.Errorf("ParsePath(%s): %v", tc.want, err)
			continue
		}
		if !back.Equal(tc.path) {
			t.Errorf("ParsePath(%s) = %s, not the path rendered", tc.want, back)
		}
	}
}

// Key and Child name the same map key; Index is a list element, not the
// key "1"; File is a bundle file, not the config key of that name.
func TestPathEqualAndWithin(t *testing.T) {
	dsc := NewPath("DISTRIBUTED_STORAGE_CONFIG")
	usEast := dsc.Key("us.east")
	arg := usEast.Index(1).Child("s3_bucket")
	if !dsc.Key("us.east").Equal(dsc.Child("us.east")) {
		t.Error("Key and Child of the same name differ")
	}
	if dsc.Index(1).Equal(dsc.Child("1")) {
		t.Error("an index equals the key of its digits")
	}
	if File("ssl.cert").Equal(NewPath("ssl.cert")) || !File("ssl.cert").Equal(File("ssl.cert")) {
		t.Error("File compares wrong")
	}
	for _, tc := range []struct {
		p, prefix *Path
		want      bool
	}{
		{arg, usEast, true},
		{arg, dsc, true},
		{arg, arg, true},
		{usEast, arg, false},
		{arg, dsc.Key("us"), false}, // "us" is not a prefix of "us.east"
		{dsc.Key("us").Index(1), dsc.Key("us.east"), false},
		{arg, nil, true}, // everything is within the root
		{nil, dsc, false},
		{File("ssl.cert"), NewPath("ssl"), false},
	} {
		if got := tc.p.Within(tc.prefix); got != tc.want {
			t.Errorf("%s within %s = %v, want %v", tc.p, tc.prefix, got, tc.want)
		}
		if tc.prefix != nil && !tc.prefix.IsFile() {
			if got := tc.p.WithinSegments(tc.prefix.Segments()...); got != tc.want {
				t.Errorf("%s within segments %q = %v, want %v", tc.p, tc.prefix.Segments(), got, tc.want)
			}
		}
	}
	if arg.WithinSegments("DISTRIBUTED_STORAGE_CONFIG", "us") || !arg.WithinSegments("DISTRIBUTED_STORAGE_CONFIG", "us.east", "1") {
		t.Error("WithinSegments splits or misreads keys")
	}
	if got := arg.Root(); got != "DISTRIBUTED_STORAGE_CONFIG" {
		t.Errorf("Root() = %q", got)
	}
	if n := arg.Len(); n != 4 {
		t.Errorf("Len() = %d", n)
	}
}

func TestFilePath(t *testing.T) {
	for _, name := range []string{"ssl.cert", "extra_ca_certs/my ca.crt", "clair-config.yaml"} {
		f := File(name)
		if f.String() != name || f.Root() != name || f.Segments() != nil || !f.IsFile() {
			t.Errorf("File(%q): String %q Root %q Segments %q", name, f.String(), f.Root(), f.Segments())
		}
	}
	if NewPath("ssl").IsFile() || (*Path)(nil).IsFile() {
		t.Error("a config path is a file")
	}
}

func TestParsePathRefusesWhatStringNeverWrites(t *testing.T) {
	for _, s := range []string{
		"A..b", "A.", ".A", "A[", "A[x]", "A[-1]", "A[01]", "A[1", `A["x"`, `A["x`, `A["x"]b`,
		"A b", `A."x"`, "A]", "A.b c",
	} {
		if p, err := ParsePath(s); err == nil {
			t.Errorf("ParsePath(%q) = %s, want an error", s, p)
		}
	}
	if p, err := ParsePath(""); err != nil || p != nil {
		t.Errorf(`ParsePath("") = %v, %v; want the root`, p, err)
	}
}

// On the wire Path is the rendered string; reading it back gives the same
// segments, and a problem with an odd location name survives the trip.
func TestProblemPathWire(t *testing.T) {
	path := NewPath("DISTRIBUTED_STORAGE_CONFIG").Key("us.east").Index(1).Child("s3_bucket")
	in := Required("DistributedStorage", path, "")
	in.Line = 5
	data, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"FieldGroup":"DistributedStorage","Tags":["DISTRIBUTED_STORAGE_CONFIG"],` +
		`"Message":"DISTRIBUTED_STORAGE_CONFIG[\"us.east\"][1].s3_bucket is required.",` +
		`"Path":"DISTRIBUTED_STORAGE_CONFIG[\"us.east\"][1].s3_bucket","Severity":"error","Line":5}`
	if string(data) != want {
		t.Errorf("JSON\n got %s\nwant %s", data, want)
	}
	var out Problem
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatal(err)
	}
	if !out.Path.Equal(path) || out.Message != in.Message || out.Line != 5 || out.FieldGroup != in.FieldGroup {
		t.Errorf("read back %+v (path %s)", out, out.Path)
	}

	// a file name that is no config path is kept, not refused
	if err := json.Unmarshal([]byte(`{"FieldGroup":"CustomCertificates","Tags":[],"Message":"m","Path":"extra_ca_certs/my ca.crt"}`), &out); err != nil {
		t.Fatal(err)
	}
	if !out.Path.IsFile() || out.Path.String() != "extra_ca_certs/my ca.crt" {
		t.Errorf("file path read as %s (file %v)", out.Path, out.Path.IsFile())
	}
	// an empty or absent Path is none
	for _, s := range []string{`{"Message":"m","Path":""}`, `{"Message":"m"}`, `{"Message":"m","Path":null}`} {
		if err := json.Unmarshal([]byte(s), &out); err != nil || out.Path != nil {
			t.Errorf("%s: path %v, err %v", s, out.Path, err)
		}
	}
	if err := json.Unmarshal([]byte(`{"Message":"m","Path":7}`), &out); err == nil {
		t.Error("a Path that is not a string was accepted")
	}
}

// The constructors keep the wording clients compare.
func TestCommonProblems(t *testing.T) {
	p := NewPath("BUILDLOGS_REDIS", "port")
	for _, tc := range []struct {
		got  Problem
		sev  Severity
		want string
	}{
		{Required("Redis", NewPath("SERVER_HOSTNAME"), ""), Error, "SERVER_HOSTNAME is required."},
		{Required("Redis", p, "when BUILDLOGS_REDIS is set"), Error, "BUILDLOGS_REDIS.port is required when BUILDLOGS_REDIS is set."},
		{Required("AutoPrune", p, "; use number_of_tags"), Error, "BUILDLOGS_REDIS.port is required; use number_of_tags."},
		{Invalid("Redis", p, "must be an integer, not a string"), Error, "BUILDLOGS_REDIS.port must be an integer, not a string."},
		{Invalid("Unknown", nil, "must be a mapping, not a list"), Error, "config.yaml must be a mapping, not a list."},
		{NotSupported("Redis", p, `"x"`, []string{`"a"`, `"b"`}), Error, `BUILDLOGS_REDIS.port must be one of "a", "b"; got "x".`},
		{NotSupported("Redis", p, "", []string{`"a"`}), Error, `BUILDLOGS_REDIS.port must be "a".`},
		{UnknownKey("Unknown", NewPath("FOO"), ""), Warning, "FOO is not a key Quay knows; it will be carried along but has no effect."},
		{UnknownKey("Unknown", NewPath("SERVER_HOSTNAM"), "SERVER_HOSTNAME"), Warning, "SERVER_HOSTNAM is not a key Quay knows (did you mean SERVER_HOSTNAME?)."},
	} {
		if tc.got.Message != tc.want || tc.got.Severity != tc.sev {
			t.Errorf("got %s %q, want %s %q", tc.got.Severity, tc.got.Message, tc.sev, tc.want)
		}
		wantTags := []string{}
		if tc.got.Path != nil {
			wantTags = []string{tc.got.Path.Root()}
		}
		if !reflect.DeepEqual(tc.got.Tags, wantTags) {
			t.Errorf("%q: tags %q", tc.got.Message, tc.got.Tags)
		}
	}
}

// Sort orders by the rendered path, as it always has for plain keys.
func TestSortByRenderedPath(t *testing.T) {
	dsc := NewPath("DISTRIBUTED_STORAGE_CONFIG")
	ps := []Problem{
		{FieldGroup: "G", Path: dsc.Key("us.east"), Message: "1"},
		{FieldGroup: "G", Path: dsc.Key("a"), Message: "2"},
		{FieldGroup: "G", Path: nil, Message: "3"},
		{FieldGroup: "G", Path: dsc.Key("a").Index(0), Message: "4"},
	}
	Sort(ps)
	var got []string
	for _, p := range ps {
		got = append(got, p.Path.String())
	}
	want := []string{"", "DISTRIBUTED_STORAGE_CONFIG.a", "DISTRIBUTED_STORAGE_CONFIG.a[0]", `DISTRIBUTED_STORAGE_CONFIG["us.east"]`}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("sorted %q, want %q", got, want)
	}
}

// FuzzParsePath: whatever ParsePath accepts renders back to the same text,
// and whatever it returns renders to text it reads back equal.
func FuzzParsePath(f *testing.F) {
	for _, s := range []string{"", "A", "A.b[1].c", `A["us.east"][1].s3_bucket`, `["a.b"].c`, `A["\u00e9\n"]`, "A[0][10]", "A..b", `A["x`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePath(s)
		if err != nil {
			return
		}
		r := p.String()
		q, err := ParsePath(r)
		if err != nil {
			t.Fatalf("%q parsed to %s, which does not parse: %v", s, r, err)
		}
		if !q.Equal(p) {
			t.Fatalf("%q: %s reads back as %s", s, r, q)
		}
	})
}

// FuzzPathRoundTrip: any key renders to text that ParsePath reads back to
// the same key.
func FuzzPathRoundTrip(f *testing.F) {
	for _, s := range []string{"us.east", "a b", "", `"`, "x[1]", "]", "\x00", "\xff", "plain"} {
		f.Add(s, 3)
	}
	f.Fuzz(func(t *testing.T, key string, i int) {
		if i < 0 {
			i = -i
		}
		if i < 0 {
			i = 0
		}
		p := NewPath(key).Key(key).Index(i).Child(key)
		q, err := ParsePath(p.String())
		if err != nil {
			t.Fatalf("%s does not parse: %v", p, err)
		}
		if !q.Equal(p) {
			t.Fatalf("%s reads back as %s", p, q)
		}
	})
}
