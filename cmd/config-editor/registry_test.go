package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/crypto/bcrypt"

	"github.com/quay-tools/config-editor/internal/testenv"
)

// registryProc is a `config-editor registry` child process.
type registryProc struct {
	cmd  *exec.Cmd
	out  *lockedBuffer
	addr string // from its "listening on" line
	done chan int
}

// startRegistryProc runs the binary on the bundle and waits until it says
// where it listens, or exits. wantListen false waits for the exit only.
func startRegistryProc(t *testing.T, bin, dir string, env []string, wantListen bool, extra ...string) *registryProc {
	t.Helper()
	args := append([]string{"registry", "-c", dir, "--addr", "127.0.0.1:0", "--timeout", "3s", "--shutdown-timeout", "10s"}, extra...)
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	p := &registryProc{cmd: cmd, out: &lockedBuffer{}, done: make(chan int, 1)}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = p.out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	listening := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			_, _ = p.out.Write([]byte(line + "\n"))
			if rest, ok := strings.CutPrefix(line, "registry: listening on "); ok {
				listening <- strings.Fields(rest)[0]
			}
		}
	}()
	go func() {
		err := cmd.Wait()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			code = -1
		}
		p.done <- code
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
		}
	})
	if !wantListen {
		return p
	}
	select {
	case p.addr = <-listening:
	case code := <-p.done:
		p.done <- code
		t.Fatalf("registry exited %d before listening:\n%s", code, p.out.String())
	case <-time.After(60 * time.Second):
		t.Fatalf("registry did not listen within 60s:\n%s", p.out.String())
	}
	return p
}

// wait returns the exit code.
func (p *registryProc) wait(t *testing.T, within time.Duration) int {
	t.Helper()
	select {
	case code := <-p.done:
		return code
	case <-time.After(within):
		t.Fatalf("registry still running after %s:\n%s", within, p.out.String())
	}
	return -1
}

func (p *registryProc) stop(t *testing.T) int {
	t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	return p.wait(t, 30*time.Second)
}

func sha256Digest(b []byte) string {
	s := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(s[:])
}

// regHTTP is a minimal registry client that talks to one process; an
// upload Location is followed on that same process (as through a load
// balancer whose name is SERVER_HOSTNAME).
type regHTTP struct {
	t          *testing.T
	base       string
	user, pass string
}

func (c regHTTP) do(method, target string, body []byte, ctype string) (int, http.Header, []byte) {
	c.t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		c.t.Fatal(err)
	}
	req, err := http.NewRequest(method, c.base+u.RequestURI(), bytes.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if strings.Contains(u.Path, "/manifests/") {
		req.Header.Set("Accept", "application/vnd.oci.image.manifest.v1+json")
	}
	if c.user != "" {
		req.SetBasicAuth(c.user, c.pass)
	}
	res, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, target, err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header, data
}

// startUpload begins a blob upload and returns its Location.
func (c regHTTP) startUpload(repo string) string {
	c.t.Helper()
	code, h, body := c.do(http.MethodPost, "/v2/"+repo+"/blobs/uploads/", nil, "")
	if code != http.StatusAccepted {
		c.t.Fatalf("start upload: %d %s", code, body)
	}
	return h.Get("Location")
}

func (c regHTTP) finishUpload(loc string, data []byte) {
	c.t.Helper()
	sep := "?"
	if strings.Contains(loc, "?") {
		sep = "&"
	}
	code, _, body := c.do(http.MethodPut, loc+sep+"digest="+url.QueryEscape(sha256Digest(data)), data, "application/octet-stream")
	if code != http.StatusCreated {
		c.t.Fatalf("finish upload: %d %s", code, body)
	}
}

