package testenv

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// AzuriteVersion is the npm azurite version install.sh puts in the cache.
const AzuriteVersion = "3.37.0"

// Azurite's fixed development account.
const (
	AzuriteAccount = "devstoreaccount1"
	AzuriteKey     = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)

// AzureServer is a private Azurite blob service (http, path-style URLs,
// in-memory) with a container created.
type AzureServer struct {
	Host      string // 127.0.0.1
	Port      int
	Account   string // devstoreaccount1
	Key       string // base64 account key
	Container string // "quay", created
	BlobURL   string // http(s)://127.0.0.1:PORT/devstoreaccount1
	TLS       bool   // https with the test certificate ([AzuriteTLS])

	Dir string
}

var (
	sharedAzurite    = newShared[AzureServer]()
	sharedAzuriteTLS = newShared[AzureServer]()
)

// Azurite returns the shared private Azurite blob server (http), starting it
// if needed.
func Azurite(t testing.TB) *AzureServer {
	t.Helper()
	return sharedAzurite.get(t, "azurite", func(e *env) (*AzureServer, error) { return startAzurite(e, false) })
}

// AzuriteTLS is like [Azurite] but serves https with the test certificate
// (a separate instance).
func AzuriteTLS(t testing.TB) *AzureServer {
	t.Helper()
	return sharedAzuriteTLS.get(t, "azurite-tls", func(e *env) (*AzureServer, error) { return startAzurite(e, true) })
}

func startAzurite(e *env, useTLS bool) (*AzureServer, error) {
	bin := filepath.Join(CacheDir(), "azurite-"+AzuriteVersion, "node_modules", ".bin", "azurite-blob")
	if _, err := os.Stat(bin); err != nil {
		return nil, &missingError{what: "azurite " + AzuriteVersion + " (" + bin + ")"}
	}
	node, err := findBin("node")
	if err != nil {
		return nil, &missingError{what: "node (Node.js)"}
	}
	script, err := filepath.EvalSymlinks(bin)
	if err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	scheme := "http"
	args := []string{script,
		"--blobHost", "127.0.0.1",
		"--blobPort", strconv.Itoa(port),
		"--loose",
		"--skipApiVersionCheck",
		"--disableProductStyleUrl",
		"--inMemoryPersistence",
		"--disableTelemetry",
	}
	if useTLS {
		scheme = "https"
		args = append(args, "--cert", CA().ServerCertFile, "--key", CA().ServerKeyFile)
	}
	a := &AzureServer{
		Host: "127.0.0.1", Port: port, Account: AzuriteAccount, Key: AzuriteKey, TLS: useTLS,
		Container: "quay", BlobURL: fmt.Sprintf("%s://%s/%s", scheme, hostPort(port), AzuriteAccount), Dir: e.dir,
	}
	logPath := filepath.Join(e.dir, "azurite.log")
	p, err := startProc(e, "azurite", "", logPath, syscall.SIGTERM, nil, node, args...)
	if err != nil {
		return nil, err
	}
	if err := waitFor(p, "azurite", dialCheck(hostPort(port))); err != nil {
		return nil, err
	}
	if err := waitFor(p, "azurite container create", func() error {
		resp, err := a.Request(http.MethodPut, "/"+a.Container+"?restype=container", nil, a.Key)
		if err != nil {
			return err
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusConflict {
			return fmt.Errorf("create container: %s: %s", resp.Status, b)
		}
		return nil
	}); err != nil {
		return nil, err
	}
	return a, nil
}

// Request sends a blob REST request for pathAndQuery (relative to BlobURL,
// e.g. "/quay?restype=container") authorised with SharedKey using key.
func (a *AzureServer) Request(method, pathAndQuery string, body []byte, key string) (*http.Response, error) {
	req, err := http.NewRequest(method, a.BlobURL+pathAndQuery, strings.NewReader(string(body)))
	if err != nil {
		return nil, err
	}
	req.Header.Set("x-ms-date", time.Now().UTC().Format(http.TimeFormat))
	req.Header.Set("x-ms-version", "2021-12-02")
	if method == http.MethodPut && strings.Contains(pathAndQuery, "/") && !strings.Contains(pathAndQuery, "restype=") {
		req.Header.Set("x-ms-blob-type", "BlockBlob")
	}
	if err := signSharedKey(req, a.Account, key, int64(len(body))); err != nil {
		return nil, err
	}
	c := &http.Client{Timeout: 10 * time.Second}
	if a.TLS {
		c.Transport = &http.Transport{TLSClientConfig: CA().ClientTLSConfig()}
	}
	return c.Do(req)
}

// signSharedKey adds a SharedKey Authorization header (storage service
// version 2009-09-19 and later).
func signSharedKey(req *http.Request, account, key string, contentLength int64) error {
	k, err := base64.StdEncoding.DecodeString(key)
	if err != nil {
		return fmt.Errorf("account key: %w", err)
	}
	cl := ""
	if contentLength > 0 {
		cl = strconv.FormatInt(contentLength, 10)
	}
	h := req.Header
	var xms []string
	for name := range h {
		if ln := strings.ToLower(name); strings.HasPrefix(ln, "x-ms-") {
			xms = append(xms, ln)
		}
	}
	sort.Strings(xms)
	var canonHeaders strings.Builder
	for _, n := range xms {
		canonHeaders.WriteString(n + ":" + strings.TrimSpace(h.Get(n)) + "\n")
	}
	// Path-style (emulator) URLs: /account + the URL path, which itself
	// starts with /account.
	res := "/" + account + req.URL.EscapedPath()
	q := req.URL.Query()
	var qk []string
	for k := range q {
		qk = append(qk, strings.ToLower(k))
	}
	sort.Strings(qk)
	for _, k := range qk {
		vs := q[k]
		sort.Strings(vs)
		res += "\n" + k + ":" + strings.Join(vs, ",")
	}
	sts := strings.Join([]string{
		req.Method,
		h.Get("Content-Encoding"), h.Get("Content-Language"), cl, h.Get("Content-MD5"),
		h.Get("Content-Type"), "", h.Get("If-Modified-Since"), h.Get("If-Match"),
		h.Get("If-None-Match"), h.Get("If-Unmodified-Since"), h.Get("Range"),
	}, "\n") + "\n" + canonHeaders.String() + res
	m := hmac.New(sha256.New, k)
	m.Write([]byte(sts))
	req.Header.Set("Authorization", "SharedKey "+account+":"+base64.StdEncoding.EncodeToString(m.Sum(nil)))
	return nil
}
