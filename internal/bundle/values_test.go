package bundle

import (
	"reflect"
	"testing"
)

func TestDeepCopyIsIndependentAtEveryLevel(t *testing.T) {
	orig := map[string]any{
		"S":     "text",
		"N":     5,
		"Nil":   nil,
		"M":     map[string]any{"inner": map[string]any{"k": "v"}, "list": []any{1, "two"}},
		"L":     []any{map[string]any{"a": 1}, []any{"x"}},
		"Typed": []string{"kept as it is"},
	}
	want := map[string]any{
		"S":     "text",
		"N":     5,
		"Nil":   nil,
		"M":     map[string]any{"inner": map[string]any{"k": "v"}, "list": []any{1, "two"}},
		"L":     []any{map[string]any{"a": 1}, []any{"x"}},
		"Typed": []string{"kept as it is"},
	}
	cp, ok := DeepCopy(orig).(map[string]any)
	if !ok || !reflect.DeepEqual(cp, orig) {
		t.Fatalf("copy %#v differs from the original", cp)
	}
	// change the copy everywhere a map or list can be changed
	cp["S"] = "changed"
	delete(cp, "N")
	cp["new"] = true
	m := cp["M"].(map[string]any)
	m["inner"].(map[string]any)["k"] = "changed"
	m["list"].([]any)[0] = 99
	l := cp["L"].([]any)
	l[0].(map[string]any)["a"] = 2
	l[1].([]any)[0] = "y"
	if !reflect.DeepEqual(orig, want) {
		t.Errorf("changing the copy changed the original: %#v", orig)
	}
}

func TestDeepCopyEdges(t *testing.T) {
	if got := DeepCopy(nil); got != nil {
		t.Errorf("DeepCopy(nil) = %#v", got)
	}
	if got, ok := DeepCopy(map[string]any(nil)).(map[string]any); !ok || got == nil || len(got) != 0 {
		t.Errorf("a nil map copies to %#v, want an empty map", got)
	}
	if got, ok := DeepCopy([]any(nil)).([]any); !ok || got == nil || len(got) != 0 {
		t.Errorf("a nil list copies to %#v, want an empty list", got)
	}
	for _, v := range []any{"s", 3, int64(4), 2.5, true} {
		if got := DeepCopy(v); got != v {
			t.Errorf("DeepCopy(%#v) = %#v", v, got)
		}
	}
	// a value that is not plain is shared, not copied
	typed := []string{"a"}
	got := DeepCopy(typed).([]string)
	got[0] = "b"
	if typed[0] != "b" {
		t.Error("a typed slice was copied; DeepCopy copies only map[string]any and []any")
	}
}

func TestValueAt(t *testing.T) {
	cfg := map[string]any{
		"A":    "a",
		"Null": nil,
		"M":    map[string]any{"k": "v", "0": "key that looks like an index"},
		"DISTRIBUTED_STORAGE_CONFIG": map[string]any{
			"us.east": []any{"S3Storage", map[string]any{"s3_bucket": "b"}},
		},
	}
	cases := []struct {
		name string
		path []string
		want any
		ok   bool
	}{
		{"empty path is the value itself", nil, cfg, true},
		{"top-level key", []string{"A"}, "a", true},
		{"nil stored is found", []string{"Null"}, nil, true},
		{"missing key", []string{"B"}, nil, false},
		{"nested key", []string{"M", "k"}, "v", true},
		{"a decimal key of a map is a key", []string{"M", "0"}, "key that looks like an index", true},
		{"key with a dot, then list index", []string{"DISTRIBUTED_STORAGE_CONFIG", "us.east", "0"}, "S3Storage", true},
		{"through a list into a map", []string{"DISTRIBUTED_STORAGE_CONFIG", "us.east", "1", "s3_bucket"}, "b", true},
		{"index out of range", []string{"DISTRIBUTED_STORAGE_CONFIG", "us.east", "2"}, nil, false},
		{"negative index", []string{"DISTRIBUTED_STORAGE_CONFIG", "us.east", "-1"}, nil, false},
		{"index that is not a number", []string{"DISTRIBUTED_STORAGE_CONFIG", "us.east", "x"}, nil, false},
		{"below a scalar", []string{"A", "x"}, nil, false},
		{"below a nil", []string{"Null", "x"}, nil, false},
	}
	for _, tc := range cases {
		got, ok := ValueAt(cfg, tc.path...)
		if ok != tc.ok || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: ValueAt(%q) = %#v, %v; want %#v, %v", tc.name, tc.path, got, ok, tc.want, tc.ok)
		}
	}
	if got, ok := ValueAt([]any{"x", "y"}, "1"); !ok || got != "y" {
		t.Errorf("a list at the top: %#v, %v", got, ok)
	}
	if _, ok := ValueAt(nil, "A"); ok {
		t.Error("a path below nil was found")
	}
	if _, ok := ValueAt(map[string]any(nil), "A"); ok {
		t.Error("a key of a nil map was found")
	}
}
