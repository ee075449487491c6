package bundle

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
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

func TestWriteTarGzIsDeterministic(t *testing.T) {
	a, err := sampleBundle(t).TarGz()
	if err != nil {
		t.Fatal(err)
	}
	b, err := sampleBundle(t).Clone().TarGz()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Fatal("the same bundle gave different tarball bytes")
	}
	// and a bundle read back from it writes the same bytes again
	rb, err := ReadTarGz(bytes.NewReader(a), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	c, _ := rb.TarGz()
	if !bytes.Equal(a, c) {
		t.Fatal("read-then-write changed the tarball")
	}
}

func TestWriteTarGzLayout(t *testing.T) {
	data, err := sampleBundle(t).TarGz()
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	var names []string
	modes := map[string]int64{}
	types := map[string]byte{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
		modes[h.Name] = h.Mode
		types[h.Name] = h.Typeflag
		if !h.ModTime.Equal(epoch) {
			t.Errorf("%s: mtime %v", h.Name, h.ModTime)
		}
	}
	if len(names) == 0 || names[0] != "config.yaml" {
		t.Fatalf("first entry %v, want config.yaml", names)
	}
	if types["extra_ca_certs/"] != tar.TypeDir {
		t.Errorf("no extra_ca_certs/ directory entry: %v", names)
	}
	dirAt, fileAt := -1, -1
	for i, n := range names {
		switch n {
		case "extra_ca_certs/":
			dirAt = i
		case "extra_ca_certs/corp-ca.crt":
			fileAt = i
		}
	}
	if dirAt < 0 || fileAt < dirAt {
		t.Errorf("directory entry must come before its files: %v", names)
	}
	want := map[string]int64{
		"config.yaml":                0o600,
		"ssl.key":                    0o600,
		"quay-signing-key.pem":       0o600,
		"ssl.cert":                   0o644,
		"database.pem":               0o644,
		"extra_ca_certs/corp-ca.crt": 0o644,
		"extra_ca_certs/":            0o755,
	}
	for n, m := range want {
		if modes[n] != m {
			t.Errorf("%s: mode %o, want %o", n, modes[n], m)
		}
	}

	tarBin, err := exec.LookPath("tar")
	if err != nil {
		t.Skip("no tar binary")
	}
	p := filepath.Join(t.TempDir(), TarballName)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(tarBin, "-tzvf", p).CombinedOutput()
	if err != nil {
		t.Fatalf("tar -tzvf: %v\n%s", err, out)
	}
	listing := string(out)
	for _, line := range []string{"-rw------- root/root", "drwxr-xr-x root/root", "config.yaml", "extra_ca_certs/corp-ca.crt"} {
		if !strings.Contains(listing, line) {
			t.Errorf("tar -tzvf output lacks %q:\n%s", line, listing)
		}
	}
	// and tar extracts what we read
	dest := t.TempDir()
	if out, err := exec.Command(tarBin, "-xzf", p, "-C", dest).CombinedOutput(); err != nil {
		t.Fatalf("tar -x: %v %s", err, out)
	}
	back, err := ReadDir(dest, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	sameBundle(t, "tar -x", sampleBundle(t), back)
	st, err := os.Stat(filepath.Join(dest, "ssl.key"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("extracted ssl.key mode %v %v", st.Mode(), err)
	}
}
