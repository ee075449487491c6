package bundle

import (
	"archive/tar"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// sampleBundle is a bundle with files in every place a bundle has them.
func sampleBundle(t testing.TB) *Bundle {
	t.Helper()
	b, err := New(readTestdata(t, "commented.yaml"), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string]string{
		"ssl.cert":                     "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
		"ssl.key":                      "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n",
		"extra_ca_certs/corp-ca.crt":   "corp ca\n",
		"extra_ca_certs/other.pem":     "other ca\n",
		"database.pem":                 "db ca",
		"quay-signing-key.pem":         "signing",
		"some-unknown-file.bin":        "\x00\x01\x02\xff binary",
		"clair-psk.txt":                "",
		"storage-sa.json":              `{"type":"service_account"}`,
		"ldap.crt":                     "ldap\r\n",
		"extra_ca_cert_flat-style.crt": "flat",
	} {
		if err := b.SetFile(name, []byte(data)); err != nil {
			t.Fatal(err)
		}
	}
	return b
}

func sameBundle(t *testing.T, step string, want, got *Bundle) {
	t.Helper()
	if !bytes.Equal(want.Config().Bytes(), got.Config().Bytes()) {
		t.Errorf("%s: config.yaml changed:\n%s\n---\n%s", step, want.Config().Bytes(), got.Config().Bytes())
	}
	if !reflect.DeepEqual(want.FileNames(), got.FileNames()) {
		t.Errorf("%s: files %v, want %v", step, got.FileNames(), want.FileNames())
		return
	}
	for _, n := range want.FileNames() {
		a, _ := want.File(n)
		b, _ := got.File(n)
		if !bytes.Equal(a, b) {
			t.Errorf("%s: %s differs", step, n)
		}
	}
}

// TestFormsRoundTrip carries a bundle through every form and back: the
// config text, unknown keys and unknown files must survive.
func TestFormsRoundTrip(t *testing.T) {
	orig := sampleBundle(t)

	dir := t.TempDir()
	if err := orig.WriteDir(dir); err != nil {
		t.Fatal(err)
	}
	fromDir, err := ReadDir(dir, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	sameBundle(t, "dir", orig, fromDir)

	tgz, err := fromDir.TarGz()
	if err != nil {
		t.Fatal(err)
	}
	fromTar, err := ReadTarGz(bytes.NewReader(tgz), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	sameBundle(t, "tar.gz", orig, fromTar)

	// JSON with config.yaml as text keeps the bytes
	js, err := fromTar.JSON([]string{"Redis"})
	if err != nil {
		t.Fatal(err)
	}
	var cb map[string]json.RawMessage
	if err := json.Unmarshal(js, &cb); err != nil {
		t.Fatal(err)
	}
	text, _ := json.Marshal(string(fromTar.Config().Bytes()))
	cb["config.yaml"] = text
	js2, _ := json.Marshal(cb)
	fromJSON, managed, err := ReadJSON(js2, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(managed, []string{"Redis"}) {
		t.Errorf("managedFieldGroups = %v", managed)
	}
	sameBundle(t, "json (text)", orig, fromJSON)

	// JSON with config.yaml as an object keeps values, unknown keys and files
	fromObj, _, err := ReadJSON(js, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if !EqualValues(fromObj.Config().Value(), orig.Config().Value()) {
		t.Errorf("json (object): value changed:\n%v\n%v", fromObj.Config().Value(), orig.Config().Value())
	}
	if fromObj.Config().Value()["zzz_unknown_key"] != "keep me" {
		t.Errorf("unknown key lost")
	}

	sd, err := fromJSON.SecretData()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := sd["extra_ca_cert_corp-ca.crt"]; !ok {
		t.Errorf("secret data keys: extra CA not flattened: %v", keysOf(sd))
	}
	fromSecret, err := FromSecretData(sd, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	// a flat extra_ca_cert_X comes back as extra_ca_certs/X
	want := orig.Clone()
	flat, _ := want.File("extra_ca_cert_flat-style.crt")
	want.RemoveFile("extra_ca_cert_flat-style.crt")
	if err := want.SetFile("extra_ca_certs/flat-style.crt", flat); err != nil {
		t.Fatal(err)
	}
	sameBundle(t, "secret", want, fromSecret)

	dir2 := t.TempDir()
	if err := fromSecret.WriteDir(dir2); err != nil {
		t.Fatal(err)
	}
	back, err := Read(dir2, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	sameBundle(t, "dir again", want, back)

	// edits in a clone never reach the original
	c := orig.Clone()
	if err := c.Config().Set([]string{"SERVER_HOSTNAME"}, "changed"); err != nil {
		t.Fatal(err)
	}
	c.RemoveFile("ssl.key")
	if orig.Config().Value()["SERVER_HOSTNAME"] != "quay.example.com" {
		t.Errorf("clone shares the document")
	}
	if _, ok := orig.File("ssl.key"); !ok {
		t.Errorf("clone shares files")
	}
}

func keysOf(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestFileDirectoryClashRefused: no form of a bundle may hold a path as a
// file and as the directory of another file (GNU tar would turn the file
// into a directory on extraction, and a directory cannot hold both).
func TestFileDirectoryClashRefused(t *testing.T) {
	b64 := base64.StdEncoding.EncodeToString([]byte("pem"))
	t.Run("SetFile both directions", func(t *testing.T) {
		for _, order := range [][2]string{{"a", "a/b"}, {"a/b", "a"}, {"a", "a/b/c"}, {"a/b/c", "a"}, {"a/b", "a/b/c"}} {
			b, _ := New([]byte("A: 1\n"), Limits{})
			if err := b.SetFile(order[0], []byte("1")); err != nil {
				t.Fatal(err)
			}
			err := b.SetFile(order[1], []byte("2"))
			if err == nil || !strings.Contains(err.Error(), order[0]) || !strings.Contains(err.Error(), order[1]) ||
				!strings.Contains(err.Error(), "both a file and a directory") {
				t.Errorf("%s then %s: error = %v, want a clash naming both", order[0], order[1], err)
			}
			if names := b.FileNames(); len(names) != 1 {
				t.Errorf("%s then %s: files %v after a refused add", order[0], order[1], names)
			}
		}
		b, _ := New([]byte("A: 1\n"), Limits{})
		if err := b.SetFile("config.yaml/x", []byte("1")); err == nil || !strings.Contains(err.Error(), "config.yaml/x clashes with config.yaml") {
			t.Errorf("config.yaml/x: error = %v", err)
		}
		// siblings that only share a prefix do not clash
		for _, n := range []string{"ab", "a.b", "a/b", "a/bc"} {
			if err := b.SetFile(n, []byte("1")); err != nil {
				t.Errorf("%s: %v", n, err)
			}
		}
	})
	t.Run("JSON", func(t *testing.T) {
		for js, want := range map[string]string{
			`{"config.yaml": {}, "certs": {"config.yaml/x": "` + b64 + `"}}`:                               "config.yaml/x clashes with config.yaml",
			`{"config.yaml": {}, "certs": {"a": "` + b64 + `", "a/b": "` + b64 + `"}}`:                     "a/b clashes with a",
			`{"config.yaml": "A: 1\n", "certs": {"a/b/c": "` + b64 + `", "a/b": "` + b64 + `"}}`:           "a/b/c clashes with a/b",
			`{"config.yaml": {}, "certs": {"extra_ca_certs/": "` + b64 + `", "extra_ca_certs/x": "QQ=="}}`: "extra_ca_certs/x clashes with extra_ca_certs",
		} {
			if _, _, err := ReadJSON([]byte(js), Limits{}); err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("%s: error = %v, want %q", js, err, want)
			}
		}
	})
	t.Run("tarball", func(t *testing.T) {
		cases := []struct {
			entries []tarEntry
			want    string
		}{
			{[]tarEntry{okConfig, {name: "config.yaml/x", body: "x"}}, "config.yaml/x clashes with config.yaml"},
			{[]tarEntry{{name: "config.yaml/x", body: "x"}, okConfig}, "config.yaml/x clashes with config.yaml"},
			{[]tarEntry{okConfig, {name: "a/b", body: "x"}, {name: "a", body: "y"}}, "a/b clashes with a"},
			{[]tarEntry{okConfig, {name: "a", body: "y"}, {name: "a/b", body: "x"}}, "a/b clashes with a"},
			{[]tarEntry{okConfig, {name: "d/", typ: tar.TypeDir}, {name: "d", body: "x"}}, "d is both a file and a directory"},
			{[]tarEntry{okConfig, {name: "config.yaml/", typ: tar.TypeDir}}, "config.yaml is both a file and a directory"},
			{[]tarEntry{okConfig, {name: "f", body: "x"}, {name: "f/g/", typ: tar.TypeDir}}, "f/g/ clashes with f"},
		}
		for _, tc := range cases {
			_, err := ReadTarGz(bytes.NewReader(makeTar(t, true, tc.entries...)), Limits{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%v: error = %v, want %q", tc.entries, err, tc.want)
			}
		}
	})
	t.Run("Secret", func(t *testing.T) {
		for i := 0; i < 20; i++ { // map order varies: both directions
			_, err := FromSecretData(map[string][]byte{"config.yaml": []byte("A: 1\n"), "extra_ca_certs": []byte("x"), "extra_ca_cert_corp.crt": []byte("y")}, Limits{})
			if err == nil || !strings.Contains(err.Error(), "extra_ca_certs/corp.crt clashes with extra_ca_certs") {
				t.Fatalf("error = %v", err)
			}
		}
	})
	t.Run("directory", func(t *testing.T) {
		dir := t.TempDir()
		if err := os.MkdirAll(filepath.Join(dir, "config.yaml"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "config.yaml", "x"), []byte("A: 1\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := ReadDir(dir, Limits{}); err == nil || !strings.Contains(err.Error(), "config.yaml is a directory") {
			t.Fatalf("error = %v", err)
		}
	})
}

// TestSetFileKeepsTheTotalLimit: adding files one by one (the editor's
// upload forms) cannot grow a bundle past MaxTotalBytes.
func TestSetFileKeepsTheTotalLimit(t *testing.T) {
	b, _ := New([]byte("A: 1\n"), Limits{MaxFileBytes: 400, MaxTotalBytes: 1000})
	for i := 0; i < 2; i++ {
		if err := b.SetFile(fmt.Sprintf("f%d", i), make([]byte, 400)); err != nil {
			t.Fatal(err)
		}
	}
	err := b.SetFile("f2", make([]byte, 400))
	if err == nil || !strings.Contains(err.Error(), "with f2 the bundle would hold 1205 bytes, over the limit of 1000") {
		t.Fatalf("error = %v", err)
	}
	// replacing a file counts its new size only
	if err := b.SetFile("f1", make([]byte, 300)); err != nil {
		t.Fatal(err)
	}
	if got := b.Size(); got != 5+400+300 {
		t.Errorf("Size = %d", got)
	}
}

// TestCloneSharesFileContents: a clone holds unchanged files once, and an
// edit of either copy never shows in the other.
func TestCloneSharesFileContents(t *testing.T) {
	b, _ := New([]byte("A: 1\n"), Limits{})
	_ = b.SetFile("big", bytes.Repeat([]byte("x"), 1000))
	_ = b.SetFile("small", []byte("s"))
	c := b.Clone()
	if got, want := HeldBytes(b, c), int64(2*5+1000+1); got != want {
		t.Errorf("HeldBytes(b, clone) = %d, want %d (files once, config twice)", got, want)
	}
	if err := c.SetFile("big", []byte("y")); err != nil {
		t.Fatal(err)
	}
	if got, _ := b.File("big"); len(got) != 1000 {
		t.Errorf("the clone's edit changed the original: %d bytes", len(got))
	}
	if got, want := HeldBytes(b, c), int64(2*5+1000+1+1); got != want {
		t.Errorf("after an edit HeldBytes = %d, want %d", got, want)
	}
	// appending to what File returns never writes into shared memory
	got, _ := b.File("small")
	_ = append(got, 'z')
	if again, _ := c.File("small"); string(again) != "s" || cap(got) != len(got) {
		t.Errorf("File's slice lets an append reach a clone: %q", again)
	}
}
