package registry

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quay-tools/config-editor/internal/testenv"
)

// Real clients against the registry: crane (go-containerregistry) and
// skopeo (containers/image), over TLS with the bundle's certificate,
// logging in with HTTP Basic.

type craneCLI struct {
	t   *testing.T
	bin string
	env []string
}

func newCrane(t *testing.T) *craneCLI {
	return &craneCLI{t: t, bin: testenv.Crane(t), env: []string{
		"DOCKER_CONFIG=" + t.TempDir(), // its own credential store
		"SSL_CERT_FILE=" + testCAFile,  // trusts the test CA
		"HOME=" + t.TempDir(),
	}}
}

// run returns the output and whether crane succeeded.
func (c *craneCLI) run(args ...string) (string, bool) {
	c.t.Helper()
	cmd := exec.Command(c.bin, args...)
	cmd.Env = append(os.Environ(), c.env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return out.String(), err == nil
	case <-time.After(2 * time.Minute):
		_ = cmd.Process.Kill()
		c.t.Fatalf("crane %v hung:\n%s", args, out.String())
	}
	return "", false
}

func (c *craneCLI) must(args ...string) string {
	c.t.Helper()
	out, ok := c.run(args...)
	if !ok {
		c.t.Fatalf("crane %s failed:\n%s", strings.Join(args, " "), out)
	}
	return out
}

type skopeoCLI struct {
	t       *testing.T
	bin     string
	certDir string
	env     []string
}

func newSkopeo(t *testing.T) *skopeoCLI {
	certDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(certDir, "ca.crt"), testenv.CA().CAPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	home := t.TempDir()
	return &skopeoCLI{t: t, bin: testenv.Skopeo(t), certDir: certDir, env: []string{
		"HOME=" + home, "XDG_RUNTIME_DIR=" + home, "REGISTRY_AUTH_FILE=" + filepath.Join(home, "auth.json"),
	}}
}

func (s *skopeoCLI) run(args ...string) (string, bool) {
	s.t.Helper()
	cmd := exec.Command(s.bin, append([]string{"--insecure-policy"}, args...)...)
	cmd.Env = append(os.Environ(), s.env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return out.String(), err == nil
	case <-time.After(2 * time.Minute):
		_ = cmd.Process.Kill()
		s.t.Fatalf("skopeo %v hung:\n%s", args, out.String())
	}
	return "", false
}

func (s *skopeoCLI) must(args ...string) string {
	s.t.Helper()
	out, ok := s.run(args...)
	if !ok {
		s.t.Fatalf("skopeo %s failed:\n%s", strings.Join(args, " "), out)
	}
	return out
}

func hostOf(tr *testRegistry) string {
	return strings.TrimPrefix(strings.TrimPrefix(tr.base, "https://"), "http://")
}

