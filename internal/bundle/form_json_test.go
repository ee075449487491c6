package bundle

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

func TestReadJSONRefusesHostileInput(t *testing.T) {
	b64 := base64.StdEncoding.EncodeToString([]byte("pem"))
	cases := []struct{ name, js, want string }{
		{"not json", `{"config.yaml": `, "not valid JSON"},
		{"duplicate config key", `{"config.yaml": {"A": 1, "A": 2}}`, `key "A" is repeated`},
		{"duplicate nested key", `{"config.yaml": {"A": {"x": 1, "x": 2}}}`, `key "x" is repeated`},
		{"duplicate cert", `{"config.yaml": {}, "certs": {"ssl.cert": "` + b64 + `", "ssl.cert": "` + b64 + `"}}`, `key "ssl.cert" is repeated`},
		{"duplicate top-level", `{"config.yaml": {"A": 1}, "config.yaml": {"B": 2}}`, `key "config.yaml" is repeated`},
		{"bad base64", `{"config.yaml": {}, "certs": {"ssl.cert": "not base64!"}}`, `certs["ssl.cert"] is not valid base64`},
		{"climbing cert name", `{"config.yaml": {}, "certs": {"../x": "` + b64 + `"}}`, `climbs out of the bundle`},
		{"absolute cert name", `{"config.yaml": {}, "certs": {"/etc/x": "` + b64 + `"}}`, `is absolute`},
		{"cert named config.yaml", `{"config.yaml": {}, "certs": {"config.yaml": "` + b64 + `"}}`, `config.yaml is not a file of the bundle`},
		{"empty cert name", `{"config.yaml": {}, "certs": {"": "` + b64 + `"}}`, `empty file name`},
		{"config is a list", `{"config.yaml": [1]}`, `must be an object`},
		{"config yaml text invalid", `{"config.yaml": "A: 1\nA: 2\n"}`, `repeated`},
		{"config yaml text list", `{"config.yaml": "- a\n"}`, `top level must be a mapping`},
		{"cert not a string", `{"config.yaml": {}, "certs": {"a": 1}}`, `certs`},
		{"trailing data", `{"config.yaml": {}} {}`, `trailing data`},
		{"top level not object", `[]`, `must be a JSON object`},
		{"managed not strings", `{"config.yaml": {}, "managedFieldGroups": [1]}`, `managedFieldGroups`},
		{"invalid UTF-8 in a value", "{\"config.yaml\": {\"A\": \"caf\xe9\"}}", `not valid UTF-8 at line 1, column 27`},
		{"invalid UTF-8 in a key", "{\"config.yaml\": {\n\"\xff\": 1}}", `not valid UTF-8 at line 2, column 2`},
		{"invalid UTF-8 in YAML text", "{\"config.yaml\": \"A: \xc3\x28\"}", `not valid UTF-8`},
		{"invalid UTF-8 in a cert name", "{\"certs\": {\"a\xfe\": \"QQ==\"}}", `not valid UTF-8`},
		{"lone high surrogate", `{"config.yaml": {"A": "\ud800"}}`, `\ud800, half of a UTF-16 surrogate pair without its second half, at line 1, column 24`},
		{"high surrogate then letter", `{"config.yaml": {"A": "\uD83D\u0041"}}`, `\ud83d, half of a UTF-16 surrogate pair`},
		{"lone low surrogate", `{"config.yaml": {"\udc00": 1}}`, `\udc00, half of a UTF-16 surrogate pair without its first half`},
		{"duplicate top-level in other case", `{"config.yaml": {"A": 1}, "Config.yaml": {"B": 2}}`, `key "config.yaml" is repeated`},
		{"duplicate certs key", `{"certs": {}, "certs": {}}`, `key "certs" is repeated`},
		{"syntax error has its place", "{\"config.yaml\": {\n  \"A\": 1,\n  \"B\" 2}}", `line 3, column`},
		{"certs not an object", `{"certs": ["a"]}`, `"certs" must be an object`},
		{"too many certs", `{"certs": {"a": "", "b": "", "c": ""}}`, `certs has more than 2 entries`},
		{"cert too big before decoding", `{"certs": {"a": "` + strings.Repeat("QUFB", 400) + `"}}`, `certs["a"] is about 1200 bytes, over the limit of 1000`},
		{"certs too big together", `{"certs": {"a": "` + strings.Repeat("QUFB", 200) + `", "b": "` + strings.Repeat("QUFB", 200) + `"}}`, `certs add up to more than 1000 bytes`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := ReadJSON([]byte(tc.js), Limits{MaxFiles: 2, MaxFileBytes: 1000, MaxTotalBytes: 1000})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// TestReadJSONKeepsWhatIsValid: escapes that look odd but are valid (an
// escaped backslash before "u", a proper surrogate pair, U+FFFD itself)
// pass unchanged; top-level names match in any case, as encoding/json
// matched them.
func TestReadJSONKeepsWhatIsValid(t *testing.T) {
	b, managed, err := ReadJSON([]byte(`{"Config.Yaml": {"A": "\\ud800", "B": "\ud83d\ude80", "C": "\ufffd�"}, "CERTS": {"x": "QQ=="}, "managedfieldgroups": ["Redis"]}`), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	v := b.Config().Value()
	if v["A"] != `\ud800` || v["B"] != "\U0001F680" || v["C"] != "\uFFFD\uFFFD" {
		t.Errorf("values changed: %q %q %q", v["A"], v["B"], v["C"])
	}
	if f, ok := b.File("x"); !ok || string(f) != "A" || len(managed) != 1 || managed[0] != "Redis" {
		t.Errorf("certs %v, managed %v", b.FileNames(), managed)
	}
}

// TestDecodeStopsAtTheCertsCap: a certs object with far more entries than
// a bundle may hold is refused when the cap is reached, not after the
// whole object is read: the syntax error at the very end is never seen.
func TestDecodeStopsAtTheCertsCap(t *testing.T) {
	var body bytes.Buffer
	body.WriteString(`{"config.yaml": {}, "certs": {`)
	for i := 0; i < 200_000; i++ {
		if i > 0 {
			body.WriteByte(',')
		}
		fmt.Fprintf(&body, `"c%d": ""`, i)
	}
	body.WriteString(`} this is not JSON`)
	_, err := DecodeConfigBundle(body.Bytes(), Limits{})
	if err == nil || !strings.Contains(err.Error(), "certs has more than 1000 entries") {
		t.Fatalf("error = %v", err)
	}
}

func TestJSONNumbersKeepTheirKind(t *testing.T) {
	js := `{"config.yaml": {"RATIO": 0.5, "COUNT": 5, "EXP": 1e3, "BIG": 12345678901234, "NEG": -2, "F": 2.50,
		"NESTED": {"list": [1, 1.5, "1"]}}, "managedFieldGroups": ["Database", "Redis"]}`
	b, managed, err := ReadJSON([]byte(js), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(managed, ",") != "Database,Redis" {
		t.Errorf("managed = %v", managed)
	}
	text := string(b.Config().Bytes())
	for _, want := range []string{"RATIO: 0.5\n", "COUNT: 5\n", "BIG: 12345678901234\n", "NEG: -2\n", "F: 2.5\n", "- 1.5\n", "- \"1\"\n"} {
		if !strings.Contains(text, want) {
			t.Errorf("config.yaml lacks %q:\n%s", want, text)
		}
	}
	v := b.Config().Value()
	if _, ok := v["RATIO"].(float64); !ok {
		t.Errorf("RATIO is %T", v["RATIO"])
	}
	if _, ok := v["COUNT"].(int); !ok {
		t.Errorf("COUNT is %T", v["COUNT"])
	}
	// 1e3 is written by a JSON encoder for a float: its value is what counts
	if !EqualValues(v["EXP"], 1000) {
		t.Errorf("EXP = %#v", v["EXP"])
	}
	// and back to JSON: 0.5 stays 0.5, 5 stays 5
	out, err := b.JSON(nil)
	if err != nil {
		t.Fatal(err)
	}
	var back struct {
		Config map[string]json.RawMessage `json:"config.yaml"`
	}
	if err := json.Unmarshal(out, &back); err != nil {
		t.Fatal(err)
	}
	if string(back.Config["RATIO"]) != "0.5" || string(back.Config["COUNT"]) != "5" {
		t.Errorf("JSON back: RATIO %s COUNT %s", back.Config["RATIO"], back.Config["COUNT"])
	}
}

func TestJSONConfigAsYAMLText(t *testing.T) {
	text := "# kept comment\nSERVER_HOSTNAME: h\nFEATURE_X: true # why\n"
	js, _ := json.Marshal(map[string]any{"config.yaml": text, "certs": map[string]string{
		"extra_ca_certs/ca.crt": base64.StdEncoding.EncodeToString([]byte("ca"))}})
	b, managed, err := ReadJSON(js, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if managed != nil {
		t.Errorf("managed = %v", managed)
	}
	if string(b.Config().Bytes()) != text {
		t.Errorf("text changed: %q", b.Config().Bytes())
	}
	if got, _ := b.File("extra_ca_certs/ca.crt"); string(got) != "ca" {
		t.Errorf("cert = %q", got)
	}
	// a null or absent config.yaml is an empty config
	for _, js := range []string{`{"config.yaml": null}`, `{}`} {
		b, _, err := ReadJSON([]byte(js), Limits{})
		if err != nil || len(b.Config().Value()) != 0 {
			t.Errorf("%s: %v %v", js, err, b)
		}
	}
}
