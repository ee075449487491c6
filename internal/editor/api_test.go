package editor

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/quay-tools/config-editor/internal/bundle"
	"github.com/quay-tools/config-editor/internal/problem"
)

func jsonUnmarshal(data []byte, v any) error { return json.Unmarshal(data, v) }

func tlsClient(pool *x509.CertPool) *tls.Config {
	return &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
}

type configAnswer struct {
	Config map[string]any    `json:"config.yaml"`
	Certs  map[string]string `json:"certs"`
}

func decodeConfig(t testing.TB, w *httptest.ResponseRecorder) configAnswer {
	t.Helper()
	if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("Content-Type %q", ct)
	}
	var a configAnswer
	if err := json.Unmarshal(w.Body.Bytes(), &a); err != nil {
		t.Fatalf("GET /api/v1/config answer: %v: %s", err, w.Body)
	}
	return a
}

func TestGetConfigMounted(t *testing.T) {
	ts := newTestServer(t, true)
	w := ts.do(req{method: "GET", path: "/api/v1/config", basic: true})
	if w.Code != 200 {
		t.Fatalf("mounted: %d", w.Code)
	}
	a := decodeConfig(t, w)
	// The file's values, including secrets (historical behaviour for
	// authenticated automation), with defaults overlaid.
	if a.Config["SERVER_HOSTNAME"] != "quay.example.com" || a.Config["DB_URI"] != "postgresql://quay:dbPassw0rdXyz@db.example.com/quay" {
		t.Errorf("file values missing: %v %v", a.Config["SERVER_HOSTNAME"], a.Config["DB_URI"])
	}
	if a.Config["PREFERRED_URL_SCHEME"] != "http" || a.Config["AUTHENTICATION_TYPE"] != "Database" {
		t.Errorf("defaults not overlaid: %v %v", a.Config["PREFERRED_URL_SCHEME"], a.Config["AUTHENTICATION_TYPE"])
	}
	ca, err := base64.StdEncoding.DecodeString(a.Certs["extra_ca_certs/corp.crt"])
	if err != nil || !bytes.Equal(ca, testCA) {
		t.Errorf("certs: %v (%v)", a.Certs, err)
	}
	if _, ok := a.Certs["config.yaml"]; ok {
		t.Error("config.yaml listed among certs")
	}
	tag := w.Header().Get("ETag")
	if tag != `"1"` {
		t.Errorf("ETag %q", tag)
	}
	if w := ts.do(req{method: "GET", path: "/api/v1/config", basic: true, header: map[string]string{"If-None-Match": tag}}); w.Code != 304 {
		t.Errorf("If-None-Match: %d", w.Code)
	}
	// Defaults are never written into the working copy.
	w = ts.do(req{method: "GET", path: "/api/v1/config/bundle", basic: true})
	b := readTarball(t, w)
	if got := string(b.Config().Bytes()); got != testConfigYAML {
		t.Errorf("working copy changed by GET:\n%s", got)
	}
}

func readTarball(t testing.TB, w *httptest.ResponseRecorder) *bundle.Bundle {
	t.Helper()
	if w.Code != 200 {
		t.Fatalf("tarball: %d %s", w.Code, w.Body)
	}
	if ct := w.Header().Get("Content-Type"); ct != "application/gzip" {
		t.Errorf("Content-Type %q, want application/gzip", ct)
	}
	if cd := w.Header().Get("Content-Disposition"); cd != `attachment; filename="quay-config.tar.gz"` {
		t.Errorf("Content-Disposition %q", cd)
	}
	b, err := bundle.ReadTarGz(bytes.NewReader(w.Body.Bytes()), bundle.Limits{})
	if err != nil {
		t.Fatalf("tarball unreadable: %v", err)
	}
	return b
}

