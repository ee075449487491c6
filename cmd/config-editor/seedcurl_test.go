package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quay-tools/config-editor/internal/testenv"
)

// TestSeedCurlExample runs the download command of the Quay docs (seed 004
// §5.3) verbatim, with real curl, against the container form of the editor
// serving TLS from CONFIG_TOOL_PUBLIC_KEY/CONFIG_TOOL_PRIVATE_KEY.
func TestSeedCurlExample(t *testing.T) {
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Fatal("curl is not installed; the README's examples need it")
	}
	pki := testenv.CA()
	t.Setenv("CONFIG_TOOL_PUBLIC_KEY", pki.ServerCertFile)
	t.Setenv("CONFIG_TOOL_PRIVATE_KEY", pki.ServerKeyFile)
	t.Setenv("CONFIG_EDITOR_PASSWORD", "")

	dir := writeBundle(t, validConfig)
	if err := os.MkdirAll(filepath.Join(dir, "extra_ca_certs"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "extra_ca_certs", "service-ca.crt"), pki.CAPEM, 0o600); err != nil {
		t.Fatal(err)
	}

	addr := freePort(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	logs := &lockedBuffer{}
	go func() {
		done <- run(ctx, []string{"config", "JFpBEJMCtkPTfjxt", "--addr", addr, "-c", dir}, io.Discard, logs)
	}()
	defer func() {
		cancel()
		<-done
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("editor did not listen: %s", logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	_, port, _ := net.SplitHostPort(addr)

	// the docs' command, with the host replaced
	out, err := exec.Command(curl, "-s", "-k", "-u", "quayconfig:JFpBEJMCtkPTfjxt", "https://localhost:"+port+"/api/v1/config").Output()
	if err != nil {
		t.Fatalf("curl: %v\n%s\n%s", err, out, logs.String())
	}
	var resp struct {
		Config map[string]any    `json:"config.yaml"`
		Certs  map[string]string `json:"certs"`
	}
	if err := json.Unmarshal(out, &resp); err != nil {
		t.Fatalf("not the ConfigBundle JSON (%v): %.300s", err, out)
	}
	if resp.Config["SERVER_HOSTNAME"] != "quay.example.com" || resp.Config["AUTHENTICATION_TYPE"] != "Database" {
		t.Errorf("config.yaml: SERVER_HOSTNAME %v, AUTHENTICATION_TYPE (a default) %v", resp.Config["SERVER_HOSTNAME"], resp.Config["AUTHENTICATION_TYPE"])
	}
	ca, err := base64.StdEncoding.DecodeString(resp.Certs["extra_ca_certs/service-ca.crt"])
	if err != nil || string(ca) != string(pki.CAPEM) {
		t.Errorf("certs[extra_ca_certs/service-ca.crt] is not the bundle's CA (%v)", err)
	}

	// the wrong password is refused, over the same TLS listener
	out, _ = exec.Command(curl, "-s", "-k", "-o", "/dev/null", "-w", "%{http_code}", "-u", "quayconfig:wrong", "https://localhost:"+port+"/api/v1/config").Output()
	if strings.TrimSpace(string(out)) != "401" {
		t.Errorf("wrong password: HTTP %s, want 401", out)
	}
	// and plain HTTP is not served on the TLS port
	out, _ = exec.Command(curl, "-s", "-o", "/dev/null", "-w", "%{http_code}", "-u", "quayconfig:JFpBEJMCtkPTfjxt", "http://localhost:"+port+"/api/v1/config").Output()
	if s := strings.TrimSpace(string(out)); s == "200" {
		t.Errorf("plain HTTP answered 200 on the TLS listener")
	}
}