func (c regHTTP) pushImage(repo, tag string, layer []byte) []byte {
	c.t.Helper()
	config := []byte(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}`)
	for _, b := range [][]byte{config, layer} {
		c.finishUpload(c.startUpload(repo), b)
	}
	m, _ := json.Marshal(map[string]any{
		"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
		"config": map[string]any{"mediaType": "application/vnd.oci.image.config.v1+json", "digest": sha256Digest(config), "size": len(config)},
		"layers": []any{map[string]any{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": sha256Digest(layer), "size": len(layer)}},
	})
	code, _, body := c.do(http.MethodPut, "/v2/"+repo+"/manifests/"+tag, m, "application/vnd.oci.image.manifest.v1+json")
	if code != http.StatusCreated {
		c.t.Fatalf("push manifest: %d %s", code, body)
	}
	return m
}

// registryBundle writes a bundle for registry mode: LocalStorage under
// storageDir, htpasswd user alice (pw alice-pw, superuser), the test CA as
// an extra CA, and the services given.
func registryBundle(t *testing.T, storageDir, services string) string {
	t.Helper()
	hash, err := bcrypt.GenerateFromPassword([]byte("alice-pw"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf(`SERVER_HOSTNAME: localhost
PREFERRED_URL_SCHEME: http
SECRET_KEY: registry-test-secret
DATABASE_SECRET_KEY: registry-test-db-secret
SETUP_COMPLETE: true
SUPER_USERS: [alice]
DISTRIBUTED_STORAGE_CONFIG:
  local: [LocalStorage, {storage_path: %s}]
DISTRIBUTED_STORAGE_PREFERENCE: [local]
%s`, storageDir, services)
	dir := writeBundle(t, cfg)
	files := map[string][]byte{
		"registry.htpasswd":          []byte("alice:" + string(hash) + "\n"),
		"extra_ca_certs/test-ca.crt": testenv.CA().CAPEM,
	}
	for n, d := range files {
		p := filepath.Join(dir, n)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, d, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestRegistryMode runs `config-editor registry` for real: the start-up
// gate, IGNORE_VALIDATION, serving a valid bundle, SIGTERM, and two
// processes on one bundle.
func TestRegistryMode(t *testing.T) {
	bin := buildBinary(t)

	t.Run("gate refuses an unreachable database", func(t *testing.T) {
		dead := "DB_URI: postgresql://quay:pw@" + testenv.Blackhole(t) + "/quay\n" +
			"BUILDLOGS_REDIS: {host: 127.0.0.1, port: 1}\nUSER_EVENTS_REDIS: {host: 127.0.0.1, port: 1}\n"
		dir := registryBundle(t, t.TempDir(), dead)
		start := time.Now()
		p := startRegistryProc(t, bin, dir, []string{"IGNORE_VALIDATION="}, false)
		code := p.wait(t, 60*time.Second)
		out := p.out.String()
		if code != exitInvalid {
			t.Fatalf("exit %d, want %d:\n%s", code, exitInvalid, out)
		}
		for _, want := range []string{"SEVERITY", "Database", "DB_URI", "failed validation; not starting", "IGNORE_VALIDATION=true"} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
		}
		if strings.Contains(out, "listening on") {
			t.Error("it listened")
		}
		if took := time.Since(start); took > 30*time.Second {
			t.Errorf("the gate took %s: probes must run in parallel, bounded by --timeout", took)
		}

		t.Run("IGNORE_VALIDATION=true starts", func(t *testing.T) {
			p := startRegistryProc(t, bin, dir, []string{"IGNORE_VALIDATION=true"}, true)
			out := p.out.String()
			if !strings.Contains(out, "WITHOUT validating") || strings.Contains(out, "SEVERITY") {
				t.Errorf("no loud warning, or validation ran:\n%s", out)
			}
			code, _, body := regHTTP{t: t, base: "http://" + p.addr}.do(http.MethodGet, "/health/instance", nil, "")
			if code != http.StatusOK || !strings.Contains(string(body), `"status_code":200`) {
				t.Errorf("/health/instance: %d %s", code, body)
			}
			code, _, body = regHTTP{t: t, base: "http://" + p.addr}.do(http.MethodGet, "/health/endtoend", nil, "")
			if code != http.StatusServiceUnavailable || !strings.Contains(string(body), `"database":false`) {
				t.Errorf("/health/endtoend with a dead database: %d %s", code, body)
			}
			if code := p.stop(t); code != exitOK {
				t.Errorf("exit %d after SIGTERM:\n%s", code, p.out.String())
			}
		})
	})

	t.Run("serves a valid bundle; two processes share it", func(t *testing.T) {
		pg := testenv.Postgres(t)
		rd := testenv.Redis(t)
		services := fmt.Sprintf("DB_URI: %s\nBUILDLOGS_REDIS: {host: 127.0.0.1, port: %d, password: %s}\nUSER_EVENTS_REDIS: {host: 127.0.0.1, port: %d, password: %s}\n",
			pg.URI(pg.DB), rd.Port, rd.Password, rd.Port, rd.Password)
		dir := registryBundle(t, t.TempDir(), services)
		a := startRegistryProc(t, bin, dir, []string{"IGNORE_VALIDATION="}, true)
		b := startRegistryProc(t, bin, dir, []string{"IGNORE_VALIDATION="}, true)
		if !strings.Contains(a.out.String(), "bundle valid") {
			t.Errorf("the gate did not run:\n%s", a.out.String())
		}
		ca := regHTTP{t: t, base: "http://" + a.addr, user: "alice", pass: "alice-pw"}
		cb := regHTTP{t: t, base: "http://" + b.addr, user: "alice", pass: "alice-pw"}

		layer := make([]byte, 256<<10)
		_, _ = rand.Read(layer)
		manifest := ca.pushImage("alice/shared", "v1", layer)
		// pulled through the other process at once
		code, h, body := cb.do(http.MethodGet, "/v2/alice/shared/manifests/v1", nil, "")
		if code != http.StatusOK || !bytes.Equal(body, manifest) {
			t.Fatalf("manifest through B: %d %s", code, body)
		}
		if h.Get("Docker-Content-Digest") != sha256Digest(manifest) {
			t.Errorf("digest header %q", h.Get("Docker-Content-Digest"))
		}
		code, _, body = cb.do(http.MethodGet, "/v2/alice/shared/blobs/"+sha256Digest(layer), nil, "")
		if code != http.StatusOK || !bytes.Equal(body, layer) {
			t.Fatalf("layer through B: %d, %d bytes", code, len(body))
		}
		// an upload started on A is finished on B (same storage, and the
		// upload state is signed with the secret both derive from SECRET_KEY)
		blob := []byte("started on A, finished on B")
		cb.finishUpload(ca.startUpload("alice/shared"), blob)
		if code, _, got := ca.do(http.MethodGet, "/v2/alice/shared/blobs/"+sha256Digest(blob), nil, ""); code != http.StatusOK || !bytes.Equal(got, blob) {
			t.Errorf("blob finished on B, read on A: %d %q", code, got)
		}
		// health of a valid bundle
		code, _, body = ca.do(http.MethodGet, "/health/endtoend", nil, "")
		if code != http.StatusOK {
			t.Errorf("/health/endtoend: %d %s", code, body)
		}
		for _, p := range []*registryProc{a, b} {
			if code := p.stop(t); code != exitOK {
				t.Errorf("exit %d after SIGTERM:\n%s", code, p.out.String())
			}
			if out := p.out.String(); !strings.Contains(out, "registry stopped") || strings.Contains(out, "alice-pw") || strings.Contains(out, rd.Password) {
				t.Errorf("log lacks the stop, or leaks a secret:\n%s", out)
			}
		}
	})
}

var conformanceCountRE = regexp.MustCompile(`(?m)^\s*(Pass|FAIL|Error|Skip|Disabled)\.+:\s+(\d+)\s*$`)

// TestRegistryConformance runs the newest OCI distribution-spec conformance
// suite against the `config-editor registry` binary serving TLS from the
// bundle, with LocalStorage and with S3 (versitygw over https: the binary
// must trust the bundle's extra CA for it), through the online start-up
// gate, logged in as a superuser: with the suite's defaults (sha512
// included) and with OCI_DATA_SHA512=false. The third storage is two S3
// locations with FEATURE_STORAGE_REPLICATION on.
func TestRegistryConformance(t *testing.T) {
	if testing.Short() {
		t.Skip("the conformance suite takes a while; not with -short")
	}
	suite := testenv.OCIConformance(t)
	bin := buildBinary(t)
	pg := testenv.Postgres(t)
	rd := testenv.Redis(t)
	s3 := testenv.S3(t)
	ca := testenv.CA()
	storages := map[string]string{
		"LocalStorage": "",
		"S3": fmt.Sprintf("DISTRIBUTED_STORAGE_CONFIG:\n  s3: [S3Storage, {s3_bucket: %s, storage_path: /conformance, s3_access_key: %s, s3_secret_key: %s, s3_region: %s, endpoint_url: %s}]\nDISTRIBUTED_STORAGE_PREFERENCE: [s3]\n",
			s3.Bucket, s3.AccessKey, s3.SecretKey, s3.Region, s3.URL()),
	}
	for _, name := range []string{"LocalStorage", "S3", "S3 geo-replicated"} {
		t.Run(name, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			addr := ln.Addr().String()
			ln.Close()
			dbURI := pg.URI(pg.DB)
			var queue *pgxpool.Pool
			if name == "S3 geo-replicated" {
				// two S3 locations, replication on, the binary's workers
				// copying while the suite runs; the queue in its own database
				geoBucket(t, s3, "geo-a")
				geoBucket(t, s3, "geo-b")
				var uri string
				uri, queue = freshQueueDB(t)
				storages[name] = geoStorageYAML(s3, fmt.Sprintf("/conformance-geo%d", geoSeq.Add(1)), uri)
				dbURI = ""
			}
			services := fmt.Sprintf("BUILDLOGS_REDIS: {host: 127.0.0.1, port: %d, password: %s, db: 9}\nUSER_EVENTS_REDIS: {host: 127.0.0.1, port: %d, password: %s}\n",
				rd.Port, rd.Password, rd.Port, rd.Password)
			if dbURI != "" {
				services = "DB_URI: " + dbURI + "\n" + services
			}
			dir := registryBundle(t, t.TempDir(), services)
			cfg, err := os.ReadFile(filepath.Join(dir, "config.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			text := strings.Replace(string(cfg), "SERVER_HOSTNAME: localhost\nPREFERRED_URL_SCHEME: http\n", "SERVER_HOSTNAME: "+addr+"\nPREFERRED_URL_SCHEME: https\n", 1)
			if storages[name] != "" {
				i := strings.Index(text, "DISTRIBUTED_STORAGE_CONFIG:")
				j := strings.Index(text, "DISTRIBUTED_STORAGE_PREFERENCE: [local]\n")
				text = text[:i] + storages[name] + text[j+len("DISTRIBUTED_STORAGE_PREFERENCE: [local]\n"):]
			}
			for n, d := range map[string][]byte{"config.yaml": []byte(text), "ssl.cert": ca.ServerCertPEM, "ssl.key": ca.ServerKeyPEM} {
				if err := os.WriteFile(filepath.Join(dir, n), d, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			// the child knows the test CA only from the bundle
			p := startRegistryProc(t, bin, dir, []string{"IGNORE_VALIDATION="}, true, "--addr", addr)
			for _, env := range [][]string{nil, {"OCI_DATA_SHA512=false"}} {
				what := "defaults"
				if env != nil {
					what = env[0]
				}
				cmd := exec.Command(suite)
				cmd.Dir = t.TempDir()
				cmd.Env = append(os.Environ(), "OCI_REGISTRY="+addr, "OCI_TLS=enabled", "SSL_CERT_FILE="+ca.CAFile,
					"OCI_REPO1=conformance/repo1", "OCI_REPO2=conformance/repo2", "OCI_USERNAME=alice", "OCI_PASSWORD=alice-pw",
					"OCI_RESULTS_DIR="+t.TempDir(), "OCI_LOG=warn")
				cmd.Env = append(cmd.Env, env...)
				out, _ := cmd.CombinedOutput()
				counts := map[string]string{}
				for _, m := range conformanceCountRE.FindAllStringSubmatch(string(out), -1) {
					counts[m[1]] = m[2]
				}
				t.Logf("OCI conformance against the binary, %s, %s: Pass %s, FAIL %s, Error %s, Skip %s", name, what, counts["Pass"], counts["FAIL"], counts["Error"], counts["Skip"])
				if counts["FAIL"] != "0" || counts["Error"] != "0" || counts["Pass"] == "" || counts["Pass"] == "0" {
					t.Errorf("conformance %s (%s) failed:\n%s\nregistry log:\n%s", name, what, out, p.out.String())
				}
			}
			if queue != nil {
				// the workers copied blobs to b while the suite ran
				var done, failed int
				if err := queue.QueryRow(context.Background(), `SELECT count(*) FILTER (WHERE op = 'copy' AND state = 'done' AND last_error IS NULL),
					count(*) FILTER (WHERE state = 'failed') FROM `+geoQueueTable).Scan(&done, &failed); err != nil {
					t.Fatal(err)
				}
				t.Logf("replication during the suite: %d copies done, %d failed", done, failed)
				if done == 0 || failed != 0 {
					t.Errorf("replication during the suite: %d copies done, %d failed", done, failed)
				}
			}
			if code := p.stop(t); code != exitOK {
				t.Errorf("exit %d:\n%s", code, p.out.String())
			}
		})
	}
}
