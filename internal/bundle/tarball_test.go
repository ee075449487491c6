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

func TestWriteDirModes(t *testing.T) {
	dir := t.TempDir()
	if err := sampleBundle(t).WriteDir(dir); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]os.FileMode{"config.yaml": 0o600, "ssl.key": 0o600, "ssl.cert": 0o644, "quay-signing-key.pem": 0o600} {
		st, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != want {
			t.Errorf("%s: mode %v, want %v", name, st.Mode().Perm(), want)
		}
	}
	leftovers, _ := filepath.Glob(filepath.Join(dir, "*.tmp"))
	if len(leftovers) > 0 {
		t.Errorf("temporary files left: %v", leftovers)
	}
}