// clientRoundTrip pushes with crane as pusher, pulls with crane and
// skopeo, and checks the bytes. user/pass log in; pullUser "" pulls
// anonymously.
func clientRoundTrip(t *testing.T, reg *testRegistry, repo, user, pass string, anonymousPull bool) {
	host := hostOf(reg)
	img := newTestImage(t, 200<<10)
	layout := t.TempDir()
	img.writeLayout(t, layout, "v1")

	anonCrane := newCrane(t)
	if out, ok := anonCrane.run("push", layout, host+"/"+repo+":anon"); ok || !strings.Contains(out, "401 Unauthorized") && !strings.Contains(out, "UNAUTHORIZED") {
		t.Errorf("anonymous crane push was not refused with UNAUTHORIZED:\n%s", out)
	}

	// crane auth login only stores the credentials; a push tells
	wrong := newCrane(t)
	wrong.must("auth", "login", host, "-u", user, "-p", pass+"-wrong")
	if out, ok := wrong.run("push", layout, host+"/"+repo+":wrong"); ok || !strings.Contains(out, "401 Unauthorized") {
		t.Errorf("crane push with a wrong password was not refused with UNAUTHORIZED:\n%s", out)
	}
	crane := newCrane(t)
	crane.must("auth", "login", host, "-u", user, "-p", pass)
	crane.must("push", layout, host+"/"+repo+":v1")
	if got := crane.must("manifest", host+"/"+repo+":v1"); got != string(img.manifest) {
		t.Errorf("crane manifest differs:\n%s\nwant\n%s", got, img.manifest)
	}
	if got := strings.TrimSpace(crane.must("digest", host+"/"+repo+":v1")); got != digestOf(img.manifest) {
		t.Errorf("crane digest %s, want %s", got, digestOf(img.manifest))
	}
	if got := crane.must("blob", host+"/"+repo+"@"+digestOf(img.layer)); got != string(img.layer) {
		t.Errorf("crane blob: %d bytes differ from the %d pushed", len(got), len(img.layer))
	}

	// skopeo pushes a second tag and pulls it into a layout
	sk := newSkopeo(t)
	creds := user + ":" + pass
	sk.must("copy", "--dest-creds", creds, "--dest-cert-dir", sk.certDir, "oci:"+layout+":v1", "docker://"+host+"/"+repo+":v2")
	if out, ok := sk.run("copy", "--dest-no-creds", "--dest-cert-dir", sk.certDir, "oci:"+layout+":v1", "docker://"+host+"/"+repo+":anon"); ok {
		t.Errorf("anonymous skopeo push succeeded:\n%s", out)
	}
	pullArgs := []string{"--src-cert-dir", sk.certDir}
	inspectArgs := []string{"--cert-dir", sk.certDir}
	if anonymousPull {
		pullArgs = append(pullArgs, "--src-no-creds")
		inspectArgs = append(inspectArgs, "--no-creds")
	} else {
		pullArgs = append(pullArgs, "--src-creds", creds)
		inspectArgs = append(inspectArgs, "--creds", creds)
		// and anonymous pulls are refused
		if out, ok := sk.run("inspect", "--raw", "--no-creds", "--cert-dir", sk.certDir, "docker://"+host+"/"+repo+":v2"); ok {
			t.Errorf("anonymous skopeo pull succeeded with FEATURE_ANONYMOUS_ACCESS off:\n%s", out)
		}
		if out, ok := newCrane(t).run("manifest", host+"/"+repo+":v1"); ok {
			t.Errorf("anonymous crane pull succeeded with FEATURE_ANONYMOUS_ACCESS off:\n%s", out)
		}
	}
	raw := sk.must(append(append([]string{"inspect", "--raw"}, inspectArgs...), "docker://"+host+"/"+repo+":v2")...)
	if raw != string(img.manifest) {
		t.Errorf("skopeo inspect --raw differs:\n%s", raw)
	}
	out := t.TempDir()
	sk.must(append(append([]string{"copy"}, pullArgs...), "docker://"+host+"/"+repo+":v2", "oci:"+out+":pulled")...)
	if got := layoutLayer(t, out); !bytes.Equal(got, img.layer) {
		t.Errorf("skopeo pulled a layer of %d bytes that differs from the %d pushed", len(got), len(img.layer))
	}
	if anonymousPull {
		if got := newCrane(t).must("manifest", host+"/"+repo+":v1"); got != string(img.manifest) {
			t.Errorf("anonymous crane pull differs")
		}
	}
}

func TestClientsHtpasswdTLS(t *testing.T) {
	for _, anon := range []bool{true, false} {
		t.Run(fmt.Sprintf("anonymous pull %v", anon), func(t *testing.T) {
			reg := startRegistry(t, regSetup{
				tls:    true,
				config: fmt.Sprintf("FEATURE_ANONYMOUS_ACCESS: %v\n", anon),
				files:  htpasswdFiles(t, "alice", "alice-secret"),
			})
			clientRoundTrip(t, reg, "alice/app", "alice", "alice-secret", anon)
		})
	}
}

