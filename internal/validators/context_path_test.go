package validators

import (
	"reflect"
	"testing"
)

// Get reads the config with defaults, Has the config as written; both take
// map keys and decimal list indexes.
func TestContextGetAndHas(t *testing.T) {
	raw := map[string]any{
		"SERVER_HOSTNAME": "quay.example.com",
		"EMPTY":           "",
		"NULL":            nil,
		"OFF":             false,
		"ZERO":            0,
		"DISTRIBUTED_STORAGE_CONFIG": map[string]any{
			"us.east": []any{"S3Storage", map[string]any{"s3_bucket": "b", "s3_region": ""}},
		},
	}
	config := map[string]any{"FEATURE_DEFAULTED": true}
	for k, v := range raw {
		config[k] = v
	}
	c := &Context{Raw: raw, Config: config}

	gets := []struct {
		path []string
		want any
		ok   bool
	}{
		{[]string{"SERVER_HOSTNAME"}, "quay.example.com", true},
		{[]string{"FEATURE_DEFAULTED"}, true, true},
		{[]string{"NULL"}, nil, true},
		{[]string{"MISSING"}, nil, false},
		{[]string{"DISTRIBUTED_STORAGE_CONFIG", "us.east", "0"}, "S3Storage", true},
		{[]string{"DISTRIBUTED_STORAGE_CONFIG", "us.east", "1", "s3_bucket"}, "b", true},
		{[]string{"DISTRIBUTED_STORAGE_CONFIG", "us.east", "2"}, nil, false},
		{[]string{"DISTRIBUTED_STORAGE_CONFIG", "us.east", "one"}, nil, false},
		{[]string{"SERVER_HOSTNAME", "x"}, nil, false},
	}
	for _, g := range gets {
		got, ok := c.Get(g.path...)
		if ok != g.ok || !reflect.DeepEqual(got, g.want) {
			t.Errorf("Get(%q) = %#v, %v; want %#v, %v", g.path, got, ok, g.want, g.ok)
		}
	}

	has := []struct {
		path []string
		want bool
	}{
		{[]string{"SERVER_HOSTNAME"}, true},
		{[]string{"FEATURE_DEFAULTED"}, false}, // a default is not written
		{[]string{"EMPTY"}, false},
		{[]string{"NULL"}, false},
		{[]string{"OFF"}, true},
		{[]string{"ZERO"}, true},
		{[]string{"MISSING"}, false},
		{[]string{"DISTRIBUTED_STORAGE_CONFIG", "us.east", "1", "s3_bucket"}, true},
		{[]string{"DISTRIBUTED_STORAGE_CONFIG", "us.east", "1", "s3_region"}, false},
		{[]string{"DISTRIBUTED_STORAGE_CONFIG", "us.east", "5"}, false},
		{[]string{"OFF", "x"}, false},
	}
	for _, h := range has {
		if got := c.Has(h.path...); got != h.want {
			t.Errorf("Has(%q) = %v, want %v", h.path, got, h.want)
		}
	}
}
