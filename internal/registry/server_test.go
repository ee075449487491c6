package registry

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/distribution/distribution/v3/registry/auth"

	"github.com/quay-tools/config-editor/internal/testenv"
)

func htpasswdFiles(t testing.TB, users ...string) map[string][]byte {
	var lines []string
	for i := 0; i+1 < len(users); i += 2 {
		lines = append(lines, htpasswdLine(t, users[i], users[i+1]))
	}
	return map[string][]byte{HtpasswdFile: []byte(strings.Join(lines, "\n") + "\n")}
}

func wantCode(t testing.TB, what string, r resp, code int) {
	t.Helper()
	if r.code != code {
		t.Fatalf("%s: %s, want %d", what, r, code)
	}
}

func TestPushPullPermissions(t *testing.T) {
	reg := startRegistry(t, regSetup{
		config: "SUPER_USERS: [admin]\nFEATURE_ANONYMOUS_ACCESS: true\n",
		files:  htpasswdFiles(t, "alice", "alice-pw", "admin", "admin-pw", "bob", "bob-pw"),
	})
	anon := reg.client
	alice := anon.as("alice", "alice-pw")
	admin := anon.as("admin", "admin-pw")
	img := newTestImage(t, 64<<10)

	// /v2/ asks anonymous clients to log in even with anonymous pulls on,
	// so clients that hold credentials use them
	wantCode(t, "anonymous base", anon.do(http.MethodGet, "/v2/", nil, nil), http.StatusUnauthorized)
	wantCode(t, "alice base", alice.do(http.MethodGet, "/v2/", nil, nil), http.StatusOK)
	r := anon.pushBlob("alice/app", img.layer)
	wantCode(t, "anonymous push", r, http.StatusUnauthorized)
	if got := r.header.Get("WWW-Authenticate"); !strings.HasPrefix(got, "Basic realm=") {
		t.Errorf("challenge %q", got)
	}
	wantCode(t, "alice pushes to her namespace", alice.push("alice/app", "v1", img), http.StatusCreated)
	r = alice.pushBlob("bob/app", img.layer)
	wantCode(t, "alice pushes to bob's namespace", r, http.StatusForbidden)
	if !strings.Contains(string(r.body), "DENIED") || r.header.Get("WWW-Authenticate") != "" {
		t.Errorf("denied answer: %s %v", r, r.header)
	}
	wantCode(t, "alice pushes outside any namespace", alice.pushBlob("app", img.layer), http.StatusForbidden)
	wantCode(t, "alice pushes into alice-x", alice.pushBlob("alice-x/app", img.layer), http.StatusForbidden)
	wantCode(t, "admin pushes anywhere", admin.push("library/app", "latest", img), http.StatusCreated)

	wantCode(t, "anonymous pull", anon.pull("alice/app", "v1", img), http.StatusOK)
	wantCode(t, "bob pulls", anon.as("bob", "bob-pw").pull("alice/app", "v1", img), http.StatusOK)
	r = anon.do(http.MethodGet, "/v2/alice/app/tags/list", nil, nil)
	wantCode(t, "tags", r, http.StatusOK)
	if !strings.Contains(string(r.body), `"v1"`) {
		t.Errorf("tags: %s", r.body)
	}
	wantCode(t, "wrong password", anon.as("alice", "nope").do(http.MethodGet, "/v2/", nil, nil), http.StatusUnauthorized)
	wantCode(t, "unknown user", anon.as("mallory", "x").do(http.MethodGet, "/v2/", nil, nil), http.StatusUnauthorized)

	mpath := "/v2/alice/app/manifests/" + digestOf(img.manifest)
	wantCode(t, "alice deletes", alice.do(http.MethodDelete, mpath, nil, nil), http.StatusForbidden)
	wantCode(t, "anonymous deletes", anon.do(http.MethodDelete, mpath, nil, nil), http.StatusUnauthorized)
	wantCode(t, "admin deletes", admin.do(http.MethodDelete, mpath, nil, nil), http.StatusAccepted)
	wantCode(t, "pull after delete", anon.do(http.MethodGet, mpath, nil, nil), http.StatusNotFound)
}