func TestClientsLDAP(t *testing.T) {
	l := testenv.LDAP(t)
	alice, bob := l.Users[0], l.Users[1]
	reg := startRegistry(t, regSetup{
		tls: true,
		config: fmt.Sprintf(`AUTHENTICATION_TYPE: LDAP
LDAP_URI: %s
LDAP_ADMIN_DN: %s
LDAP_ADMIN_PASSWD: %s
LDAP_BASE_DN: [dc=example, dc=org]
LDAP_USER_RDN: [ou=users]
LDAP_UID_ATTR: uid
FEATURE_ANONYMOUS_ACCESS: false
SUPER_USERS: [%s]
`, l.LDAPSURI, l.AdminDN, l.AdminPassword, bob.UID),
		files: map[string][]byte{"ldap.crt": testenv.CA().CAPEM},
	})
	clientRoundTrip(t, reg, alice.UID+"/app", alice.UID, alice.Password, false)

	c := reg.client
	// bob (a superuser) may push anywhere and delete; alice may not delete
	img := newTestImage(t, 1024)
	wantCode(t, "bob pushes into library/", c.as(bob.UID, bob.Password).push("library/x", "1", img), http.StatusCreated)
	mpath := "/v2/library/x/manifests/" + digestOf(img.manifest)
	wantCode(t, "alice deletes", c.as(alice.UID, alice.Password).do(http.MethodDelete, mpath, nil, nil), http.StatusForbidden)
	wantCode(t, "bob deletes", c.as(bob.UID, bob.Password).do(http.MethodDelete, mpath, nil, nil), http.StatusAccepted)
	// someone's password does not open another's account
	wantCode(t, "alice with bob's password", c.as(alice.UID, bob.Password).do(http.MethodGet, "/v2/", nil, nil), http.StatusUnauthorized)
	// no unauthenticated bind: an empty password is refused
	wantCode(t, "empty password", c.as(alice.UID, "").do(http.MethodGet, "/v2/", nil, nil), http.StatusUnauthorized)
	// a filter-injection attempt finds nobody
	wantCode(t, "wildcard user", c.as("*", alice.Password).do(http.MethodGet, "/v2/", nil, nil), http.StatusUnauthorized)

	code, hb := healthOf(t, c, "/health/endtoend")
	if !hb.Data.Services["auth"] {
		t.Errorf("endtoend auth false with a working LDAP: %d %+v", code, hb)
	}
}

// An LDAP server that does not answer: logins get 503, not 401, and do not
// count as failed logins.
func TestLDAPDownIsUnavailable(t *testing.T) {
	reg := startRegistry(t, regSetup{config: fmt.Sprintf(`AUTHENTICATION_TYPE: LDAP
LDAP_URI: ldap://%s
LDAP_ADMIN_DN: cn=admin,dc=example,dc=org
LDAP_ADMIN_PASSWD: x
LDAP_BASE_DN: [dc=example, dc=org]
`, testenv.Blackhole(t))})
	reg.srv.auth.ldapTimeout = time.Second
	r := reg.client.as("alice", "pw").do(http.MethodGet, "/v2/", nil, nil)
	wantCode(t, "login while LDAP hangs", r, http.StatusServiceUnavailable)
	if !strings.Contains(string(r.body), "UNAVAILABLE") {
		t.Errorf("body %s", r.body)
	}
	if w := reg.srv.auth.limiter.wait("127.0.0.1"); w != 0 || len(reg.srv.auth.limiter.fails) != 0 {
		t.Error("an unavailable LDAP counted as a failed login")
	}
}

