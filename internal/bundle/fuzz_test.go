package bundle

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// fuzzLimits keep each fuzz run cheap while still exercising the limits.
var fuzzLimits = Limits{MaxFiles: 50, MaxFileBytes: 64 << 10, MaxTotalBytes: 256 << 10, MaxNodes: 5000, MaxDepth: 32}

func addYAMLSeeds(f *testing.F, add func(src []byte)) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.yaml"))
	for _, p := range files {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		add(data)
	}
	for _, s := range []string{"", "A: 1\n", "A: &a {b: 1}\nB: *a\nC:\n  <<: *a\n  c: 2\n", "A:\n- 1\n- [2, 3]\n", "{A: 1, B: [x]}\n",
		"A: |\n  text\n  more\nB: >\n  folded\n", "A: !!str 5\nB: !custom x\n", "A: 'it''s'\nB: \"\\u00e9\"\n", "A: 1 # c\n# foot\n...\n"} {
		add([]byte(s))
	}
}

// FuzzParseDocument feeds the YAML loader, then edits what it accepted:
// an edit either fails leaving the text as it was, or yields text that
// re-parses to a value that shows the edit and nothing else.
func FuzzParseDocument(f *testing.F) {
	addYAMLSeeds(f, func(src []byte) {
		f.Add(src, "SERVER_HOSTNAME", "x.example.com", uint8(0))
		f.Add(src, "BUILDLOGS_REDIS.port", "6380", uint8(1))
		f.Add(src, "A.b.0", "v", uint8(6))
		f.Add(src, "SUPER_USERS", "bob", uint8(2))
		f.Add(src, "DISTRIBUTED_STORAGE_CONFIG.us.1.s3_bucket", "b", uint8(9))
	})
	f.Fuzz(func(t *testing.T, src []byte, path, val string, op uint8) {
		d, err := ParseDocument(src, fuzzLimits)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) || se.Msg == "" {
				t.Fatalf("error is not a SyntaxError with a message: %#v", err)
			}
			return
		}
		before := d.Value()
		keys := d.Keys()
		if len(keys) != len(before) && !bytes.Contains(src, []byte("<<")) {
			t.Fatalf("Keys %v but Value has %d keys", keys, len(before))
		}
		for _, k := range keys {
			_ = d.Line(k)
		}
		if path == "" || len(path) > 200 {
			return
		}
		segs := strings.Split(path, ".")
		var v any
		switch op % 4 {
		case 0:
			v = val
		case 1:
			if n, err := strconv.Atoi(val); err == nil {
				v = n
			} else {
				v = val
			}
		case 2:
			v = []any{val, "fixed"}
		case 3:
			v = map[string]any{"k": val, "n": 1.5}
		}
		orig := d.Bytes()
		var editErr error
		switch (op / 4) % 3 {
		case 0:
			editErr = d.Set(segs, v)
		case 1:
			editErr = d.Delete(segs)
			v = gone{}
		case 2:
			nv := DeepCopy(before).(map[string]any)
			if !putAt(nv, segs, v) {
				return
			}
			editErr = d.Apply(nv)
			if editErr == nil && !EqualValues(d.Value(), normalizeForYAML(nv)) {
				t.Fatalf("Apply: value differs\nwant %#v\ngot  %#v\n%s", nv, d.Value(), d.Bytes())
			}
		}
		if editErr != nil {
			if !bytes.Equal(d.Bytes(), orig) {
				t.Fatalf("failed edit (%v) changed the text", editErr)
			}
			return
		}
		out := d.Bytes()
		re, err := ParseDocument(out, fuzzLimits)
		if err != nil {
			t.Fatalf("edited text does not re-parse: %v\n--- before\n%s\n--- after\n%s", err, orig, out)
		}
		if !EqualValues(re.Value(), d.Value()) {
			t.Fatalf("re-parsed value differs from Value()")
		}
		got, ok := ValueAt(d.Value(), segs...)
		if _, isGone := v.(gone); isGone {
			// deleting a list item shifts the next one into its place
			parentBefore, _ := ValueAt(before, segs[:len(segs)-1]...)
			parentAfter, _ := ValueAt(d.Value(), segs[:len(segs)-1]...)
			_, existed := ValueAt(before, segs...)
			if lb, isList := parentBefore.([]any); isList && existed {
				if la, _ := parentAfter.([]any); len(la) != len(lb)-1 {
					t.Fatalf("deleting %v: list of %d became %d\n%s", segs, len(lb), len(la), out)
				}
			} else if ok && !bytes.Contains(orig, []byte("<<")) {
				t.Fatalf("deleted %v still there: %#v\n%s", segs, got, out)
			}
		} else if (op/4)%3 == 0 && (!ok || !EqualValues(got, normalizeForYAML(v))) {
			t.Fatalf("Set %v = %#v, Value shows %#v (%v)\n--- before\n%s\n--- after\n%s", segs, v, got, ok, orig, out)
		}
		// other top-level keys keep their values (unless aliases share them)
		if !bytes.ContainsAny(orig, "&*") {
			for k, bv := range before {
				if k != segs[0] && !EqualValues(d.Value()[k], bv) {
					t.Fatalf("unrelated key %s changed: %#v -> %#v\n%s", k, bv, d.Value()[k], out)
				}
			}
		}
	})
}

