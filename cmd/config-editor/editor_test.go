package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
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
		})
	}
}
