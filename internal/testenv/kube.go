package testenv

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// KubeVersion is the kube-apiserver build install.sh puts in the cache
// (hack/kube holds the wrapper module that builds it).
const KubeVersion = "v1.36.3"

// Users of the test API server, authenticated by static bearer tokens.
// KubeAdmin is in group system:masters (RBAC is bypassed); the others
// belong to no group and can do nothing until a test binds a Role to them
// (see [KubeServer.Grant]).
const (
	KubeAdmin  = "admin"
	KubeEditor = "editor"
	KubeViewer = "viewer"
)

// KubeServer is a private Kubernetes API server (kube-apiserver backed by
// its own etcd) on 127.0.0.1, serving HTTPS with the test CA's server
// certificate, with static-token authentication and RBAC authorization.
// No controller-manager or scheduler runs: objects are stored and
// validated, nothing reconciles them (deleted namespaces stay Terminating;
// use a fresh [KubeServer.Namespace] per test).
type KubeServer struct {
	URL     string // https://127.0.0.1:PORT
	CAPEM   []byte // the test CA (the serving certificate is signed by it)
	Version string // gitVersion reported by /version, e.g. "v1.36.3"
	EtcdURL string // http://127.0.0.1:PORT

	Dir string

	tokens map[string]string
	client *http.Client
}

var sharedKube = newShared[KubeServer]()

// Kube returns the shared private Kubernetes API server, starting etcd and
// kube-apiserver if needed.
func Kube(t testing.TB) *KubeServer {
	t.Helper()
	if _, err := os.Stat(kubeAPIServerBin()); err != nil {
		fail(t, "kube", &missingError{what: "kube-apiserver " + KubeVersion + " (" + kubeAPIServerBin() + ")"})
	}
	return sharedKube.get(t, "kube", startKube)
}

// KubePrivate starts a private API server (its own etcd) for this test
// only, stopped when t ends; for tests that need a cluster in another
// state than the shared one (e.g. without a CRD).
func KubePrivate(t testing.TB) *KubeServer {
	t.Helper()
	if _, err := os.Stat(kubeAPIServerBin()); err != nil {
		fail(t, "kube", &missingError{what: "kube-apiserver " + KubeVersion + " (" + kubeAPIServerBin() + ")"})
	}
	k, e, err := startRetrying("kube", startKube)
	if err != nil {
		fail(t, "kube", err)
	}
	t.Cleanup(func() {
		e.stopAll()
		_ = os.RemoveAll(e.dir)
	})
	return k
}

// Kubectl returns the path of the kubectl (KubeVersion) install.sh builds
// into the cache, for tests of what users run (kubectl apply -k). When it
// is missing the test is skipped, or fails under CI=true.
func Kubectl(t testing.TB) string {
	t.Helper()
	p := filepath.Join(CacheDir(), "kubectl-"+KubeVersion, "bin", "kubectl")
	if _, err := os.Stat(p); err != nil {
		fail(t, "kubectl", &missingError{what: "kubectl " + KubeVersion + " (" + p + ")"})
	}
	return p
}

func kubeAPIServerBin() string {
	return filepath.Join(CacheDir(), "kube-apiserver-"+KubeVersion, "bin", "kube-apiserver")
}

