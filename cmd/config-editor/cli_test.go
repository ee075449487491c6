package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/quay-tools/config-editor/internal/bundle"
)

func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var o, e bytes.Buffer
	code = run(context.Background(), args, &o, &e)
	return code, o.String(), e.String()
}

// TestValidateCommand covers the exit codes and both output formats of
// `validate` for each form a bundle can take.
func TestValidateCommand(t *testing.T) {
	t.Setenv("CONFIG_EDITOR_BUNDLE", "")
	good := writeBundle(t, validConfig)
	bad := writeBundle(t, strings.Replace(validConfig, "SERVER_HOSTNAME: quay.example.com\n", "SERVER_HOSTNAME: quay.example.com\nFEATURE_MAILING: maybe\n", 1))
	malformed := writeBundle(t, "SERVER_HOSTNAME: [unclosed\n")

	b, err := bundle.ReadDir(good, bundle.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	var tgz bytes.Buffer
	if err := b.WriteTarGz(&tgz); err != nil {
		t.Fatal(err)
	}
	tarball := filepath.Join(t.TempDir(), "quay-config.tar.gz")
	if err := os.WriteFile(tarball, tgz.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		name    string
		args    []string
		code    int
		stdout  string
		stderr  string
		notText string
	}{
		{"valid directory", []string{"validate", "-c", good}, 0, "valid: 0 error(s)", "", ""},
		{"valid tarball", []string{"validate", "-c", tarball}, 0, "valid: 0 error(s)", "", ""},
		{"valid config.yaml", []string{"validate", "-c", filepath.Join(good, "config.yaml")}, 0, "valid: 0 error(s)", "", ""},
		{"valid as json is an empty array", []string{"validate", "-c", good, "-o", "json"}, 0, "[]", "", ""},
		{"invalid table names key and line", []string{"validate", "-c", bad}, 1, "FEATURE_MAILING", "", "pw@"},
		{"invalid json", []string{"validate", "-c", bad, "-o", "json"}, 1, `"Path": "FEATURE_MAILING"`, "", ""},
		{"malformed yaml", []string{"validate", "-c", malformed}, 2, "", "line 1", ""},
		{"missing bundle", []string{"validate", "-c", "/nonexistent/stack"}, 2, "", "cannot read bundle", ""},
		{"no bundle", []string{"validate"}, 2, "", "no bundle given", ""},
		{"bad mode", []string{"validate", "-c", good, "--mode", "sometimes"}, 2, "", "sometimes", ""},
		{"bad output", []string{"validate", "-c", good, "-o", "xml"}, 2, "", "unknown output format", ""},
		{"unknown group", []string{"validate", "-c", good, "--groups", "Nope"}, 2, "", `unknown field group "Nope"`, ""},
		{"stray argument", []string{"validate", "-c", good, "extra"}, 2, "", `unexpected argument "extra"`, ""},
		{"one group only", []string{"validate", "-c", bad, "--groups", "HostSettings"}, 0, "valid", "", "FEATURE_MAILING"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, tc.args...)
			if code != tc.code {
				t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tc.code, out, errOut)
			}
			if !strings.Contains(out, tc.stdout) {
				t.Errorf("stdout lacks %q:\n%s", tc.stdout, out)
			}
			if !strings.Contains(errOut, tc.stderr) {
				t.Errorf("stderr lacks %q:\n%s", tc.stderr, errOut)
			}
			if tc.notText != "" && strings.Contains(out+errOut, tc.notText) {
				t.Errorf("output has %q:\n%s%s", tc.notText, out, errOut)
			}
		})
	}

	// the JSON form keeps the historical wire keys
	_, out, _ := runCLI(t, "validate", "-c", bad, "-o", "json")
	var ps []map[string]any
	if err := json.Unmarshal([]byte(out), &ps); err != nil || len(ps) == 0 {
		t.Fatalf("not a JSON array of problems (%v):\n%s", err, out)
	}
	for _, k := range []string{"FieldGroup", "Tags", "Message", "Path", "Severity"} {
		if _, ok := ps[0][k]; !ok {
			t.Errorf("problem lacks key %s: %v", k, ps[0])
		}
	}
}