func TestClientsS3Storage(t *testing.T) {
	s3 := testenv.S3(t)
	for _, proxy := range []bool{false, true} {
		t.Run(fmt.Sprintf("FEATURE_PROXY_STORAGE %v", proxy), func(t *testing.T) {
			prefix := fmt.Sprintf("/quay-proxy-%v", proxy)
			reg := startRegistry(t, regSetup{
				tls: true,
				storage: fmt.Sprintf(`DISTRIBUTED_STORAGE_CONFIG:
  s3:
  - S3Storage
  - s3_bucket: %s
    storage_path: %s
    s3_access_key: %s
    s3_secret_key: %s
    s3_region: %s
    endpoint_url: %s
DISTRIBUTED_STORAGE_PREFERENCE: [s3]
FEATURE_PROXY_STORAGE: %v
`, s3.Bucket, prefix, s3.AccessKey, s3.SecretKey, s3.Region, s3.URL(), proxy),
				files: htpasswdFiles(t, "alice", "pw"),
			})
			clientRoundTrip(t, reg, "alice/s3", "alice", "pw", true)
			img := newTestImage(t, 4096)
			c := reg.client.as("alice", "pw")
			wantCode(t, "push", c.push("alice/redir", "t", img), http.StatusCreated)
			r := c.do(http.MethodGet, "/v2/alice/redir/blobs/"+digestOf(img.layer), nil, nil)
			if proxy {
				wantCode(t, "blob GET, proxied", r, http.StatusOK)
				if !bytes.Equal(r.body, img.layer) {
					t.Error("proxied blob differs")
				}
			} else {
				wantCode(t, "blob GET, redirected to the bucket", r, http.StatusTemporaryRedirect)
				if loc := r.header.Get("Location"); !strings.HasPrefix(loc, s3.URL()+"/"+s3.Bucket+prefix+"/docker/registry/v2/blobs/") {
					t.Errorf("redirect to %q", loc)
				}
			}
			// the data is in the bucket, under storage_path
			res, err := s3.Request(http.MethodGet, "/"+s3.Bucket+prefix+"/docker/registry/v2/blobs/sha256/"+digestOf(img.layer)[7:9]+"/"+digestOf(img.layer)[7:]+"/data", nil, s3.SecretKey)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != http.StatusOK {
				t.Errorf("blob not in the bucket under storage_path: %s", res.Status)
			}
			code, hb := healthOf(t, reg.client, "/health/instance")
			if code != http.StatusOK || !hb.Data.Services["storage"] {
				t.Errorf("instance health on S3: %d %+v", code, hb)
			}
		})
	}
}

// layoutLayer reads the (only) layer of the (only) image of an OCI layout,
// uncompressed.
func layoutLayer(t *testing.T, dir string) []byte {
	t.Helper()
	blob := func(d string) []byte {
		data, err := os.ReadFile(filepath.Join(dir, "blobs", "sha256", strings.TrimPrefix(d, "sha256:")))
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	var index struct {
		Manifests []struct{ Digest string } `json:"manifests"`
	}
	var manifest struct {
		Layers []struct{ Digest, MediaType string } `json:"layers"`
	}
	idx, err := os.ReadFile(filepath.Join(dir, "index.json"))
	if err != nil || json.Unmarshal(idx, &index) != nil || len(index.Manifests) != 1 {
		t.Fatalf("index.json: %v %s", err, idx)
	}
	if err := json.Unmarshal(blob(index.Manifests[0].Digest), &manifest); err != nil || len(manifest.Layers) != 1 {
		t.Fatalf("manifest: %v", err)
	}
	data := blob(manifest.Layers[0].Digest)
	if strings.HasSuffix(manifest.Layers[0].MediaType, "gzip") {
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		if data, err = io.ReadAll(zr); err != nil {
			t.Fatal(err)
		}
	}
	return data
}

// AzureStorage through Azurite over https (shared key, endpoint_url; blobs
// handed out as signed URLs), and the blob
// cache in a Redis reached over TLS with a password.
func TestAzureStorageAndRedisTLS(t *testing.T) {
	az := testenv.AzuriteTLS(t) // https: the signed URLs say so
	rd := testenv.Redis(t)
	reg := startRegistry(t, regSetup{
		storage: fmt.Sprintf(`DISTRIBUTED_STORAGE_CONFIG:
  azure:
  - AzureStorage
  - {azure_container: %s, storage_path: /registry, azure_account_name: %s, azure_account_key: %s, endpoint_url: %s}
DISTRIBUTED_STORAGE_PREFERENCE: [azure]
`, az.Container, az.Account, az.Key, az.BlobURL),
		config: fmt.Sprintf("BUILDLOGS_REDIS: {host: 127.0.0.1, port: %d, password: %s, ssl: true, db: 7}\n", rd.TLSPort, rd.Password),
		files:  htpasswdFiles(t, "alice", "pw"),
	})
	img := newTestImage(t, 300<<10)
	c := reg.client.as("alice", "pw")
	wantCode(t, "push", c.push("alice/az", "v1", img), http.StatusCreated)
	// blobs are handed out as signed Azure URLs
	r := c.pull("alice/az", "v1", img)
	wantCode(t, "pull", r, http.StatusTemporaryRedirect)
	loc := r.header.Get("Location")
	if !strings.HasPrefix(loc, az.BlobURL+"/"+az.Container+"/registry/") || !strings.Contains(loc, "sig=") {
		t.Fatalf("redirect to %q", loc)
	}
	res, err := http.Get(loc)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || !bytes.Equal(got, img.layer) {
		t.Errorf("signed URL: %s, %d bytes", res.Status, len(got))
	}
	// the layer is in the container under storage_path
	res, err = az.Request(http.MethodGet, "/"+az.Container+"/registry/docker/registry/v2/blobs/sha256/"+digestOf(img.layer)[7:9]+"/"+digestOf(img.layer)[7:]+"/data", nil, az.Key)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Errorf("layer not in the container: %s", res.Status)
	}
	if n := redisKeysOver(t, true, rd.TLSAddr(), rd.Password, 7, "*"+digestOf(img.layer)+"*"); n == 0 {
		t.Error("no blob descriptor in the TLS Redis")
	}
	code, hb := healthOf(t, reg.client, "/health/endtoend")
	if !hb.Data.Services["storage"] || !hb.Data.Services["redis"] {
		t.Errorf("endtoend: %d %+v", code, hb)
	}
}

