package main

import (
	"bytes"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Services point at a closed loopback port: the registry gate validates
// online, and tests never reach beyond 127.0.0.1.
const validConfig = `SERVER_HOSTNAME: quay.example.com
DB_URI: postgresql://quay:pw@127.0.0.1:1/quay
DISTRIBUTED_STORAGE_CONFIG:
  default:
  - S3Storage
  - s3_bucket: quay
    storage_path: /registry
    host: 127.0.0.1
    port: 1
DISTRIBUTED_STORAGE_PREFERENCE: [default]
BUILDLOGS_REDIS: {host: 127.0.0.1, port: 1}
USER_EVENTS_REDIS: {host: 127.0.0.1, port: 1}
DATABASE_SECRET_KEY: 0123456789abcdef
SECRET_KEY: 0123456789abcdef
`

// buildBinary compiles config-editor once per test binary run.
func buildBinary(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "config-editor")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func entrypoint(t *testing.T) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "hack", "container", "entrypoint.sh")
}

func writeBundle(t testing.TB, cfg string) string {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "config.yaml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestEntrypointModes(t *testing.T) {
	if _, err := exec.LookPath("sh"); err != nil {
		t.Fatal("no sh on PATH")
	}
	bin := buildBinary(t)
	good := writeBundle(t, validConfig)
	bad := writeBundle(t, strings.Replace(validConfig, "SERVER_HOSTNAME: quay.example.com\n", "", 1))
	cases := []struct {
		name     string
		args     []string
		env      []string
		wantCode int
		wantOut  string // substring of stdout+stderr
		notOut   string
	}{
		{"validate valid", []string{"validate", "--mode", "offline"}, []string{"CONFIG_DIR=" + good}, 0, "valid: 0 error(s)", ""},
		{"validate invalid", []string{"validate", "--mode", "offline", "-o", "json"}, []string{"CONFIG_DIR=" + bad}, 1, `"FieldGroup": "HostSettings"`, ""},
		{"validate missing dir", []string{"validate"}, []string{"CONFIG_DIR=/nonexistent/stack"}, 2, "cannot read bundle", ""},
		{"config without password", []string{"config"}, []string{"CONFIG_DIR=" + good}, 2, "needs a password", ""},
		{"registry gate refuses invalid bundle", []string{"registry"}, []string{"CONFIG_DIR=" + bad}, 1, "failed validation", "listening on"},
		// the gate is skipped; the runtime still refuses a bundle without SERVER_HOSTNAME
		{"registry with IGNORE_VALIDATION skips the gate loudly", []string{"registry"}, []string{"CONFIG_DIR=" + bad, "IGNORE_VALIDATION=true"}, 1, "WITHOUT validating", "listening on"},
		{"passthrough version", []string{"version"}, nil, 0, "config-editor ", ""},
		{"no mode", nil, nil, 2, "usage:", ""},
		{"help", []string{"help"}, nil, 0, "usage:", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command("sh", append([]string{entrypoint(t)}, tc.args...)...)
			cmd.Env = append(os.Environ(), "CONFIG_EDITOR_BIN="+bin)
			cmd.Env = append(cmd.Env, tc.env...)
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			err := cmd.Run()
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tc.wantCode {
				t.Errorf("exit %d, want %d\n%s", code, tc.wantCode, out.String())
			}
			if !strings.Contains(out.String(), tc.wantOut) {
				t.Errorf("output lacks %q:\n%s", tc.wantOut, out.String())
			}
			if tc.notOut != "" && strings.Contains(out.String(), tc.notOut) {
				t.Errorf("output has %q:\n%s", tc.notOut, out.String())
			}
		})
	}
}

// TestEntrypointPasswordNotInArgv: "config <password>" hands the password
// to the editor in the environment. The script execs the editor (same
// pid), so after start-up /proc/<pid>/cmdline is the editor's own argv,
// and it must not hold the password; the password must still work.
func TestEntrypointPasswordNotInArgv(t *testing.T) {
	bin := buildBinary(t)
	bundleDir := writeBundle(t, validConfig)
	addr := freePort(t)
	const pw = "argv-Secret-6180"
	cmd := exec.Command("sh", entrypoint(t), "config", pw)
	cmd.Env = append(os.Environ(), "CONFIG_EDITOR_BIN="+bin, "CONFIG_DIR="+bundleDir,
		"CONFIG_EDITOR_ADDR="+addr, "CONFIG_EDITOR_PASSWORD=", "CONFIG_TOOL_PUBLIC_KEY=", "CONFIG_TOOL_PRIVATE_KEY=")
	out := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	}()
	base := "http://" + addr
	cl := &http.Client{Timeout: 5 * time.Second}
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := cl.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
			break
		}
		select {
		case <-exited:
			t.Fatalf("the entry point exited: %s", out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no /healthz: %v\n%s", err, out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(cmd.Process.Pid) + "/cmdline")
	if err != nil {
		t.Fatal(err)
	}
	argv := strings.Split(strings.TrimRight(string(raw), "\x00"), "\x00")
	if len(argv) < 2 || argv[0] != bin || argv[1] != "editor" {
		t.Fatalf("pid %d is not the exec'd editor: %q", cmd.Process.Pid, argv)
	}
	if strings.Contains(string(raw), pw) {
		t.Fatalf("the password is in the editor's argv (visible in ps): %q", argv)
	}
	if c := basicStatus(t, base, pw); c != http.StatusOK {
		t.Fatalf("the password given to the entry point: %d", c)
	}
}