// putAt sets v at segs in a plain value, creating maps; false when the
// path runs through something that is not a map or an in-range list index.
func putAt(m map[string]any, segs []string, v any) bool {
	var cur any = m
	for i, s := range segs {
		last := i == len(segs)-1
		switch c := cur.(type) {
		case map[string]any:
			if last {
				c[s] = v
				return true
			}
			next, ok := c[s]
			if !ok || next == nil {
				next = map[string]any{}
				c[s] = next
			}
			cur = next
		case []any:
			idx, err := strconv.Atoi(s)
			if err != nil || idx < 0 || idx >= len(c) {
				return false
			}
			if last {
				c[idx] = v
				return true
			}
			cur = c[idx]
		default:
			return false
		}
	}
	return false
}

func sameContent(t *testing.T, a, b *Bundle) {
	t.Helper()
	if !EqualValues(a.Config().Value(), b.Config().Value()) {
		t.Fatalf("config value changed:\n%#v\n%#v", a.Config().Value(), b.Config().Value())
	}
	if strings.Join(a.FileNames(), "\x00") != strings.Join(b.FileNames(), "\x00") {
		t.Fatalf("files %q vs %q", a.FileNames(), b.FileNames())
	}
	for _, n := range a.FileNames() {
		x, _ := a.File(n)
		y, _ := b.File(n)
		if !bytes.Equal(x, y) {
			t.Fatalf("%s differs", n)
		}
	}
}