func TestGetConfigSetup(t *testing.T) {
	ts := newTestServer(t, false)
	w := ts.do(req{method: "GET", path: "/api/v1/config", basic: true})
	if w.Code != 202 {
		t.Fatalf("setup session: %d, want 202", w.Code)
	}
	a := decodeConfig(t, w)
	if a.Config["AUTHENTICATION_TYPE"] != "Database" || a.Certs == nil || len(a.Certs) != 0 {
		t.Errorf("setup answer: auth %v certs %v", a.Config["AUTHENTICATION_TYPE"], a.Certs)
	}
	if _, ok := a.Config["SERVER_HOSTNAME"]; ok {
		t.Error("setup session invents a SERVER_HOSTNAME")
	}
}

// TestFreshLoginSeesCurrentFiles: the user's working copy, while
// unchanged, follows the mounted files for every login and the basic-auth
// clients (they share it); once changed, a fresh login gets the changed
// copy, not the files.
func TestFreshLoginSeesCurrentFiles(t *testing.T) {
	ts := newTestServer(t, true)
	ck1, _ := ts.login(t)
	newYAML := strings.Replace(testConfigYAML, "quay.example.com", "registry.example.org", 1)
	if err := os.WriteFile(filepath.Join(ts.dir, "config.yaml"), []byte(newYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	ck2, sess2 := ts.login(t)
	host := func(r req) any { return decodeConfig(t, ts.do(r)).Config["SERVER_HOSTNAME"] }
	if h := host(req{method: "GET", path: "/api/v1/config", cookie: ck1}); h != "registry.example.org" {
		t.Errorf("first session sees %v, want the shared copy", h)
	}
	if h := host(req{method: "GET", path: "/api/v1/config", cookie: ck2}); h != "registry.example.org" {
		t.Errorf("fresh login sees %v", h)
	}
	if h := host(req{method: "GET", path: "/api/v1/config", basic: true}); h != "registry.example.org" {
		t.Errorf("basic auth sees %v", h)
	}
	// a change is the user's: the files changing again do not replace it
	sess2.Lock()
	if err := sess2.Work.Config().Set([]string{"SERVER_HOSTNAME"}, "edited.example.net"); err != nil {
		t.Fatal(err)
	}
	sess2.Changed()
	sess2.Unlock()
	if err := os.WriteFile(filepath.Join(ts.dir, "config.yaml"), []byte(testConfigYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	ck3, _ := ts.login(t)
	for _, r := range []req{{cookie: ck1}, {cookie: ck3}, {basic: true}} {
		r.method, r.path = "GET", "/api/v1/config"
		if h := host(r); h != "edited.example.net" {
			t.Errorf("after an edit, %v sees %v", r.cookie != nil, h)
		}
	}
}

func TestPutConfig(t *testing.T) {
	ts := newTestServer(t, true)
	put := func(body, ifMatch string) *httptest.ResponseRecorder {
		h := map[string]string{"Content-Type": "application/json"}
		if ifMatch != "" {
			h["If-Match"] = ifMatch
		}
		return ts.do(req{method: "PUT", path: "/api/v1/config", basic: true, body: strings.NewReader(body), header: h})
	}
	body := `{"config.yaml": {"SERVER_HOSTNAME": "quay.example.com", "DB_URI": "<secret>", "SECRET_KEY": "topSecretKeyValue123",
		"FEATURE_REPO_MIRROR": false}, "certs": {"ssl.cert": "` + base64.StdEncoding.EncodeToString([]byte("CERT")) + `"}}`
	if w := put(body, `"7"`); w.Code != 412 || w.Header().Get("ETag") != `"1"` {
		t.Fatalf("stale If-Match: %d ETag %q", w.Code, w.Header().Get("ETag"))
	} else {
		assertJSONMessage(t, w)
	}
	w := put(body, `"1"`)
	if w.Code != 200 || w.Header().Get("ETag") != `"2"` || !strings.Contains(w.Body.String(), `"rev":2`) {
		t.Fatalf("PUT: %d %q %s", w.Code, w.Header().Get("ETag"), w.Body)
	}
	b := readTarball(t, ts.do(req{method: "GET", path: "/api/v1/config/bundle", basic: true}))
	text := string(b.Config().Bytes())
	for _, want := range []string{"# Quay config under test", "# the public name", "FEATURE_REPO_MIRROR: false",
		"postgresql://quay:dbPassw0rdXyz@db.example.com/quay"} {
		if !strings.Contains(text, want) {
			t.Errorf("after PUT config.yaml lacks %q:\n%s", want, text)
		}
	}
	if _, ok := b.File("extra_ca_certs/corp.crt"); ok {
		t.Error("a file left out of the PUT survived")
	}
	if f, ok := b.File("ssl.cert"); !ok || string(f) != "CERT" {
		t.Error("ssl.cert not stored")
	}
	if w := put(body, `"1"`); w.Code != 412 {
		t.Fatalf("second PUT with the old rev: %d", w.Code)
	}
	// A YAML string replaces the text as given.
	w = put(`{"config.yaml": "# new\nSERVER_HOSTNAME: a.example.com\n"}`, "")
	if w.Code != 200 {
		t.Fatalf("PUT YAML text: %d %s", w.Code, w.Body)
	}
	b = readTarball(t, ts.do(req{method: "GET", path: "/api/v1/config/bundle", basic: true}))
	if string(b.Config().Bytes()) != "# new\nSERVER_HOSTNAME: a.example.com\n" {
		t.Errorf("YAML text: %q", b.Config().Bytes())
	}
	// Bad inputs: 400 with a message, the copy untouched.
	for _, bad := range []string{`{`, `[]`, `{"config.yaml": 5}`, `{"config.yaml": "a: [\n"}`, `{"certs": {"../x": "QQ=="}}`, `{"certs": {"a": "%%%"}}`} {
		w := put(bad, "")
		if w.Code != 400 {
			t.Errorf("PUT %s: %d, want 400", bad, w.Code)
		}
		assertJSONMessage(t, w)
	}
	if w := ts.do(req{method: "GET", path: "/api/v1/config", basic: true}); w.Header().Get("ETag") != `"3"` {
		t.Errorf("rev after bad PUTs: %q", w.Header().Get("ETag"))
	}
}

func TestPutReadOnlyGroup(t *testing.T) {
	ts := newTestServer(t, true, func(c *Config) { c.ReadOnlyGroups = []string{"HostSettings"} })
	body := `{"config.yaml": {"SERVER_HOSTNAME": "other.example.com", "DB_URI": "<secret>", "SECRET_KEY": "<secret>", "FEATURE_REPO_MIRROR": true}}`
	w := ts.do(req{method: "PUT", path: "/api/v1/config", basic: true, body: strings.NewReader(body)})
	if w.Code != 403 || !strings.Contains(assertJSONMessage(t, w), "HostSettings") {
		t.Fatalf("change of a read-only group: %d %s", w.Code, w.Body)
	}
	body = strings.Replace(body, "other.example.com", "quay.example.com", 1)
	body = strings.Replace(body, `"FEATURE_REPO_MIRROR": true`, `"FEATURE_REPO_MIRROR": false`, 1)
	if w := ts.do(req{method: "PUT", path: "/api/v1/config", basic: true, body: strings.NewReader(body)}); w.Code != 200 {
		t.Fatalf("change outside the read-only group: %d %s", w.Code, w.Body)
	}
}

func validateReq(ts *testServer, query, body string) *httptest.ResponseRecorder {
	return ts.do(req{method: "POST", path: "/api/v1/config/validate" + query, basic: true, body: strings.NewReader(body),
		header: map[string]string{"Content-Type": "application/json"}})
}

func decodeProblems(t testing.TB, w *httptest.ResponseRecorder) []problem.Problem {
	t.Helper()
	if w.Code != 200 {
		t.Fatalf("validate: %d %s", w.Code, w.Body)
	}
	if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("Content-Type %q", ct)
	}
	var ps []problem.Problem
	if err := json.Unmarshal(w.Body.Bytes(), &ps); err != nil || ps == nil {
		t.Fatalf("validate answer is not a JSON array: %v %s", err, w.Body)
	}
	return ps
}

func hasProblem(ps []problem.Problem, group, pathPrefix string) bool {
	for _, p := range ps {
		if p.FieldGroup == group && strings.HasPrefix(p.Path.String(), pathPrefix) {
			return true
		}
	}
	return false
}

func TestValidate(t *testing.T) {
	ts := newTestServer(t, false)
	// A wrong type is a problem on its key, not a 500.
	ps := decodeProblems(t, validateReq(ts, "?mode=offline", `{"config.yaml": {"SERVER_HOSTNAME": 5, "FEATURE_REPO_MIRROR": "yes"}}`))
	if !hasProblem(ps, "HostSettings", "SERVER_HOSTNAME") {
		t.Errorf("no problem for SERVER_HOSTNAME: 5: %v", ps)
	}
	for _, p := range ps {
		if p.FieldGroup == "" || p.Message == "" || p.Tags == nil {
			t.Errorf("problem lacks the wire keys: %+v", p)
		}
	}
	// Managed groups are skipped.
	ps = decodeProblems(t, validateReq(ts, "?mode=offline", `{"config.yaml": {"SERVER_HOSTNAME": 5}, "managedFieldGroups": ["HostSettings"]}`))
	if hasProblem(ps, "HostSettings", "") {
		t.Errorf("managed group HostSettings still reported: %v", ps)
	}
	// The body's YAML-string form works too, and a raw text answer has no secret echo.
	body := `{"config.yaml": "SERVER_HOSTNAME: quay.example.com\nDB_URI: postgresql://u:echoPass31@db.invalid:notaport/x\nSECRET_KEY: [1]\n"}`
	w := validateReq(ts, "?mode=offline", body)
	decodeProblems(t, w)
	if strings.Contains(w.Body.String(), "echoPass31") {
		t.Errorf("validate echoes a secret: %s", w.Body)
	}
	for _, bad := range []struct{ query, body string }{
		{"?mode=offline", `{"config.yaml": {`},
		{"?mode=offline", `not json`},
		{"?mode=offline", `{"config.yaml": []}`},
		{"?mode=offline", `{"config.yaml": "a: [\n"}`},
		{"?mode=offline", `{"config.yaml": {}, "certs": {"x.crt": 5}}`},
		{"?mode=offline", `{"config.yaml": {}, "certs": {"/etc/passwd": "QQ=="}}`},
		{"?mode=offline", ``},
		{"?mode=sideways", `{}`},
		{"?mode=offline", `{"config.yaml": {"A": 1, "A": 2}}`},
		{"?mode=offline", strings.Repeat("[", 10000)},
		{"?mode=offline", `{"config.yaml": ` + strings.Repeat(`{"a":`, 200) + `1` + strings.Repeat(`}`, 200) + `}`},
	} {
		w := validateReq(ts, bad.query, bad.body)
		if w.Code != 400 {
			t.Errorf("validate%s %.40q: %d, want 400 (%s)", bad.query, bad.body, w.Code, w.Body)
			continue
		}
		assertJSONMessage(t, w)
	}
}

// TestValidateDefaultsToOnline: like the historical editor, a validate
// call that names no mode (or an empty one) runs the online probes; only
// mode=offline skips them. The bundle's Redis is a closed loopback port, so
// the probe's connection error shows which mode ran.
func TestValidateDefaultsToOnline(t *testing.T) {
	ts := newTestServer(t, false)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	body := fmt.Sprintf(`{"config.yaml": {"SERVER_HOSTNAME": "quay.example.com", "BUILDLOGS_REDIS": {"host": "127.0.0.1", "port": %d}}}`, port)
	refused := func(ps []problem.Problem) bool {
		for _, p := range ps {
			if p.FieldGroup == "Redis" && strings.HasPrefix(p.Path.String(), "BUILDLOGS_REDIS") && strings.Contains(p.Message, "connection refused") {
				return true
			}
		}
		return false
	}
	for _, query := range []string{"", "?mode=", "?mode=online", "?mode=Online"} {
		if ps := decodeProblems(t, validateReq(ts, query, body)); !refused(ps) {
			t.Errorf("validate%s: no Redis connection error, so the probes did not run: %v", query, ps)
		}
	}
	if ps := decodeProblems(t, validateReq(ts, "?mode=offline", body)); refused(ps) {
		t.Errorf("validate?mode=offline probed Redis: %v", ps)
	}
	// The pages keep offline as their default (the Mode select's first
	// choice): the same bundle as the working copy, validated from the page
	// without a mode, is not probed; with mode=online it is.
	if w := ts.do(req{method: "PUT", path: "/api/v1/config", basic: true, body: strings.NewReader(body)}); w.Code != 200 {
		t.Fatalf("PUT: %d %s", w.Code, w.Body)
	}
	for _, mode := range []string{"", "online"} {
		w := ts.do(req{method: "POST", path: "/validate", basic: true, body: strings.NewReader(url.Values{"mode": {mode}}.Encode()),
			header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}})
		if probed := strings.Contains(w.Body.String(), "connection refused"); w.Code != 200 || probed != (mode == "online") {
			t.Errorf("the page's Validate with mode %q: %d, probed %v\n%s", mode, w.Code, probed, w.Body)
		}
	}
	metrics := ts.do(req{method: "GET", path: "/metrics", basic: true}).Body.String()
	for _, want := range []string{`config_editor_validations_total{mode="online",result="invalid"} 4`, `config_editor_validations_total{mode="offline",result="invalid"} 1`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

func TestValidateValidIsEmptyArray(t *testing.T) {
	ts := newTestServer(t, false)
	// validBundleJSON is a complete, valid bundle: the answer is exactly [].
	w := validateReq(ts, "?mode=offline", validBundleJSON)
	if w.Code != 200 {
		t.Fatalf("validate: %d %s", w.Code, w.Body)
	}
	if ps := decodeProblems(t, w); len(ps) != 0 {
		t.Fatalf("the reference bundle is not valid: %v", ps)
	}
	if got := strings.TrimSpace(w.Body.String()); got != "[]" {
		t.Errorf("valid answer %q, want []", got)
	}
}

const validBundleJSON = `{"config.yaml": {
  "SERVER_HOSTNAME": "quay.example.com", "PREFERRED_URL_SCHEME": "http",
  "DB_URI": "postgresql://quay:pw@db.example.com/quay",
  "AUTHENTICATION_TYPE": "Database",
  "BUILDLOGS_REDIS": {"host": "redis.example.com", "port": 6379},
  "USER_EVENTS_REDIS": {"host": "redis.example.com", "port": 6379},
  "DISTRIBUTED_STORAGE_CONFIG": {"default": ["S3Storage", {"s3_bucket": "quay", "storage_path": "/registry", "s3_access_key": "a", "s3_secret_key": "b", "host": "s3.example.com"}]},
  "DISTRIBUTED_STORAGE_PREFERENCE": ["default"],
  "DISTRIBUTED_STORAGE_DEFAULT_LOCATIONS": [],
  "DEFAULT_TAG_EXPIRATION": "2w", "TAG_EXPIRATION_OPTIONS": ["0s", "1d", "1w", "2w", "4w"],
  "SECRET_KEY": "0123456789abcdef0123456789abcdef", "DATABASE_SECRET_KEY": "0123456789abcdef0123456789abcdef",
  "SETUP_COMPLETE": true, "FEATURE_DIRECT_LOGIN": true
}}`

func TestDownload(t *testing.T) {
	ts := newTestServer(t, false)
	ca := base64.StdEncoding.EncodeToString(testCA)
	w := ts.do(req{method: "POST", path: "/api/v1/config/download", basic: true,
		body: strings.NewReader(`{"config.yaml": {"SERVER_HOSTNAME": "quay.example.com", "MAIL_PORT": 587, "X": 0.5}, "certs": {"extra_ca_certs/a.crt": "` + ca + `"}}`)})
	b := readTarball(t, w)
	v := b.Config().Value()
	if v["SERVER_HOSTNAME"] != "quay.example.com" || v["X"] != 0.5 {
		t.Errorf("tarball config: %v", v)
	}
	if _, ok := v["AUTHENTICATION_TYPE"]; ok {
		t.Error("download wrote defaults into config.yaml")
	}
	if f, ok := b.File("extra_ca_certs/a.crt"); !ok || !bytes.Equal(f, testCA) {
		t.Error("cert missing from the tarball")
	}
	for _, bad := range []string{`{`, `{"config.yaml": 1}`, `{"certs": {"../../x": "QQ=="}}`} {
		w := ts.do(req{method: "POST", path: "/api/v1/config/download", basic: true, body: strings.NewReader(bad)})
		if w.Code != 400 {
			t.Errorf("download %s: %d", bad, w.Code)
		}
		assertJSONMessage(t, w)
	}
}

func TestOperatorNotImplemented(t *testing.T) {
	ts := newTestServer(t, true)
	w := ts.do(req{method: "POST", path: "/api/v1/config/operator", basic: true, body: strings.NewReader(`{"config.yaml": {}}`)})
	if w.Code != 501 || !strings.Contains(assertJSONMessage(t, w), "Operator push is not available") {
		t.Fatalf("operator: %d %s", w.Code, w.Body)
	}
}

func TestOpenAPIListsEveryRoute(t *testing.T) {
	ts := newTestServer(t, false)
	w := ts.do(req{method: "GET", path: "/api/v1/openapi.json", basic: true})
	if w.Code != 200 || !strings.HasPrefix(w.Header().Get("Content-Type"), "application/json") {
		t.Fatalf("openapi: %d %q", w.Code, w.Header().Get("Content-Type"))
	}
	var doc struct {
		OpenAPI string                    `json:"openapi"`
		Info    struct{ Version string }  `json:"info"`
		Paths   map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.0") || doc.Info.Version != "test" {
		t.Errorf("openapi %q version %q", doc.OpenAPI, doc.Info.Version)
	}
	n := 0
	for _, r := range ts.e.Routes() {
		if !strings.HasPrefix(r.Path, "/api/v1/") && r.Path != "/healthz" && r.Path != "/metrics" && r.Path != "/login" && r.Path != "/logout" {
			continue
		}
		if r.Method == "echo_route_not_found" || strings.HasSuffix(r.Path, "*") {
			continue
		}
		n++
		rel := strings.TrimPrefix(r.Path, "/api/v1")
		ops := doc.Paths[rel]
		if ops == nil {
			ops = doc.Paths[r.Path]
		}
		if ops[strings.ToLower(r.Method)] == nil {
			t.Errorf("OpenAPI lacks %s %s", r.Method, r.Path)
		}
	}
	if n < 9 {
		t.Errorf("only %d routes checked", n)
	}
}

// hugeReader produces n bytes of JSON-ish filler without holding them.
type hugeReader struct{ left, read int64 }

func (h *hugeReader) Read(p []byte) (int, error) {
	if h.left <= 0 {
		return 0, io.EOF
	}
	n := int64(len(p))
	if n > h.left {
		n = h.left
	}
	for i := range p[:n] {
		p[i] = ' '
	}
	h.left -= n
	h.read += n
	return int(n), nil
}

func TestBodyLimits(t *testing.T) {
	ts := newTestServer(t, false)
	const fifty = 50 << 20
	// Declared 50 MB: refused before reading.
	hr := &hugeReader{left: fifty}
	r := httptest.NewRequest("POST", "/api/v1/config/validate", hr)
	r.ContentLength = fifty
	r.SetBasicAuth(User, testPassword)
	w := httptest.NewRecorder()
	ts.Handler().ServeHTTP(w, r)
	if w.Code != 413 || hr.read > 0 {
		t.Fatalf("declared 50 MB: %d after reading %d bytes", w.Code, hr.read)
	}
	assertJSONMessage(t, w)
	// Undeclared (chunked) 50 MB: cut at the limit.
	hr = &hugeReader{left: fifty}
	r = httptest.NewRequest("POST", "/api/v1/config/validate", hr)
	r.ContentLength = -1
	r.SetBasicAuth(User, testPassword)
	w = httptest.NewRecorder()
	ts.Handler().ServeHTTP(w, r)
	if w.Code != 413 || hr.read > BundleBodyLimit+64<<10 {
		t.Fatalf("chunked 50 MB: %d after reading %d bytes", w.Code, hr.read)
	}
	assertJSONMessage(t, w)
	// A real bundle with certs (several MiB) fits.
	big := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte("A"), 6<<20))
	w = ts.do(req{method: "POST", path: "/api/v1/config/download", basic: true,
		body: strings.NewReader(`{"config.yaml": {"SERVER_HOSTNAME": "q.example.com"}, "certs": {"big.bin": "` + big + `"}}`)})
	if w.Code != 200 {
		t.Fatalf("8 MiB bundle: %d %s", w.Code, w.Body)
	}
	// Forms are small.
	w = ts.do(req{method: "POST", path: "/login", body: strings.NewReader("password=" + strings.Repeat("a", 100<<10)),
		header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}})
	if w.Code != 413 {
		t.Fatalf("100 KiB login form: %d", w.Code)
	}
}

// millionKeys is a ConfigBundle whose config has 1,000,000 keys (~15 MB).
func millionKeys() []byte {
	var b bytes.Buffer
	b.WriteString(`{"config.yaml": {`)
	for i := 0; i < 1_000_000; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"K%d":1`, i)
	}
	b.WriteString(`}}`)
	return b.Bytes()
}

func TestMillionKeysRefused(t *testing.T) {
	ts := newTestServer(t, false)
	body := millionKeys()
	if len(body) > BundleBodyLimit {
		t.Fatalf("test body %d bytes is over the body limit; it must reach the parser", len(body))
	}
	for _, path := range []string{"/api/v1/config/validate", "/api/v1/config/download", "/api/v1/config"} {
		method := "POST"
		if path == "/api/v1/config" {
			method = "PUT"
		}
		w := ts.do(req{method: method, path: path, basic: true, body: bytes.NewReader(body)})
		if w.Code != 400 && w.Code != 413 {
			t.Fatalf("%s with 1,000,000 keys: %d", path, w.Code)
		}
		if msg := assertJSONMessage(t, w); !strings.Contains(msg, "more than") {
			t.Errorf("message %q does not say what limit was hit", msg)
		}
	}
}

func BenchmarkMillionKeysRefused(b *testing.B) {
	ts := newTestServer(b, false)
	body := millionKeys()
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		w := ts.do(req{method: "POST", path: "/api/v1/config/validate", basic: true, body: bytes.NewReader(body)})
		if w.Code != 400 {
			b.Fatal(w.Code)
		}
	}
}

func BenchmarkValidateOffline(b *testing.B) {
	ts := newTestServer(b, false)
	body := []byte(validBundleJSON)
	h := ts.Handler()
	b.ReportAllocs()
	for b.Loop() {
		r := httptest.NewRequest("POST", "/api/v1/config/validate?mode=offline", bytes.NewReader(body))
		r.SetBasicAuth(User, testPassword)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			b.Fatal(w.Code, w.Body)
		}
	}
}

func BenchmarkValidateOfflineParallel(b *testing.B) {
	ts := newTestServer(b, false)
	body := []byte(validBundleJSON)
	h := ts.Handler()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r := httptest.NewRequest("POST", "/api/v1/config/validate?mode=offline", bytes.NewReader(body))
			r.SetBasicAuth(User, testPassword)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != http.StatusOK {
				b.Error(w.Code)
				return
			}
		}
	})
}