func TestAnonymousPullOff(t *testing.T) {
	reg := startRegistry(t, regSetup{
		config: "FEATURE_ANONYMOUS_ACCESS: false\n",
		files:  htpasswdFiles(t, "alice", "pw"),
	})
	img := newTestImage(t, 1024)
	alice := reg.client.as("alice", "pw")
	wantCode(t, "push", alice.push("alice/x", "t", img), http.StatusCreated)
	for _, p := range []string{"/v2/", "/v2/alice/x/manifests/t", "/v2/alice/x/blobs/" + digestOf(img.layer), "/v2/alice/x/tags/list", "/v2/_catalog"} {
		wantCode(t, "anonymous GET "+p, reg.client.do(http.MethodGet, p, nil, nil), http.StatusUnauthorized)
	}
	wantCode(t, "alice pulls", alice.pull("alice/x", "t", img), http.StatusOK)
	wantCode(t, "alice lists the catalog", alice.do(http.MethodGet, "/v2/_catalog", nil, nil), http.StatusOK)
	// nobody deletes without superusers: deletion is off
	wantCode(t, "delete without superusers", alice.do(http.MethodDelete, "/v2/alice/x/manifests/"+digestOf(img.manifest), nil, nil), http.StatusForbidden)
}

func TestFailedLoginsAreRateLimited(t *testing.T) {
	reg := startRegistry(t, regSetup{files: htpasswdFiles(t, "alice", "pw")})
	// an empty Basic pair (what some clients send with no credentials) is
	// anonymous, not a failed login
	for i := 0; i < 2*loginFailures; i++ {
		r := reg.client.do(http.MethodGet, "/v2/", nil, map[string]string{"Authorization": "Basic Og=="})
		wantCode(t, "empty basic credentials", r, http.StatusUnauthorized)
		if strings.Contains(string(r.body), "wrong user name") {
			t.Fatalf("empty credentials counted as a login: %s", r)
		}
	}
	bad := reg.client.as("alice", "wrong")
	for i := 0; i < loginFailures; i++ {
		wantCode(t, fmt.Sprintf("failure %d", i+1), bad.do(http.MethodGet, "/v2/", nil, nil), http.StatusUnauthorized)
	}
	r := bad.do(http.MethodGet, "/v2/", nil, nil)
	wantCode(t, "after the limit", r, http.StatusTooManyRequests)
	if r.header.Get("Retry-After") == "" || !strings.Contains(string(r.body), "TOOMANYREQUESTS") {
		t.Errorf("429 without Retry-After or code: %s %v", r, r.header)
	}
	// the right password is not even tried while the address is blocked
	wantCode(t, "right password while blocked", reg.client.as("alice", "pw").do(http.MethodGet, "/v2/", nil, nil), http.StatusTooManyRequests)
}

func TestLoginLimiterWindow(t *testing.T) {
	now := time.Unix(1000, 0)
	l := newLoginLimiter(3, time.Minute, func() time.Time { return now })
	for i := 0; i < 3; i++ {
		if w := l.wait("a"); w != 0 {
			t.Fatalf("blocked after %d failures", i)
		}
		l.fail("a")
		now = now.Add(time.Second)
	}
	if w := l.wait("a"); w != 57*time.Second { // the first failure (at +0s) leaves the window at +60s
		t.Errorf("wait %v, want 57s", w)
	}
	if w := l.wait("b"); w != 0 {
		t.Error("another address is blocked too")
	}
	now = now.Add(57 * time.Second)
	if w := l.wait("a"); w != 0 {
		t.Errorf("still blocked after the window: %v", w)
	}
}

func healthOf(t testing.TB, c *regClient, path string) (int, HealthBody) {
	t.Helper()
	r := c.do(http.MethodGet, path, nil, nil)
	var hb HealthBody
	if err := json.Unmarshal(r.body, &hb); err != nil {
		t.Fatalf("%s: %v: %s", path, err, r.body)
	}
	if hb.StatusCode != r.code {
		t.Errorf("%s: status_code %d but HTTP %d", path, hb.StatusCode, r.code)
	}
	return r.code, hb
}

