package bundle

import (
	"strings"
	"testing"
)

// RenameKey changes only the key's text: the entry keeps its place, its
// value's text and its comments; where the text cannot be spliced it still
// renames (at the end, as Delete and Set do) and the value is the same.
func TestRenameKeyInPlace(t *testing.T) {
	for _, tc := range []struct {
		name, src, from, to, want string
	}{
		{"plain, first of three", "A: 1\nB: [x, y]\nC: 3\n", "A", "AA", "AA: 1\nB: [x, y]\nC: 3\n"},
		{"block value, comments kept", "# head\nFEATURE_MAILNG: # why\n  - a # one\n  - b\nZ: 1 # tail\n", "FEATURE_MAILNG", "FEATURE_MAILING",
			"# head\nFEATURE_MAILING: # why\n  - a # one\n  - b\nZ: 1 # tail\n"},
		{"double-quoted key", "\"SERVR_HOSTNAME\": q.example.com\nX: 1\n", "SERVR_HOSTNAME", "SERVER_HOSTNAME", "SERVER_HOSTNAME: q.example.com\nX: 1\n"},
		{"single-quoted key, CRLF", "'DB_URL': x\r\nY: 2\r\n", "DB_URL", "DB_URI", "DB_URI: x\r\nY: 2\r\n"},
		{"last key, no final newline", "A: 1\nB: 2", "B", "BB", "A: 1\nBB: 2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := ParseDocument([]byte(tc.src), Limits{})
			if err != nil {
				t.Fatal(err)
			}
			if err := d.RenameKey(tc.from, tc.to); err != nil {
				t.Fatal(err)
			}
			if got := string(d.Bytes()); got != tc.want {
				t.Errorf("got\n%q\nwant\n%q", got, tc.want)
			}
		})
	}
}

func TestRenameKeyFallbackAndRefusals(t *testing.T) {
	// a flow-style document cannot be spliced: renamed all the same
	d, err := ParseDocument([]byte("{A: 1, B: {c: 2}}\n"), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.RenameKey("B", "BB"); err != nil {
		t.Fatal(err)
	}
	v := d.Value()
	if _, old := v["B"]; old || !EqualValues(v["BB"], map[string]any{"c": 2}) || !EqualValues(v["A"], 1) {
		t.Errorf("fallback rename: %v (%q)", v, d.Bytes())
	}
	// a key YAML would not read back plain takes the fallback too
	d, _ = ParseDocument([]byte("A: 1\nB: 2\n"), Limits{})
	if err := d.RenameKey("A", "x: y"); err != nil {
		t.Fatal(err)
	}
	if !EqualValues(d.Value()["x: y"], 1) {
		t.Errorf("odd key: %q", d.Bytes())
	}
	d, _ = ParseDocument([]byte("A: 1\nB: 2\n"), Limits{})
	for _, bad := range [][2]string{{"A", "B"}, {"NOPE", "C"}, {"A", ""}} {
		if err := d.RenameKey(bad[0], bad[1]); err == nil {
			t.Errorf("RenameKey(%q, %q) succeeded", bad[0], bad[1])
		}
	}
	if got := string(d.Bytes()); got != "A: 1\nB: 2\n" || strings.Contains(got, "C") {
		t.Errorf("a refused rename changed the text: %q", got)
	}
}