// Two registry processes on one bundle with S3 storage: an upload started
// on one is finished on the other (the upload state is signed with the
// secret both derive from SECRET_KEY; the data is in the bucket).
func TestUploadAcrossReplicasS3(t *testing.T) {
	s3 := testenv.S3(t)
	storage := fmt.Sprintf("DISTRIBUTED_STORAGE_CONFIG:\n  s3: [S3Storage, {s3_bucket: %s, storage_path: /replicas, s3_access_key: %s, s3_secret_key: %s, s3_region: %s, endpoint_url: %s}]\nDISTRIBUTED_STORAGE_PREFERENCE: [s3]\nFEATURE_PROXY_STORAGE: true\n",
		s3.Bucket, s3.AccessKey, s3.SecretKey, s3.Region, s3.URL())
	files := htpasswdFiles(t, "alice", "pw")
	a := startRegistry(t, regSetup{storage: storage, files: files})
	b := startRegistry(t, regSetup{storage: storage, files: files})
	ca, cb := a.client.as("alice", "pw"), b.client.as("alice", "pw")

	part1 := bytes.Repeat([]byte("first half "), 100_000) // ~1.1 MB, under S3's 5 MB part minimum
	part2 := bytes.Repeat([]byte("second half "), 100_000)
	whole := append(append([]byte{}, part1...), part2...)
	r := ca.do(http.MethodPost, "/v2/alice/up/blobs/uploads/", nil, nil)
	wantCode(t, "start on A", r, http.StatusAccepted)
	r = ca.do(http.MethodPatch, ca.location(r), bytes.NewReader(part1), map[string]string{"Content-Type": "application/octet-stream"})
	wantCode(t, "first chunk on A", r, http.StatusAccepted)
	// the same upload, continued through B
	u, err := url.Parse(ca.location(r))
	if err != nil {
		t.Fatal(err)
	}
	onB := b.base + u.RequestURI()
	r = cb.do(http.MethodPut, onB+"&digest="+url.QueryEscape(digestOf(whole)), bytes.NewReader(part2), map[string]string{"Content-Type": "application/octet-stream"})
	wantCode(t, "last chunk and finish on B", r, http.StatusCreated)
	r = ca.do(http.MethodGet, "/v2/alice/up/blobs/"+digestOf(whole), nil, nil)
	wantCode(t, "read on A", r, http.StatusOK)
	if !bytes.Equal(r.body, whole) {
		t.Errorf("blob read on A: %d bytes, want %d", len(r.body), len(whole))
	}

	// a replica with another SECRET_KEY cannot take the upload over
	other := startRegistry(t, regSetup{storage: storage, files: files, secretKey: "another-secret-key"})
	r = ca.do(http.MethodPost, "/v2/alice/up/blobs/uploads/", nil, nil)
	wantCode(t, "start on A", r, http.StatusAccepted)
	u, _ = url.Parse(ca.location(r))
	r = other.client.as("alice", "pw").do(http.MethodPut, other.base+u.RequestURI()+"&digest="+url.QueryEscape(digestOf(part1)), bytes.NewReader(part1), nil)
	if r.code < 400 || r.code >= 500 {
		t.Errorf("a replica with another secret finished the upload: %s", r)
	}
}
