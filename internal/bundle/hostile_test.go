package bundle

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

type tarEntry struct {
	name     string
	typ      byte
	body     string
	size     int64 // when body is empty and size > 0: that many zero bytes
	linkname string
}

func makeTar(t testing.TB, gz bool, entries ...tarEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	var w io.Writer = &buf
	var zw *gzip.Writer
	if gz {
		zw = gzip.NewWriter(&buf)
		w = zw
	}
	tw := tar.NewWriter(w)
	for _, e := range entries {
		typ := e.typ
		if typ == 0 {
			typ = tar.TypeReg
		}
		size := int64(len(e.body))
		if e.body == "" {
			size = e.size
		}
		if typ != tar.TypeReg && typ != tar.TypeDir {
			size = 0
		}
		h := &tar.Header{Name: e.name, Typeflag: typ, Size: size, Mode: 0o644, Linkname: e.linkname}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if e.body != "" {
			if _, err := io.WriteString(tw, e.body); err != nil {
				t.Fatal(err)
			}
		} else if size > 0 && typ == tar.TypeReg {
			if _, err := io.CopyN(tw, zeroReader{}, size); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if zw != nil {
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// countingReader counts how much of the compressed input a reader consumed.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

var okConfig = tarEntry{name: "config.yaml", body: "SERVER_HOSTNAME: quay.example.com\n"}

func TestReadTarGzRefusesHostileInput(t *testing.T) {
	many := []tarEntry{okConfig}
	for i := 0; i < 12; i++ {
		many = append(many, tarEntry{name: "f" + string(rune('a'+i)), body: "x"})
	}
	cases := []struct {
		name    string
		entries []tarEntry
		lim     Limits
		plain   bool // not gzipped
		want    string
	}{
		{name: "climbing name", entries: []tarEntry{okConfig, {name: "../x", body: "x"}}, want: `climbs out of the bundle`},
		{name: "climbing inside", entries: []tarEntry{okConfig, {name: "a/../../x", body: "x"}}, want: `climbs out of the bundle`},
		{name: "absolute path", entries: []tarEntry{okConfig, {name: "/etc/passwd", body: "x"}}, want: `is absolute`},
		{name: "backslash", entries: []tarEntry{okConfig, {name: `..\x`, body: "x"}}, want: `backslash`},
		{name: "control character", entries: []tarEntry{okConfig, {name: "a\x1b[31m", body: "x"}}, want: `control character`},
		{name: "symlink", entries: []tarEntry{okConfig, {name: "ssl.key", typ: tar.TypeSymlink, linkname: "/etc/shadow"}}, want: `is a link`},
		{name: "hardlink", entries: []tarEntry{okConfig, {name: "ssl.key", typ: tar.TypeLink, linkname: "config.yaml"}}, want: `is a link`},
		{name: "char device", entries: []tarEntry{okConfig, {name: "null", typ: tar.TypeChar}}, want: `not a regular file`},
		{name: "block device", entries: []tarEntry{okConfig, {name: "sda", typ: tar.TypeBlock}}, want: `not a regular file`},
		{name: "fifo", entries: []tarEntry{okConfig, {name: "pipe", typ: tar.TypeFifo}}, want: `not a regular file`},
		{name: "duplicate file", entries: []tarEntry{okConfig, {name: "ssl.cert", body: "a"}, {name: "./ssl.cert", body: "b"}}, want: `ssl.cert appears twice`},
		{name: "duplicate config", entries: []tarEntry{okConfig, okConfig}, want: `config.yaml appears twice`},
		{name: "file shadowing a directory", entries: []tarEntry{okConfig, {name: "extra_ca_certs", body: "a"}, {name: "extra_ca_certs/x.crt", body: "b"}}, want: `both a file and a directory`},
		{name: "too many entries", entries: many, lim: Limits{MaxFiles: 10}, want: `more than 10 entries`},
		{name: "file over the size limit", entries: []tarEntry{okConfig, {name: "big", size: 2000}}, lim: Limits{MaxFileBytes: 1000}, want: `big is 2000 bytes, over the limit of 1000`},
		{name: "directory with data", entries: []tarEntry{okConfig, {name: "d/", typ: tar.TypeDir, size: 1 << 30}}, want: `claims 1073741824 bytes`},
		{name: "contiguous file type", entries: []tarEntry{okConfig, {name: "c", typ: tar.TypeCont}}, want: `not a regular file`},
		{name: "no config", entries: []tarEntry{{name: "ssl.cert", body: "x"}}, want: `no config.yaml`},
		{name: "config not utf-8", entries: []tarEntry{{name: "config.yaml", body: "A: \xff\xfe\n"}}, want: `line 1: file is not valid UTF-8`},
		{name: "plain tar with link", plain: true, entries: []tarEntry{okConfig, {name: "x", typ: tar.TypeSymlink, linkname: "/"}}, want: `is a link`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			data := makeTar(t, !tc.plain, tc.entries...)
			_, err := ReadTarGz(bytes.NewReader(data), tc.lim)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestReadTarGzRefusesGarbage(t *testing.T) {
	for name, data := range map[string][]byte{
		"empty":          nil,
		"text":           []byte("SERVER_HOSTNAME: x\n"),
		"bad gzip":       {0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 0xff, 1, 2, 3},
		"truncated gzip": makeTar(t, true, okConfig)[:30],
	} {
		if _, err := ReadTarGz(bytes.NewReader(data), Limits{}); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestGzipBombStopsEarly: a small tar.gz that expands far past
// MaxTotalBytes is refused after reading only a part of it.
func TestGzipBombStopsEarly(t *testing.T) {
	entries := []tarEntry{okConfig}
	for i := 0; i < 64; i++ {
		entries = append(entries, tarEntry{name: "blob" + string(rune('A'+i)), size: 1 << 20})
	}
	bomb := makeTar(t, true, entries...)
	if len(bomb) > 1<<20 {
		t.Fatalf("bomb is %d bytes compressed; the test wants a small one", len(bomb))
	}
	cr := &countingReader{r: bytes.NewReader(bomb)}
	_, err := ReadTarGz(cr, Limits{MaxTotalBytes: 4 << 20})
	if err == nil || !strings.Contains(err.Error(), "add up to more than") {
		t.Fatalf("error = %v", err)
	}
	if cr.n > int64(len(bomb))/4 {
		t.Errorf("read %d of %d compressed bytes before refusing", cr.n, len(bomb))
	}

	// one entry whose header announces 1 GiB: refused at the header
	huge := makeTar(t, true, okConfig, tarEntry{name: "huge", size: 64 << 20})
	cr = &countingReader{r: bytes.NewReader(huge)}
	if _, err := ReadTarGz(cr, Limits{}); err == nil || !strings.Contains(err.Error(), "over the limit") {
		t.Fatalf("error = %v", err)
	}
	if cr.n > int64(len(huge))/4 {
		t.Errorf("read %d of %d compressed bytes before refusing", cr.n, len(huge))
	}
}

func TestParseDocumentRefusesHostileYAML(t *testing.T) {
	laughs := "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n"
	prev := "a"
	for _, n := range []string{"b", "c", "d", "e", "f", "g", "h", "i"} {
		laughs += n + ": &" + n + " [*" + prev + ",*" + prev + ",*" + prev + ",*" + prev + ",*" + prev + ",*" + prev + ",*" + prev + ",*" + prev + ",*" + prev + "]\n"
		prev = n
	}
	deep := strings.Repeat("[", 100) + strings.Repeat("]", 100)
	cases := []struct {
		name, src string
		line      int
		want      string
	}{
		{"not utf-8", "A: ok\nB: \xc3\x28\n", 2, "not valid UTF-8"},
		{"latin-1", "TITLE: caf\xe9\n", 1, "not valid UTF-8"},
		{"duplicate key", "A: 1\nB: 2\nA: 3\n", 3, `key "A" is repeated (first at line 1)`},
		{"duplicate nested key", "A:\n  x: 1\n  x: 2\n", 3, `key "x" is repeated`},
		{"billion laughs", laughs, 0, "alias bomb"},
		{"two documents", "A: 1\n---\nB: 2\n", 2, "more than one YAML document"},
		{"list at top", "- a\n- b\n", 1, "top level must be a mapping"},
		{"scalar at top", "just text\n", 1, "top level must be a mapping"},
		{"complex key", "? [a, b]\n: c\n", 1, "mapping keys must be plain scalars"},
		{"syntax error", "A: [1, 2\nB: 3\n", 0, "did not find expected"},
		{"tab indentation", "A:\n\tb: 1\n", 2, "tab"},
		{"unknown alias", "A: *nope\n", 1, "unknown anchor"},
		{"recursive alias", "A: &a\n  b: *a\n", 2, "recursive structure"},
		{"recursive root", "&r\nA: *r\n", 0, "recursive structure"},
		{"too deep", "A: " + deep + "\n", 1, "nesting deeper than"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseDocument([]byte(tc.src), Limits{})
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("error = %v, want a *SyntaxError", err)
			}
			if !strings.Contains(se.Msg, tc.want) {
				t.Errorf("message %q, want it to contain %q", se.Msg, tc.want)
			}
			if tc.line > 0 && se.Line != tc.line {
				t.Errorf("line %d, want %d (%v)", se.Line, tc.line, err)
			}
		})
	}
}

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

func TestFromSecretDataRefusesBadKeys(t *testing.T) {
	cfg := []byte("A: 1\n")
	cases := []struct {
		name string
		data map[string][]byte
		lim  Limits
		want string
	}{
		{"slash", map[string][]byte{"config.yaml": cfg, "extra_ca_certs/x": nil}, Limits{}, `secret key "extra_ca_certs/x" is not a valid key`},
		{"dot dot", map[string][]byte{"config.yaml": cfg, "..": nil}, Limits{}, `not a valid key`},
		{"dot", map[string][]byte{"config.yaml": cfg, ".": nil}, Limits{}, `not a valid key`},
		{"no config", map[string][]byte{"ssl.cert": nil}, Limits{}, `no config.yaml`},
		{"config not utf-8", map[string][]byte{"config.yaml": []byte("A: \xff\n")}, Limits{}, `UTF-8`},
		{"too big", map[string][]byte{"config.yaml": cfg, "a": make([]byte, 600), "b": make([]byte, 600)}, Limits{MaxTotalBytes: 1000}, `more than 1000 bytes`},
		{"too many", map[string][]byte{"config.yaml": cfg, "a": nil, "b": nil, "c": nil}, Limits{MaxFiles: 2}, `more than 2 files`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := FromSecretData(tc.data, tc.lim)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestSecretDataRefusesUnflattenableNames(t *testing.T) {
	b, _ := New([]byte("A: 1\n"), Limits{})
	if err := b.SetFile("sub/dir/x.pem", []byte("x")); err != nil {
		t.Fatal(err)
	}
	if _, err := b.SecretData(); err == nil || !strings.Contains(err.Error(), "cannot be stored as a Secret key") {
		t.Fatalf("error = %v", err)
	}
	b.RemoveFile("sub/dir/x.pem")
	_ = b.SetFile("extra_ca_certs/a.crt", []byte("1"))
	_ = b.SetFile("extra_ca_cert_a.crt", []byte("2"))
	if _, err := b.SecretData(); err == nil || !strings.Contains(err.Error(), "both flatten") {
		t.Fatalf("error = %v", err)
	}
}

// kubeSecretVolume lays out dir the way the kubelet mounts a Secret:
// the files live in a timestamped hidden directory, "..data" links to
// it, and every visible name links through "..data".
func kubeSecretVolume(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	ts := "..2026_11_22_04_00_00.123456789"
	for name, body := range files {
		p := filepath.Join(dir, ts, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(ts, filepath.Join(dir, "..data")); err != nil {
		t.Fatal(err)
	}
	tops := map[string]bool{}
	for name := range files {
		tops[strings.SplitN(name, "/", 2)[0]] = true
	}
	for top := range tops {
		if err := os.Symlink(filepath.Join("..data", top), filepath.Join(dir, top)); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestReadDirKubernetesSecretVolume(t *testing.T) {
	dir := kubeSecretVolume(t, map[string]string{
		"config.yaml":              "SERVER_HOSTNAME: k8s.example.com\n",
		"ssl.cert":                 "cert",
		"extra_ca_cert_corp.crt":   "flat ca",
		"extra_ca_certs/other.crt": "nested ca", // an items[].path with a directory
	})
	b, err := Read(dir, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if got := b.Config().Value()["SERVER_HOSTNAME"]; got != "k8s.example.com" {
		t.Errorf("SERVER_HOSTNAME = %v", got)
	}
	want := []string{"extra_ca_cert_corp.crt", "extra_ca_certs/other.crt", "ssl.cert"}
	if got := b.FileNames(); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("files %v, want %v (the hidden ..data copies must not show)", got, want)
	}
	if got, _ := b.File("extra_ca_certs/other.crt"); string(got) != "nested ca" {
		t.Errorf("nested ca = %q", got)
	}
}

func TestReadDirRefusesEscapes(t *testing.T) {
	outside := t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "secret"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	setup := map[string]func(dir string) error{
		"link to a file outside": func(dir string) error {
			return os.Symlink(filepath.Join(outside, "secret"), filepath.Join(dir, "ssl.key"))
		},
		"relative link outside": func(dir string) error {
			rel, _ := filepath.Rel(dir, filepath.Join(outside, "secret"))
			return os.Symlink(rel, filepath.Join(dir, "ssl.key"))
		},
		"link to a directory outside": func(dir string) error {
			return os.Symlink(outside, filepath.Join(dir, "extra_ca_certs"))
		},
		"broken link": func(dir string) error {
			return os.Symlink("nowhere", filepath.Join(dir, "ssl.key"))
		},
		"directory link loop": func(dir string) error {
			if err := os.Mkdir(filepath.Join(dir, "d"), 0o755); err != nil {
				return err
			}
			return os.Symlink("..", filepath.Join(dir, "d", "up"))
		},
		"fifo": func(dir string) error {
			return mkfifo(filepath.Join(dir, "pipe"))
		},
	}
	wants := map[string]string{
		"link to a file outside":      "points outside the bundle directory",
		"relative link outside":       "points outside the bundle directory",
		"link to a directory outside": "points outside the bundle directory",
		"broken link":                 "broken link",
		"directory link loop":         "loop",
		"fifo":                        "not a regular file",
	}
	for name, mk := range setup {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "config.yaml"), []byte("A: 1\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := mk(dir); err != nil {
				t.Skip(err)
			}
			_, err := ReadDir(dir, Limits{})
			if err == nil || !strings.Contains(err.Error(), wants[name]) {
				t.Fatalf("error = %v, want one containing %q", err, wants[name])
			}
		})
	}
	t.Run("too many files", func(t *testing.T) {
		dir := t.TempDir()
		for _, n := range []string{"config.yaml", "a", "b", "c"} {
			_ = os.WriteFile(filepath.Join(dir, n), []byte("A: 1\n"), 0o600)
		}
		if _, err := ReadDir(dir, Limits{MaxFiles: 2}); err == nil || !strings.Contains(err.Error(), "more than 2 files") {
			t.Fatalf("error = %v", err)
		}
	})
	t.Run("no config", func(t *testing.T) {
		if _, err := ReadDir(t.TempDir(), Limits{}); err == nil || !strings.Contains(err.Error(), "no config.yaml") {
			t.Fatalf("error = %v", err)
		}
	})
}

func mkfifo(p string) error {
	if _, err := exec.LookPath("mkfifo"); err != nil {
		return err
	}
	return exec.Command("mkfifo", p).Run()
}

// TestReadTarMadeByTar reads a tarball made the usual way, "tar -C dir
// -czf x.tgz .", whose entries start with "./" and which has a "./" entry.
func TestReadTarMadeByTar(t *testing.T) {
	tarBin, err := exec.LookPath("tar")
	if err != nil {
		t.Skip("no tar")
	}
	src := t.TempDir()
	_ = os.WriteFile(filepath.Join(src, "config.yaml"), []byte("A: 1\n"), 0o600)
	_ = os.MkdirAll(filepath.Join(src, "extra_ca_certs"), 0o755)
	_ = os.WriteFile(filepath.Join(src, "extra_ca_certs", "ca.crt"), []byte("ca"), 0o644)
	out := filepath.Join(t.TempDir(), "b.tgz")
	if msg, err := exec.Command(tarBin, "-C", src, "-czf", out, ".").CombinedOutput(); err != nil {
		t.Fatalf("tar: %v %s", err, msg)
	}
	b, err := Read(out, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := b.File("extra_ca_certs/ca.crt"); string(got) != "ca" {
		t.Errorf("ca = %q, files %v", got, b.FileNames())
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

// readWithin runs Read in a goroutine so that a regression (a read that
// blocks on a named pipe) fails the test instead of hanging it.
func readWithin(t *testing.T, p string) error {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		_, err := Read(p, Limits{})
		done <- err
	}()
	select {
	case err := <-done:
		return err
	case <-time.After(30 * time.Second):
		t.Fatalf("Read(%s) blocked", p)
		return nil
	}
}

// TestReadRefusesSpecialFiles: a bundle path (or an entry of a bundle
// directory) that is a named pipe, a device or a socket is refused with
// its path and kind, without blocking.
func TestReadRefusesSpecialFiles(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"pipe", "pipe.yaml", "pipe.tar.gz"} {
		p := filepath.Join(dir, name)
		if err := syscall.Mkfifo(p, 0o600); err != nil {
			t.Fatal(err)
		}
		err := readWithin(t, p)
		if err == nil || !strings.Contains(err.Error(), p+" is a named pipe (FIFO)") {
			t.Errorf("%s: error = %v", name, err)
		}
	}
	if err := readWithin(t, "/dev/null"); err == nil || !strings.Contains(err.Error(), "/dev/null is a character device") {
		t.Errorf("/dev/null: error = %v", err)
	}
	sock := filepath.Join(dir, "s.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := readWithin(t, sock); err == nil || !strings.Contains(err.Error(), "is a socket") {
		t.Errorf("socket: error = %v", err)
	}
	// a link to a pipe is the pipe
	if err := os.Symlink(filepath.Join(dir, "pipe"), filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	if err := readWithin(t, filepath.Join(dir, "link")); err == nil || !strings.Contains(err.Error(), "named pipe") {
		t.Errorf("link to a pipe: error = %v", err)
	}

	// inside a bundle directory
	for name, mk := range map[string]func(p string) error{
		"config.yaml": func(p string) error { return syscall.Mkfifo(p, 0o600) },
		"ssl.cert":    func(p string) error { return syscall.Mkfifo(p, 0o600) },
		"ssl.key": func(p string) error { // a link to a pipe inside the bundle
			hidden := filepath.Join(filepath.Dir(p), "..hidden")
			if err := os.Mkdir(hidden, 0o700); err != nil {
				return err
			}
			if err := syscall.Mkfifo(filepath.Join(hidden, "pipe"), 0o600); err != nil {
				return err
			}
			return os.Symlink(filepath.Join("..hidden", "pipe"), p)
		},
		"extra_ca_certs/x.crt": func(p string) error {
			if err := os.Mkdir(filepath.Dir(p), 0o700); err != nil {
				return err
			}
			_, err := net.Listen("unix", p)
			return err
		},
	} {
		b := t.TempDir()
		if name != "config.yaml" {
			if err := os.WriteFile(filepath.Join(b, "config.yaml"), []byte("A: 1\n"), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		if err := mk(filepath.Join(b, name)); err != nil {
			t.Fatal(err)
		}
		err := readWithin(t, b)
		if err == nil || !strings.Contains(err.Error(), name+" is a") || !strings.Contains(err.Error(), "not a regular file") {
			t.Errorf("directory with %s: error = %v", name, err)
		}
	}
}

// TestOpenRegularDoesNotBlock: the open itself never waits for a writer
// (a path that was a regular file when it was checked may be a pipe when
// it is opened).
func TestOpenRegularDoesNotBlock(t *testing.T) {
	p := filepath.Join(t.TempDir(), "pipe")
	if err := syscall.Mkfifo(p, 0o600); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, err := readLimited(p, 100); done <- err }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "named pipe") {
			t.Fatalf("error = %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("readLimited blocked on a named pipe")
	}
}