// FuzzReadJSON: whatever ReadJSON accepts survives JSON -> ReadJSON.
func FuzzReadJSON(f *testing.F) {
	f.Add([]byte(`{"config.yaml": {"SERVER_HOSTNAME": "h", "R": 0.5, "N": 5, "L": [1, "a", null, true]}, "certs": {"ssl.cert": "YWJj", "extra_ca_certs/x.crt": ""}, "managedFieldGroups": ["Redis"]}`))
	f.Add([]byte(`{"config.yaml": "# c\nA: 1\n"}`))
	f.Add([]byte(`{"config.yaml": null}`))
	f.Add([]byte(`{"config.yaml": {"A": {"b": {"c": [1e300, -0, 1.5e-7]}}}}`))
	f.Add([]byte(`{"config.yaml": {"A": "\u00e9\ud83d\ude80", "": 1}}`))
	f.Add([]byte(`{"config.yaml": {}, "certs": {"config.yaml/x": "QQ=="}}`))
	f.Add([]byte(`{"config.yaml": {}, "certs": {"a": "QQ==", "a/b": "QQ=="}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		b, managed, err := ReadJSON(data, fuzzLimits)
		if err != nil {
			return
		}
		out, err := b.JSON(managed)
		if err != nil {
			t.Fatalf("JSON of an accepted bundle: %v", err)
		}
		b2, managed2, err := ReadJSON(out, fuzzLimits)
		if err != nil {
			t.Fatalf("own JSON refused: %v\n%s", err, out)
		}
		if strings.Join(managed, "\x00") != strings.Join(managed2, "\x00") {
			t.Fatalf("managed %q vs %q", managed, managed2)
		}
		sameContent(t, b, b2)
		if _, err := ParseDocument(b.Config().Bytes(), fuzzLimits); err != nil {
			t.Fatalf("config.yaml written from JSON does not parse: %v", err)
		}
		// what the API accepts, the download and validate read back
		tgz, err := b.TarGz()
		if err != nil {
			t.Fatalf("TarGz of an accepted bundle: %v", err)
		}
		b3, err := ReadTarGz(bytes.NewReader(tgz), fuzzLimits)
		if err != nil {
			t.Fatalf("own tarball of an accepted JSON bundle refused: %v", err)
		}
		sameContent(t, b, b3)
	})
}

// FuzzReadTarGz: whatever ReadTarGz accepts survives TarGz -> ReadTarGz
// with the same content, and writing it twice gives the same bytes.
func FuzzReadTarGz(f *testing.F) {
	f.Add(makeTar(f, true, okConfig, tarEntry{name: "extra_ca_certs/a.crt", body: "a"}, tarEntry{name: "ssl.key", body: "k"}))
	f.Add(makeTar(f, false, okConfig, tarEntry{name: "./d/", typ: '5'}, tarEntry{name: "./d/x", body: "x"}))
	f.Add(makeTar(f, true, okConfig, tarEntry{name: "x", typ: '2', linkname: "/etc"}))
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := ReadTarGz(bytes.NewReader(data), fuzzLimits)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error")
			}
			return
		}
		out, err := b.TarGz()
		if err != nil {
			t.Fatalf("TarGz of an accepted bundle: %v", err)
		}
		b2, err := ReadTarGz(bytes.NewReader(out), fuzzLimits)
		if err != nil {
			t.Fatalf("own tarball refused: %v", err)
		}
		sameContent(t, b, b2)
		if !bytes.Equal(b.Config().Bytes(), b2.Config().Bytes()) {
			t.Fatal("config.yaml bytes changed")
		}
		out2, _ := b2.TarGz()
		if !bytes.Equal(out, out2) {
			t.Fatal("tarball not deterministic")
		}
	})
}

// FuzzDecodeConfigBundle: what the strict decoder accepts is valid JSON
// that encoding/json reads to the same config, certs and managed groups
// (so strictness only ever refuses, never changes a value).
func FuzzDecodeConfigBundle(f *testing.F) {
	f.Add([]byte(`{"config.yaml": {"A": 1, "B": [0.5, "x", null, true, {"c": "\u00e9\ud83d\ude80"}]}, "certs": {"a": "QQ=="}, "managedFieldGroups": ["Redis"]}`))
	f.Add([]byte(`{"config.yaml": "A: 1\n", "other": {"x": [1, 2]}}`))
	f.Add([]byte(`{"config.yaml": {"A": "\\ud800"}, "certs": null}`))
	f.Add([]byte(`{"CONFIG.YAML": {"A": "\ud800"}}`))
	f.Add([]byte("{\"config.yaml\": {\"A\": \"\xff\"}}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := DecodeConfigBundle(data, fuzzLimits)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error")
			}
			return
		}
		if !json.Valid(data) {
			t.Fatalf("accepted invalid JSON: %q", data)
		}
		var std struct {
			Config  json.RawMessage   `json:"config.yaml"`
			Certs   map[string]string `json:"certs"`
			Managed []string          `json:"managedFieldGroups"`
		}
		if err := json.Unmarshal(data, &std); err != nil {
			t.Fatalf("encoding/json refuses what was accepted: %v", err)
		}
		var want any
		if len(std.Config) > 0 {
			want, err = DecodeJSONValue(std.Config, fuzzLimits)
			if err != nil {
				t.Fatalf("config.yaml value refused alone: %v", err)
			}
		}
		if !EqualValues(d.Config, want) {
			t.Fatalf("config differs: %#v vs %#v", d.Config, want)
		}
		if len(d.Files) != len(std.Certs) || len(d.Managed) != len(std.Managed) {
			t.Fatalf("certs %d vs %d, managed %v vs %v", len(d.Files), len(std.Certs), d.Managed, std.Managed)
		}
		for _, f := range d.Files {
			if b, err := base64.StdEncoding.DecodeString(std.Certs[f.Name]); err != nil || !bytes.Equal(b, f.Data) {
				t.Fatalf("cert %q differs", f.Name)
			}
		}
	})
}