func TestHealthAndMetrics(t *testing.T) {
	pg := testenv.Postgres(t)
	rd := testenv.Redis(t)
	services := fmt.Sprintf("DB_URI: %s\nBUILDLOGS_REDIS: {host: 127.0.0.1, port: %d, password: %s, db: 5}\n", pg.URI(pg.DB), rd.Port, rd.Password)
	reg := startRegistry(t, regSetup{config: services, files: htpasswdFiles(t, "alice", "pw")})
	code, hb := healthOf(t, reg.client, "/health/instance")
	if code != http.StatusOK || !hb.Data.Services["registry"] || !hb.Data.Services["storage"] || len(hb.Data.Services) != 2 {
		t.Errorf("instance: %d %+v", code, hb)
	}
	code, hb = healthOf(t, reg.client, "/health/endtoend")
	for _, s := range []string{"registry", "storage", "database", "redis", "auth"} {
		if !hb.Data.Services[s] {
			t.Errorf("endtoend %s false: %+v", s, hb)
		}
	}
	if code != http.StatusOK {
		t.Errorf("endtoend %d", code)
	}
	// the blob cache really is the bundle's Redis: a push lands there
	img := newTestImage(t, 4096)
	wantCode(t, "push", reg.client.as("alice", "pw").push("alice/h", "t", img), http.StatusCreated)
	wantCode(t, "pull", reg.client.pull("alice/h", "t", img), http.StatusOK)
	if n := redisKeys(t, rd.Addr(), rd.Password, 5, "*"+digestOf(img.layer)+"*"); n == 0 {
		t.Error("no blob descriptor of the pushed layer in Redis db 5")
	}

	r := reg.client.do(http.MethodGet, "/metrics", nil, nil)
	wantCode(t, "metrics", r, http.StatusOK)
	for _, m := range []string{
		`config_editor_registry_http_requests_total{code="201",method="PUT",route="manifest"}`,
		`config_editor_registry_http_requests_total{code="200",method="GET",route="blob"}`,
		// distribution's storage namespace: driver calls timed by
		// timedDriver, and the blob-descriptor cache's counters
		`registry_storage_action_seconds_count{action="Writer",driver="filesystem"}`,
		`registry_storage_action_seconds_count{action="GetContent",driver="filesystem"}`,
		"registry_storage_cache_requests_total",
		"go_goroutines",
	} {
		if !bytes.Contains(r.body, []byte(m)) {
			t.Errorf("/metrics lacks %s", m)
		}
	}

	// a database that does not answer fails endtoend only
	bad := startRegistry(t, regSetup{config: "DB_URI: postgresql://quay:pw@" + testenv.Blackhole(t) + "/quay\n", files: htpasswdFiles(t, "alice", "pw")})
	bad.srv.opts.ProbeTimeout = 2 * time.Second
	code, hb = healthOf(t, bad.client, "/health/endtoend")
	if code != http.StatusServiceUnavailable || hb.Data.Services["database"] || !hb.Data.Services["storage"] {
		t.Errorf("endtoend with a dead database: %d %+v", code, hb)
	}
	code, _ = healthOf(t, bad.client, "/health/instance")
	if code != http.StatusOK {
		t.Errorf("instance with a dead database: %d", code)
	}
}

func redisKeys(t testing.TB, addr, password string, db int, pattern string) int {
	t.Helper()
	return redisKeysOver(t, false, addr, password, db, pattern)
}

// redisKeysOver counts the keys matching pattern, over TLS or not.
func redisKeysOver(t testing.TB, useTLS bool, addr, password string, db int, pattern string) int {
	t.Helper()
	var c net.Conn
	var err error
	if useTLS {
		c, err = tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, testenv.CA().ClientTLSConfig())
	} else {
		c, err = net.DialTimeout("tcp", addr, 5*time.Second)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(c, "AUTH %s\r\nSELECT %d\r\nKEYS %s\r\n", password, db, pattern)
	buf := make([]byte, 0, 4096)
	tmp := make([]byte, 4096)
	for !bytes.Contains(buf, []byte("*")) || bytes.Count(buf, []byte("\r\n")) < 3 {
		n, err := c.Read(tmp)
		if err != nil {
			t.Fatalf("redis: %v (%q)", err, buf)
		}
		buf = append(buf, tmp[:n]...)
	}
	lines := strings.Split(string(buf), "\r\n")
	for _, l := range lines {
		if strings.HasPrefix(l, "*") {
			var n int
			fmt.Sscanf(l, "*%d", &n)
			return n
		}
	}
	t.Fatalf("redis answered %q", buf)
	return 0
}

// slowBody sends its bytes in pieces, waiting between them.
type slowBody struct {
	data   []byte
	step   int
	pause  time.Duration
	onRead func()
}

func (s *slowBody) Read(p []byte) (int, error) {
	if len(s.data) == 0 {
		return 0, io.EOF
	}
	if s.onRead != nil {
		s.onRead()
		s.onRead = nil
	}
	time.Sleep(s.pause)
	n := min(len(p), s.step, len(s.data))
	copy(p, s.data[:n])
	s.data = s.data[n:]
	return n, nil
}

