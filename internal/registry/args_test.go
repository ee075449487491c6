package registry

import (
	"reflect"
	"strings"
	"testing"
)

// Every rule in the `validate` tags of the argument structs is one
// checkRules knows (an unknown rule panics), on the zero value and on a
// filled one.
func TestArgRulesKnown(t *testing.T) {
	for _, v := range []any{localArgs{}, s3Args{}, cloudFrontArgs{}, gatewayArgs{}, gcsArgs{}, azureArgs{}, multiCDNArgs{}} {
		rv := reflect.New(reflect.TypeOf(v)).Elem()
		if errs := checkRules(rv); len(errs) == 0 && strings.Contains(rulesOf(rv.Type()), "required") {
			t.Errorf("%T: the zero value passes its required rules", v)
		}
	}
}

func rulesOf(rt reflect.Type) string {
	var b strings.Builder
	for i := 0; i < rt.NumField(); i++ {
		f := rt.Field(i)
		if f.Anonymous {
			b.WriteString(rulesOf(f.Type))
		}
		b.WriteString(f.Tag.Get("validate") + ",")
	}
	return b.String()
}

func TestCheckRules(t *testing.T) {
	yes := true
	type all struct {
		Name  string         `arg:"name" validate:"required,startswith=/"`
		Port  int            `arg:"port" validate:"omitempty,min=1,max=65535"`
		URL   string         `arg:"url" validate:"omitempty,http_url"`
		Sig   string         `arg:"sig" validate:"omitempty,oneof=v2 v4"`
		Flag  *bool          `arg:"flag" validate:"required"`
		Conf  map[string]any `arg:"conf" validate:"required"`
		Plain string
	}
	cases := []struct {
		in   all
		want []string
	}{
		{all{Name: "/a", Flag: &yes, Conf: map[string]any{}}, nil},
		{all{Name: "/a", Port: 443, URL: "HTTPS://S3.example.com:9000/x", Sig: "v4", Flag: &yes, Conf: map[string]any{}}, nil},
		{all{}, []string{"name is required", "flag is required", "conf is required"}},
		{all{Name: "a", Port: 70000, URL: "s3.example.com", Sig: "v3", Flag: &yes, Conf: map[string]any{}},
			[]string{`name must start with "/"`, "port must be at most 65535", `url "s3.example.com" is not an http(s) URL`, "sig must be one of v2, v4"}},
		{all{Name: "/", Port: -1, URL: "ftp://h/x", Flag: &yes, Conf: map[string]any{}},
			[]string{"port must be at least 1", `url "ftp://h/x" is not an http(s) URL`}},
		{all{Name: "/", URL: "http:///nohost", Flag: &yes, Conf: map[string]any{}},
			[]string{`url "http:///nohost" is not an http(s) URL`}},
	}
	for i, c := range cases {
		var got []string
		for _, e := range checkRules(reflect.ValueOf(&c.in).Elem()) {
			if !strings.HasPrefix(e.Msg, e.Arg+" ") {
				t.Errorf("case %d: %q does not name its argument %q", i, e.Msg, e.Arg)
			}
			got = append(got, e.Msg)
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("case %d: got %q, want %q", i, got, c.want)
		}
	}
}