func TestPrintSchemaVersion(t *testing.T) {
	dir := writeBundle(t, validConfig)
	code, out, errOut := runCLI(t, "print", "-c", dir)
	if code != 0 {
		t.Fatalf("print: exit %d: %s", code, errOut)
	}
	for _, want := range []string{"SERVER_HOSTNAME: quay.example.com", "postgresql://quay:<secret>@127.0.0.1:1/quay", "FEATURE_MAILING:"} {
		if !strings.Contains(out, want) {
			t.Errorf("print lacks %q", want)
		}
	}
	if strings.Contains(out, "0123456789abcdef") || strings.Contains(out, ":pw@") {
		t.Errorf("print leaks a secret:\n%s", out)
	}
	_, out, _ = runCLI(t, "print", "-c", dir, "--no-defaults")
	if strings.Contains(out, "FEATURE_MAILING") || !strings.Contains(out, "SECRET_KEY: <secret>") {
		t.Errorf("print --no-defaults:\n%s", out)
	}

	code, out, _ = runCLI(t, "schema")
	var sch map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &sch) != nil || sch["$schema"] == nil {
		t.Errorf("schema: exit %d, not a JSON Schema: %.200s", code, out)
	}

	for _, v := range []string{"version", "--version", "-v"} {
		code, out, _ = runCLI(t, v)
		if code != 0 || !strings.HasPrefix(out, "config-editor ") {
			t.Errorf("%s: exit %d: %q", v, code, out)
		}
	}

	code, _, errOut = runCLI(t, "frobnicate")
	if code != 2 || !strings.Contains(errOut, `unknown command "frobnicate"`) || !strings.Contains(errOut, "usage:") {
		t.Errorf("unknown command: exit %d: %s", code, errOut)
	}

	// `config` is the container form of the editor
	code, _, errOut = runCLI(t, "config", "-h")
	if code != 2 && code != 0 || !strings.Contains(errOut, "-tls-cert") {
		t.Errorf("config -h: exit %d, not the editor's flags: %s", code, errOut)
	}
}

// TestPrintRedactsUndeclaredSecrets: keys Quay does not know whose names
// look like secrets (typos of known ones included), and passwords in URIs
// under unknown keys, are printed as <secret>, with and without defaults;
// validate names such keys but never shows their values.
func TestPrintRedactsUndeclaredSecrets(t *testing.T) {
	dir := writeBundle(t, validConfig+`pasword: hunter2-zz9q
LDAP_ADMIN_PASSWORD: ldap-zz9q
SECRET_KEYY: keyy-zz9q
DB_URl: postgresql://quay:uri-zz9q@db.example.com/quay
EXTRA:
  api_token: token-zz9q
  endpoints: [ "redis://:list-zz9q@127.0.0.1:6379" ]
`)
	for _, args := range [][]string{{"print", "-c", dir}, {"print", "-c", dir, "--no-defaults"}, {"validate", "-c", dir}} {
		code, out, errOut := runCLI(t, args...)
		if args[0] == "print" && code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, errOut)
		}
		if strings.Contains(out+errOut, "zz9q") {
			t.Errorf("%v leaks a secret:\n%s%s", args, out, errOut)
		}
		if args[0] != "print" {
			continue
		}
		for _, want := range []string{"pasword: <secret>", "LDAP_ADMIN_PASSWORD: <secret>", "SECRET_KEYY: <secret>",
			"DB_URl: postgresql://quay:<secret>@db.example.com/quay", "api_token: <secret>", "redis://:<secret>@127.0.0.1:6379",
			"SERVER_HOSTNAME: quay.example.com"} {
			if !strings.Contains(out, want) {
				t.Errorf("%v lacks %q:\n%s", args, want, out)
			}
		}
	}
}