// On shutdown, an upload in flight finishes; new connections are refused.
func TestGracefulShutdownFinishesUploads(t *testing.T) {
	reg := startRegistry(t, regSetup{files: htpasswdFiles(t, "alice", "pw")})
	alice := reg.client.as("alice", "pw")
	r := alice.do(http.MethodPost, "/v2/alice/up/blobs/uploads/", nil, nil)
	wantCode(t, "start upload", r, http.StatusAccepted)
	loc := alice.location(r)
	data := bytes.Repeat([]byte("0123456789abcdef"), 4096) // 64 KiB in 16 pieces over ~1.6s
	started := make(chan struct{})
	done := make(chan resp, 1)
	go func() {
		done <- alice.do(http.MethodPatch, loc, &slowBody{data: data, step: 4096, pause: 100 * time.Millisecond, onRead: func() { close(started) }},
			map[string]string{"Content-Type": "application/octet-stream"})
	}()
	<-started
	time.Sleep(200 * time.Millisecond)
	reg.cancel() // as SIGTERM does
	reg.cancel = nil
	got := <-done
	wantCode(t, "upload running during shutdown", got, http.StatusAccepted)
	if got.header.Get("Range") != fmt.Sprintf("0-%d", len(data)-1) {
		t.Errorf("range %q", got.header.Get("Range"))
	}
	select {
	case err := <-reg.done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Run did not return")
	}
	if c, err := net.DialTimeout("tcp", strings.TrimPrefix(reg.base, "http://"), time.Second); err == nil {
		c.Close()
		t.Error("still accepting connections after shutdown")
	}
}

// The runtime never leaks the bundle's secrets into its log.
func TestLogHasNoSecrets(t *testing.T) {
	var log bytes.Buffer
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	cfgText := "SERVER_HOSTNAME: " + ln.Addr().String() + "\nSECRET_KEY: topsecretkey123\nBUILDLOGS_REDIS: {host: 127.0.0.1, port: 1, password: redispass123}\n" +
		"DISTRIBUTED_STORAGE_CONFIG: {l: [LocalStorage, {storage_path: " + t.TempDir() + "}]}\n"
	b := mustBundle(t, cfgText, htpasswdFiles(t, "alice", "alicepass123"))
	cfg, _ := Translate(b, Env{})
	srv, err := New(context.Background(), cfg, Options{Listener: ln, Log: &log, LogLevel: "debug"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	c := &regClient{t: t, base: "http://" + ln.Addr().String(), hc: &http.Client{Timeout: 10 * time.Second}}
	c.as("alice", "wrongpass456").do(http.MethodGet, "/v2/", nil, nil)
	c.as("alice", "alicepass123").do(http.MethodGet, "/v2/", nil, nil)
	cancel()
	<-done
	for _, s := range []string{"topsecretkey123", "redispass123", "alicepass123", "wrongpass456", cfg.HTTPSecret.Reveal()} {
		if strings.Contains(log.String(), s) {
			t.Errorf("log contains %q", s)
		}
	}
	if !strings.Contains(log.String(), "login failed") {
		t.Errorf("the failed login is not logged:\n%s", log.String())
	}
}

func TestAccessRules(t *testing.T) {
	repo := func(name, action string) auth.Access {
		return auth.Access{Resource: auth.Resource{Type: "repository", Name: name}, Action: action}
	}
	catalog := auth.Access{Resource: auth.Resource{Type: "registry", Name: "catalog"}, Action: "*"}
	for _, anonymous := range []bool{true, false} {
		a := newAuthenticator(AuthConfig{Anonymous: anonymous, SuperUsers: []string{"root"}}, nil, "r")
		for _, tc := range []struct {
			user string
			acc  auth.Access
			want bool
		}{
			{"", repo("alice/x", "pull"), anonymous},
			{"", repo("alice/x", "push"), false},
			{"", repo("alice/x", "delete"), false},
			{"", catalog, anonymous},
			{"alice", repo("bob/x", "pull"), true},
			{"alice", repo("alice/x", "push"), true},
			{"Alice", repo("alice/x", "push"), true}, // an LDAP uid in another case
			{"alice", repo("alice/x/y", "push"), true},
			{"alice", repo("alicex/y", "push"), false},
			{"alice", repo("x", "push"), false},
			{"alice", repo("alice/x", "delete"), false},
			{"alice", repo("alice/x", "*"), false},
			{"alice", catalog, true},
			{"root", repo("any/x", "push"), true},
			{"root", repo("x", "delete"), true},
			{"alice", auth.Access{Resource: auth.Resource{Type: "other", Name: "x"}, Action: "pull"}, false},
		} {
			if got := a.may(tc.user, tc.acc); got != tc.want {
				t.Errorf("anonymous=%v: %q %s %s %s: %v, want %v", anonymous, tc.user, tc.acc.Type, tc.acc.Name, tc.acc.Action, got, tc.want)
			}
		}
	}
}
