package bundle

import "testing"

// KeyLines agrees with Line for every top-level key, merge keys included
// (Line gives them 0).
func TestKeyLinesAgreesWithLine(t *testing.T) {
	for _, name := range []string{"anchors.yaml", "commented.yaml", "crlf.yaml", "docstart.yaml", "pyyaml.yaml", "realistic.yaml"} {
		d, err := ParseDocument(readTestdata(t, name), Limits{})
		if err != nil {
			t.Fatal(err)
		}
		lines := d.KeyLines()
		if len(d.Keys()) == 0 {
			t.Fatalf("%s: no keys", name)
		}
		for _, k := range d.Keys() {
			if got, want := lines[k], d.Line(k); got != want {
				t.Errorf("%s: KeyLines()[%q] = %d, Line = %d", name, k, got, want)
			}
		}
	}
	d, err := ParseDocument([]byte("base: &b {x: 1}\n<<: *b\nA: 1\n"), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if l := d.KeyLines(); l["<<"] != 0 || l["A"] != 3 || l["base"] != 1 {
		t.Errorf("merge key document: %v", l)
	}
	empty, err := ParseDocument(nil, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if len(empty.KeyLines()) != 0 {
		t.Errorf("empty document has key lines")
	}
}
