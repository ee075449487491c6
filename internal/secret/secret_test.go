package secret

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	yaml3 "go.yaml.in/yaml/v3"
	k8syaml "sigs.k8s.io/yaml"
)

const value = "hunter2-MARKER"

// Holder is how code keeps secrets: in exported fields of structs.
type Holder struct {
	User     string
	Password Secret            `json:"password" yaml:"password"`
	List     []Secret          `json:"list" yaml:"list"`
	ByName   map[string]Secret `json:"by_name" yaml:"by_name"`
	Ptr      *Secret           `json:"ptr" yaml:"ptr"`
}

func holder() Holder {
	s := New(value)
	return Holder{User: "u", Password: s, List: []Secret{s}, ByName: map[string]Secret{"k": s}, Ptr: &s}
}

// Every output form of a Secret, alone and inside a struct, shows the
// placeholder and never the value.
func TestSecretNeverShows(t *testing.T) {
	s, h := New(value), holder()
	var outs = map[string]string{}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%10s", "%-12v"} {
		outs["fmt "+verb] = fmt.Sprintf(verb, s)
		outs["fmt struct "+verb] = fmt.Sprintf(verb, h)
		outs["fmt ptr "+verb] = fmt.Sprintf(verb, &h)
	}
	outs["Sprint"] = fmt.Sprint(s, h)
	outs["Sprintln"] = fmt.Sprintln(s, h)
	outs["error wrap"] = fmt.Errorf("login failed with %v: %w", s, fmt.Errorf("inner %s", s)).Error()
	for name, v := range map[string]any{"secret": s, "struct": h} {
		j, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		outs["json "+name] = string(j)
		y, err := yaml3.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		outs["yaml.v3 "+name] = string(y)
		k, err := k8syaml.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		outs["sigs yaml "+name] = string(k)
	}
	txt, _ := s.MarshalText()
	outs["text"] = string(txt)
	var buf bytes.Buffer
	for _, hd := range []slog.Handler{slog.NewTextHandler(&buf, nil), slog.NewJSONHandler(&buf, nil)} {
		lg := slog.New(hd)
		lg.Info("login", "password", s, "holder", h, slog.Any("any", s), slog.Group("g", "p", s))
		lg.With("pw", s).Info("with")
	}
	outs["slog"] = buf.String()
	for name, out := range outs {
		if strings.Contains(out, "MARKER") {
			t.Errorf("%s shows the secret: %s", name, out)
		}
		if !strings.Contains(out, Placeholder) && !strings.Contains(out, `\u003csecret\u003e`) {
			t.Errorf("%s does not show %s: %s", name, Placeholder, out)
		}
	}
	if got := outs["fmt %q"]; got != `"<secret>"` {
		t.Errorf("%%q = %s", got)
	}
	if got := outs["fmt %#v"]; got != `"<secret>"` {
		t.Errorf("%%#v = %s", got)
	}
	if got := outs["json secret"]; got != `"\u003csecret\u003e"` { // json.Marshal escapes < and >
		t.Errorf("json = %s", got)
	}
}

// Reveal is the one way out; decoding reads the plain value, so a config
// that holds a Secret loads as written.
func TestSecretRevealAndDecode(t *testing.T) {
	if got := New(value).Reveal(); got != value {
		t.Fatalf("Reveal = %q", got)
	}
	var h Holder
	if err := json.Unmarshal([]byte(`{"password":"`+value+`","list":["`+value+`"],"by_name":{"k":"`+value+`"}}`), &h); err != nil {
		t.Fatal(err)
	}
	if h.Password.Reveal() != value || h.List[0].Reveal() != value || h.ByName["k"].Reveal() != value {
		t.Errorf("json decode: %#v / %q", h, []string{h.Password.Reveal(), h.List[0].Reveal()})
	}
	var y Holder
	if err := yaml3.Unmarshal([]byte("password: "+value+"\nlist: ["+value+"]\n"), &y); err != nil {
		t.Fatal(err)
	}
	if y.Password.Reveal() != value || y.List[0].Reveal() != value {
		t.Errorf("yaml decode: %q %q", y.Password.Reveal(), y.List[0].Reveal())
	}
	if New("").IsZero() != true || New("x").IsZero() {
		t.Error("IsZero")
	}
}