func startKube(e *env) (*KubeServer, error) {
	apiBin := kubeAPIServerBin()
	if _, err := os.Stat(apiBin); err != nil {
		return nil, &missingError{what: "kube-apiserver " + KubeVersion + " (" + apiBin + ")"}
	}
	etcdBin, err := findBin("etcd", "/usr/bin/etcd")
	if err != nil {
		return nil, &missingError{what: "etcd (Debian package etcd-server)"}
	}
	ports, err := freePorts(4)
	if err != nil {
		return nil, err
	}
	ca := CA()
	k := &KubeServer{
		URL:     "https://" + hostPort(ports[3]),
		CAPEM:   ca.CAPEM,
		EtcdURL: "http://" + hostPort(ports[0]),
		Dir:     e.dir,
		client:  &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: ca.ClientTLSConfig()}},
		tokens: map[string]string{
			KubeAdmin:  randHex(16),
			KubeEditor: randHex(16),
			KubeViewer: randHex(16),
		},
	}

	// etcd first; it is stopped last (stop functions run in reverse), after
	// kube-apiserver: stopping both at once hangs the API server.
	peer := "http://" + hostPort(ports[1])
	etcdDir := filepath.Join(e.dir, "etcd")
	ep, err := startProc(e, "etcd", "", filepath.Join(e.dir, "etcd.log"), syscall.SIGTERM, nil, etcdBin,
		"--name", "t1",
		"--data-dir", etcdDir,
		"--listen-client-urls", k.EtcdURL,
		"--advertise-client-urls", k.EtcdURL,
		"--listen-peer-urls", peer,
		"--initial-advertise-peer-urls", peer,
		"--initial-cluster", "t1="+peer,
		"--listen-metrics-urls", "http://"+hostPort(ports[2]),
		"--log-level", "warn",
	)
	if err != nil {
		return nil, err
	}
	plain := &http.Client{Timeout: 2 * time.Second}
	if err := waitFor(ep, "etcd /health", func() error {
		resp, err := plain.Get(k.EtcdURL + "/health")
		if err != nil {
			return err
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !bytes.Contains(b, []byte(`"true"`)) {
			return fmt.Errorf("etcd /health: %s %s", resp.Status, b)
		}
		return nil
	}); err != nil {
		return nil, err
	}

	var tokens strings.Builder
	for _, u := range []string{KubeAdmin, KubeEditor, KubeViewer} {
		line := fmt.Sprintf("%s,%s,uid-%s", k.tokens[u], u, u)
		if u == KubeAdmin {
			line += `,"system:masters"`
		}
		tokens.WriteString(line + "\n")
	}
	tokenFile := filepath.Join(e.dir, "tokens.csv")
	if err := writeFile(tokenFile, []byte(tokens.String()), 0o600); err != nil {
		return nil, err
	}
	saKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	saKeyFile := filepath.Join(e.dir, "sa.key")
	if err := writeFile(saKeyFile, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(saKey)}), 0o600); err != nil {
		return nil, err
	}
	ap, err := startProc(e, "kube-apiserver", "", filepath.Join(e.dir, "kube-apiserver.log"), syscall.SIGTERM, nil, apiBin,
		"--etcd-servers", k.EtcdURL,
		"--bind-address", "127.0.0.1",
		"--advertise-address", "127.0.0.1",
		"--secure-port", strconv.Itoa(ports[3]),
		"--tls-cert-file", ca.ServerCertFile,
		"--tls-private-key-file", ca.ServerKeyFile,
		"--cert-dir", filepath.Join(e.dir, "certs"),
		"--token-auth-file", tokenFile,
		"--authorization-mode", "RBAC",
		"--service-account-issuer", "https://kubernetes.default.svc",
		"--service-account-key-file", saKeyFile,
		"--service-account-signing-key-file", saKeyFile,
		"--service-cluster-ip-range", "10.0.0.0/24",
		"--endpoint-reconciler-type", "none",
		"--disable-admission-plugins", "ServiceAccount",
		"--profiling=false",
		"--v", "1",
	)
	if err != nil {
		return nil, err
	}
	if err := waitFor(ap, "kube-apiserver /readyz", func() error {
		_, err := k.get(KubeAdmin, "/readyz")
		return err
	}); err != nil {
		return nil, err
	}
	b, err := k.get(KubeAdmin, "/version")
	if err != nil {
		return nil, err
	}
	var v struct {
		GitVersion string `json:"gitVersion"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, fmt.Errorf("kube-apiserver /version: %v: %s", err, b)
	}
	k.Version = v.GitVersion
	return k, nil
}

// Token returns the bearer token of a user (KubeAdmin, KubeEditor,
// KubeViewer).
func (k *KubeServer) Token(user string) string {
	tok, ok := k.tokens[user]
	if !ok {
		panic("testenv: unknown kube user " + user)
	}
	return tok
}

// Kubeconfig returns a kubeconfig document with one cluster ("test"), one
// user and context per known user (context name = user name), and user's
// context current, defaulting to namespace (may be empty).
func (k *KubeServer) Kubeconfig(user, namespace string) []byte {
	k.Token(user) // panics on an unknown user
	var b strings.Builder
	b.WriteString("apiVersion: v1\nkind: Config\nclusters:\n")
	fmt.Fprintf(&b, "- name: test\n  cluster:\n    server: %s\n    certificate-authority-data: %s\n",
		k.URL, base64.StdEncoding.EncodeToString(k.CAPEM))
	b.WriteString("users:\n")
	names := []string{KubeAdmin, KubeEditor, KubeViewer}
	for _, u := range names {
		fmt.Fprintf(&b, "- name: %s\n  user:\n    token: %s\n", u, k.tokens[u])
	}
	b.WriteString("contexts:\n")
	for _, u := range names {
		fmt.Fprintf(&b, "- name: %s\n  context:\n    cluster: test\n    user: %s\n", u, u)
		if namespace != "" {
			fmt.Fprintf(&b, "    namespace: %s\n", namespace)
		}
	}
	fmt.Fprintf(&b, "current-context: %s\n", user)
	return []byte(b.String())
}

// KubeconfigFile writes Kubeconfig(user, namespace) to a file removed when
// t ends and returns its path.
func (k *KubeServer) KubeconfigFile(t testing.TB, user, namespace string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "kubeconfig")
	if err := writeFile(p, k.Kubeconfig(user, namespace), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

var nsUnsafe = regexp.MustCompile(`[^a-z0-9-]+`)

// Namespace creates a fresh namespace named after the test and returns its
// name. It is deleted when t ends (without a controller-manager it stays
// Terminating; names never repeat).
func (k *KubeServer) Namespace(t testing.TB) string {
	t.Helper()
	base := nsUnsafe.ReplaceAllString(strings.ToLower(t.Name()), "-")
	base = strings.Trim(base, "-")
	if len(base) > 40 {
		base = strings.Trim(base[:40], "-")
	}
	name := base + "-" + randHex(3)
	body := fmt.Sprintf(`{"apiVersion":"v1","kind":"Namespace","metadata":{"name":%q}}`, name)
	if _, err := k.Do(KubeAdmin, http.MethodPost, "/api/v1/namespaces", []byte(body)); err != nil {
		t.Fatalf("testenv: create namespace %s: %v", name, err)
	}
	t.Cleanup(func() { _, _ = k.Do(KubeAdmin, http.MethodDelete, "/api/v1/namespaces/"+name, nil) })
	return name
}

// Grant gives user (KubeEditor, KubeViewer) the rules of a new Role in
// namespace, bound by a RoleBinding. rulesJSON is the JSON array of
// PolicyRules, e.g. `[{"apiGroups":[""],"resources":["secrets"],"verbs":["get"]}]`.
func (k *KubeServer) Grant(t testing.TB, namespace, user, rulesJSON string) {
	t.Helper()
	name := "grant-" + user + "-" + randHex(3)
	role := fmt.Sprintf(`{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"Role","metadata":{"name":%q,"namespace":%q},"rules":%s}`,
		name, namespace, rulesJSON)
	if _, err := k.Do(KubeAdmin, http.MethodPost, "/apis/rbac.authorization.k8s.io/v1/namespaces/"+namespace+"/roles", []byte(role)); err != nil {
		t.Fatalf("testenv: create role: %v", err)
	}
	rb := fmt.Sprintf(`{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"RoleBinding","metadata":{"name":%q,"namespace":%q},`+
		`"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"Role","name":%q},`+
		`"subjects":[{"apiGroup":"rbac.authorization.k8s.io","kind":"User","name":%q}]}`, name, namespace, name, user)
	if _, err := k.Do(KubeAdmin, http.MethodPost, "/apis/rbac.authorization.k8s.io/v1/namespaces/"+namespace+"/rolebindings", []byte(rb)); err != nil {
		t.Fatalf("testenv: create rolebinding: %v", err)
	}
}

// Do sends one JSON request as user and returns the body of a 2xx answer;
// other statuses are errors carrying the body.
func (k *KubeServer) Do(user, method, path string, body []byte) ([]byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, k.URL+path, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+k.Token(user))
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := k.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 != 2 {
		return b, fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, bytes.TrimSpace(b))
	}
	return b, nil
}

func (k *KubeServer) get(user, path string) ([]byte, error) {
	return k.Do(user, http.MethodGet, path, nil)
}
