package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}
func (l *lockedBuffer) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

func TestEditorRefusesToStart(t *testing.T) {
	t.Setenv("CONFIG_EDITOR_PASSWORD", "")
	t.Setenv("CONFIG_TOOL_PUBLIC_KEY", "")
	t.Setenv("CONFIG_TOOL_PRIVATE_KEY", "")
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.pem")
	if err := os.WriteFile(bad, []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"no password", []string{"editor", "--addr", "127.0.0.1:0"}, nil, "no password"},
		{"bad TLS flags", []string{"editor", "-p", "pw", "--addr", "127.0.0.1:0", "--tls-cert", bad, "--tls-key", bad}, nil, "refusing to start without TLS"},
		{"bad TLS env", []string{"editor", "-p", "pw", "--addr", "127.0.0.1:0"},
			map[string]string{"CONFIG_TOOL_PUBLIC_KEY": bad, "CONFIG_TOOL_PRIVATE_KEY": filepath.Join(dir, "missing.key")}, "refusing to start without TLS"},
		{"half TLS env", []string{"editor", "-p", "pw", "--addr", "127.0.0.1:0"},
			map[string]string{"CONFIG_TOOL_PUBLIC_KEY": bad}, "both a certificate and a key"},
		{"missing bundle", []string{"editor", "-p", "pw", "-c", filepath.Join(dir, "nope")}, nil, "cannot read bundle"},
		{"unknown read-only group", []string{"editor", "-p", "pw", "-r", "Nope"}, nil, "unknown field group"},
		{"two positionals", []string{"editor", "pw", "extra"}, nil, "unexpected argument"},
		{"bad log format", []string{"editor", "-p", "pw", "--log-format", "xml"}, nil, "unknown log format"},
		{"bad trusted proxy", []string{"editor", "-p", "pw", "--addr", "127.0.0.1:0", "--trusted-proxies", "10.0.0.0/8,10.0.0.0/33"}, nil, "trusted proxy"},
		{"bad trusted proxy env", []string{"editor", "-p", "pw", "--addr", "127.0.0.1:0"}, map[string]string{"CONFIG_EDITOR_TRUSTED_PROXIES": "router"}, "trusted proxy"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			var out, errb bytes.Buffer
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			code := run(ctx, tc.args, &out, &errb)
			if code != exitUsage || !strings.Contains(errb.String(), tc.want) {
				t.Fatalf("exit %d, stderr %q; want %d and %q", code, errb.String(), exitUsage, tc.want)
			}
			if strings.Contains(errb.String(), "pw") && !strings.Contains(tc.want, "argument") {
				t.Errorf("stderr shows the password: %q", errb.String())
			}
		})
	}
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// TestEditorServesAndStops starts the subcommand for real in each password
// form, calls the historical curl route, and stops it with the context
// (what SIGTERM does in main).
func TestEditorServesAndStops(t *testing.T) {
	bundleDir := writeBundle(t, validConfig)
	for _, tc := range []struct {
		name   string
		args   []string
		env    string
		status int
	}{
		{"-p with bundle", []string{"-p", "pw1", "-c", bundleDir}, "", 200},
		{"positional after flags", []string{"-c", bundleDir, "pw1"}, "", 200},
		{"positional first (container form)", []string{"pw1", "-c", bundleDir}, "", 200},
		{"env, setup session", nil, "pw1", 202},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("CONFIG_EDITOR_PASSWORD", tc.env)
			t.Setenv("CONFIG_TOOL_PUBLIC_KEY", "")
			t.Setenv("CONFIG_TOOL_PRIVATE_KEY", "")
			addr := freePort(t)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			logs := &lockedBuffer{}
			done := make(chan int, 1)
			args := append([]string{"editor", "--addr", addr, "--log-format", "json"}, tc.args...)
			go func() { done <- run(ctx, args, io.Discard, logs) }()
			base := "http://" + addr
			cl := &http.Client{Timeout: 5 * time.Second}
			deadline := time.Now().Add(10 * time.Second)
			for {
				resp, err := cl.Get(base + "/healthz")
				if err == nil {
					resp.Body.Close()
					break
				}
				select {
				case code := <-done:
					t.Fatalf("editor exited %d: %s", code, logs.String())
				default:
				}
				if time.Now().After(deadline) {
					t.Fatalf("no /healthz: %v", err)
				}
				time.Sleep(10 * time.Millisecond)
			}
			req, _ := http.NewRequest("GET", base+"/api/v1/config", nil)
			req.SetBasicAuth("quayconfig", "pw1")
			resp, err := cl.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var body map[string]any
			err = json.NewDecoder(resp.Body).Decode(&body)
			resp.Body.Close()
			if resp.StatusCode != tc.status || err != nil || body["config.yaml"] == nil {
				t.Fatalf("GET /api/v1/config: %d %v %v", resp.StatusCode, err, body)
			}
			cancel()
			select {
			case code := <-done:
				if code != exitOK {
					t.Fatalf("exit %d after shutdown: %s", code, logs.String())
				}
			case <-time.After(20 * time.Second):
				t.Fatal("editor did not stop")
			}
			l := logs.String()
			if !strings.Contains(l, `"msg":"shutting down"`) || !strings.Contains(l, `"request_id"`) {
				t.Errorf("logs lack shutdown or request lines: %s", l)
			}
			if strings.Contains(l, "pw1") {
				t.Error("the password reached the log")
			}
			if positional := strings.HasPrefix(tc.name, "positional"); positional != strings.Contains(l, "given as a command-line argument") {
				t.Errorf("positional password %v, but the warning about ps: %v", positional, !positional)
			}
		})
	}
}

