package bundle

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

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
				t.Fatalf("setting up %s: %v", name, err)
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