// startEditor runs the editor subcommand in-process until the test ends
// and waits for /healthz; it returns the base URL and the output.
func startEditor(t *testing.T, args ...string) (base string, stdout, logs *lockedBuffer) {
	t.Helper()
	addr := freePort(t)
	ctx, cancel := context.WithCancel(context.Background())
	stdout, logs = &lockedBuffer{}, &lockedBuffer{}
	done := make(chan int, 1)
	go func() { done <- run(ctx, append([]string{"editor", "--addr", addr}, args...), stdout, logs) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Error("editor did not stop")
		}
	})
	base = "http://" + addr
	cl := &http.Client{Timeout: 5 * time.Second}
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := cl.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
			return base, stdout, logs
		}
		select {
		case code := <-done:
			t.Fatalf("editor exited %d: %s", code, logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no /healthz: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func basicStatus(t *testing.T, base, password string) int {
	t.Helper()
	req, _ := http.NewRequest("GET", base+"/api/v1/openapi.json", nil)
	req.SetBasicAuth("quayconfig", password)
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

var generatedRe = regexp.MustCompile(`(?m)^\s*password: (\S+)$`)

// TestEditorGeneratesPassword: --generate-password (what make run passes)
// without a password starts with a random one, printed once on stdout and
// never logged; a given password wins and is not printed.
func TestEditorGeneratesPassword(t *testing.T) {
	t.Setenv("CONFIG_EDITOR_PASSWORD", "")
	t.Setenv("CONFIG_TOOL_PUBLIC_KEY", "")
	t.Setenv("CONFIG_TOOL_PRIVATE_KEY", "")
	seen := map[string]bool{}
	for i := 0; i < 2; i++ {
		base, out, logs := startEditor(t, "--generate-password")
		m := generatedRe.FindStringSubmatch(out.String())
		if m == nil {
			t.Fatalf("no generated password on stdout: %q", out.String())
		}
		pw := m[1]
		if len(pw) < 20 || seen[pw] {
			t.Fatalf("generated password %q: too short or repeated", pw)
		}
		seen[pw] = true
		if strings.Count(out.String(), pw) != 1 || strings.Contains(logs.String(), pw) {
			t.Errorf("the generated password is printed more than once or logged")
		}
		if c := basicStatus(t, base, pw); c != 200 {
			t.Errorf("the printed password: %d", c)
		}
		if c := basicStatus(t, base, "quay-config-editor"); c != 401 {
			t.Errorf("the old published default password: %d, want 401", c)
		}
	}
	t.Setenv("CONFIG_EDITOR_PASSWORD", "given-Password-42")
	base, out, _ := startEditor(t, "--generate-password")
	if strings.Contains(out.String(), "password:") || basicStatus(t, base, "given-Password-42") != 200 {
		t.Errorf("with CONFIG_EDITOR_PASSWORD set: stdout %q", out.String())
	}
}

// TestMakeRunHasNoPublishedPassword: the make target passes no fixed
// password; without PASSWORD it asks the editor to generate one.
func TestMakeRunHasNoPublishedPassword(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Fatal("make is not installed")
	}
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..")
	dry := func(args ...string) string {
		cmd := exec.Command("make", append([]string{"-n", "-C", root, "run"}, args...)...)
		cmd.Env = append(os.Environ(), "PASSWORD=", "CONFIG_EDITOR_PASSWORD=")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("make -n run: %v\n%s", err, out)
		}
		return string(out)
	}
	out := dry()
	if strings.Contains(out, "quay-config-editor") || strings.Contains(out, "CONFIG_EDITOR_PASSWORD=") ||
		!strings.Contains(out, "editor --generate-password") {
		t.Errorf("make run without PASSWORD:\n%s", out)
	}
	if out := dry("PASSWORD=mine-Pass-77"); !strings.Contains(out, "CONFIG_EDITOR_PASSWORD='mine-Pass-77'") {
		t.Errorf("make run PASSWORD=...:\n%s", out)
	}
}
