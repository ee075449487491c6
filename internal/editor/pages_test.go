package editor

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/quay-tools/config-editor/internal/bundle"
	"github.com/quay-tools/config-editor/internal/schema"
	"github.com/quay-tools/config-editor/internal/testenv"
)

// Every secret of this config carries a unique marker; no page may show one.
const pagesConfig = `# pages test bundle
SERVER_HOSTNAME: quay.example.com
PREFERRED_URL_SCHEME: https
DB_URI: postgresql://quay:Mk1dbpass@db.example.com:5432/quay
SECRET_KEY: Mk2secretkey
DATABASE_SECRET_KEY: Mk3dbsecret
BUILDLOGS_REDIS:
  host: redis.example.com
  password: Mk4redispass # keep this comment
USER_EVENTS_REDIS:
  host: redis.example.com
  password: Mk5userevents
DISTRIBUTED_STORAGE_CONFIG:
  default:
    - S3Storage
    - s3_bucket: quay
      storage_path: /registry
      s3_access_key: AKIAEXAMPLE
      s3_secret_key: Mk6s3secret
DISTRIBUTED_STORAGE_PREFERENCE:
  - default
AUTHENTICATION_TYPE: LDAP
LDAP_URI: ldap://ldap.example.com
LDAP_ADMIN_DN: cn=admin,dc=example,dc=com
LDAP_ADMIN_PASSWD: Mk7ldappass
LDAP_BASE_DN: [dc=example, dc=com]
LDAP_USER_RDN: [ou=people]
MAIL_PASSWORD: Mk8mailpass
GITHUB_LOGIN_CONFIG:
  CLIENT_ID: ghclient
  CLIENT_SECRET: Mk9ghsecret
AZURE_LOGIN_CONFIG:
  OIDC_SERVER: https://login.example.com/
  CLIENT_ID: azclient
  CLIENT_SECRET: Mk10azsecret
  SERVICE_NAME: Azure
SECURITY_SCANNER_V4_PSK: Mk11psk
LOGS_MODEL_CONFIG:
  producer: elasticsearch
  elasticsearch_config:
    host: es.example.com
    access_key: esuser
    secret_key: Mk12essecret
FEATURE_USER_CREATION: false
`

var markerRE = regexp.MustCompile(`Mk[0-9]+[a-z]+`)

type pagesEnv struct {
	t      *testing.T
	srv    *Server
	dir    string
	cookie *http.Cookie
	sess   *Session
}

func newPagesEnv(t *testing.T, cfgYAML string) *pagesEnv {
	t.Helper()
	return newPagesEnvConfig(t, cfgYAML, Config{})
}

// newPagesEnvConfig is newPagesEnv with more settings; the password, the
// bundle path and the version are set here.
func newPagesEnvConfig(t *testing.T, cfgYAML string, cfg Config) *pagesEnv {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "config.yaml"), []byte(cfgYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg.Password, cfg.BundlePath, cfg.Version = "pages-pw", dir, "test"
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e := &pagesEnv{t: t, srv: srv, dir: dir}
	form := url.Values{"username": {User}, "password": {"pages-pw"}}
	w := e.send("POST", "/login", "application/x-www-form-urlencoded", strings.NewReader(form.Encode()), nil)
	if w.Code != http.StatusSeeOther {
		t.Fatalf("login: %d %s", w.Code, w.Body)
	}
	for _, c := range w.Result().Cookies() {
		if c.Name == CookieName {
			e.cookie = c
		}
	}
	if e.cookie == nil {
		t.Fatal("no session cookie")
	}
	e.sess = srv.sessions.get(e.cookie.Value)
	return e
}

func (e *pagesEnv) send(method, path, ctype string, body io.Reader, hdr map[string]string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, path, body)
	if ctype != "" {
		r.Header.Set("Content-Type", ctype)
	}
	r.Header.Set("Sec-Fetch-Site", "same-origin")
	for k, v := range hdr {
		r.Header.Set(k, v)
	}
	if e.cookie != nil {
		r.AddCookie(e.cookie)
	}
	w := httptest.NewRecorder()
	e.srv.Handler().ServeHTTP(w, r)
	return w
}

func (e *pagesEnv) get(path string) string {
	e.t.Helper()
	w := e.send("GET", path, "", nil, nil)
	if w.Code != http.StatusOK {
		e.t.Fatalf("GET %s: %d %s", path, w.Code, w.Body)
	}
	return w.Body.String()
}

// post submits a form as a browser without JavaScript would.
func (e *pagesEnv) post(path string, form url.Values) *httptest.ResponseRecorder {
	if form.Get("_csrf") == "" {
		form.Set("_csrf", e.sess.CSRF)
	}
	return e.send("POST", path, "application/x-www-form-urlencoded", strings.NewReader(form.Encode()), nil)
}

func (e *pagesEnv) work() []byte {
	e.sess.Lock()
	defer e.sess.Unlock()
	return e.sess.Work.Config().Bytes()
}

func (e *pagesEnv) rev() int {
	e.sess.Lock()
	defer e.sess.Unlock()
	return e.sess.Rev
}

// formOf extracts the successful controls of the form with the given
// action from a page, the way a browser would submit it untouched.
func formOf(t *testing.T, page, action string) url.Values {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	var form *html.Node
	var find func(n *html.Node)
	find = func(n *html.Node) {
		if form != nil {
			return
		}
		if n.Type == html.ElementNode && n.Data == "form" && attr(n, "action") == action {
			form = n
			return
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			find(c)
		}
	}
	find(doc)
	if form == nil {
		t.Fatalf("no form with action %q", action)
	}
	vals := url.Values{}
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			name := attr(n, "name")
			_, disabled := attrOK(n, "disabled")
			switch {
			case name == "" || disabled:
			case n.Data == "input":
				switch attr(n, "type") {
				case "checkbox":
					if _, on := attrOK(n, "checked"); on {
						vals.Add(name, attr(n, "value"))
					}
				case "submit", "file":
				case "hidden":
					vals.Add(name, attr(n, "value"))
				default:
					// a text input's value loses its line breaks
					// (HTML value sanitization)
					vals.Add(name, strings.NewReplacer("\r", "", "\n", "").Replace(attr(n, "value")))
				}
			case n.Data == "textarea":
				var b strings.Builder
				for c := n.FirstChild; c != nil; c = c.NextSibling {
					b.WriteString(c.Data)
				}
				// the parser already dropped the newline that may
				// follow <textarea>, as a browser does
				vals.Add(name, b.String())
			case n.Data == "select":
				chosen, first := "", ""
				for c := n.FirstChild; c != nil; c = c.NextSibling {
					if c.Type == html.ElementNode && c.Data == "option" {
						if first == "" {
							first = attr(c, "value") + "\x00"
						}
						if _, sel := attrOK(c, "selected"); sel {
							chosen = attr(c, "value") + "\x00"
						}
					}
				}
				if chosen == "" {
					chosen = first
				}
				vals.Add(name, strings.TrimSuffix(chosen, "\x00"))
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(form)
	return vals
}

func attr(n *html.Node, key string) string {
	v, _ := attrOK(n, key)
	return v
}

func attrOK(n *html.Node, key string) (string, bool) {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val, true
		}
	}
	return "", false
}

// changedLines lists the lines that differ between two texts of equal
// length, or all of b when the line counts differ.
func changedLines(a, b []byte) []string {
	la, lb := strings.Split(string(a), "\n"), strings.Split(string(b), "\n")
	var out []string
	if len(la) != len(lb) {
		for _, l := range lineDiff(la, lb) {
			if l.Op != ' ' {
				out = append(out, string(l.Op)+l.Text)
			}
		}
		return out
	}
	for i := range la {
		if la[i] != lb[i] {
			out = append(out, "-"+la[i], "+"+lb[i])
		}
	}
	return out
}

func allPages() []string {
	paths := []string{"/", "/certs", "/diff", "/unknown", "/yaml"}
	for _, g := range schema.Get().Groups() {
		paths = append(paths, "/group/"+g.Name)
	}
	return paths
}

var (
	idRE       = regexp.MustCompile(`<(input|select|textarea)\b[^>]*>`)
	idAttrRE   = regexp.MustCompile(`\bid="([^"]+)"`)
	typeAttrRE = regexp.MustCompile(`\btype="([^"]+)"`)
)

func TestPagesRenderEverySection(t *testing.T) {
	e := newPagesEnv(t, pagesConfig)
	for _, p := range allPages() {
		page := e.get(p)
		if !strings.Contains(page, `<nav class="side"`) || !strings.Contains(page, `name="_csrf"`) {
			t.Errorf("%s: layout missing", p)
		}
		if g := strings.TrimPrefix(p, "/group/"); g != p {
			if !strings.Contains(page, "<h1>"+template_escape(schema.Get().Group(g).Title)+"</h1>") {
				t.Errorf("%s: no heading with the group title", p)
			}
		}
		// every visible control has a <label for>
		for _, m := range idRE.FindAllString(page, -1) {
			if tm := typeAttrRE.FindStringSubmatch(m); tm != nil && (tm[1] == "hidden" || tm[1] == "submit") {
				continue
			}
			im := idAttrRE.FindStringSubmatch(m)
			if im == nil {
				t.Errorf("%s: control without id: %s", p, m)
				continue
			}
			if !strings.Contains(page, `for="`+im[1]+`"`) {
				t.Errorf("%s: control %s has no label", p, im[1])
			}
		}
		if strings.Contains(page, "<script>") || strings.Contains(page, " onclick=") {
			t.Errorf("%s: inline script", p)
		}
	}
	// field kinds come from the catalogue
	access := e.get("/group/AccessSettings")
	for _, want := range []string{
		`<select id="f-AUTHENTICATION_TYPE" name="f.AUTHENTICATION_TYPE"`, // enum
		`<option value="LDAP" selected>`,
		`type="checkbox" id="f-FEATURE_USER_CREATION"`, // boolean
		`placeholder="10m"`,                            // default as placeholder
	} {
		if !strings.Contains(access, want) {
			t.Errorf("AccessSettings page lacks %q", want)
		}
	}
	if !strings.Contains(e.get("/group/LDAP"), "dc=example\ndc=com</textarea>") {
		t.Error("LDAP_BASE_DN is not a one-per-line list")
	}
	if !strings.Contains(e.get("/group/Redis"), `id="f-BUILDLOGS_REDIS-host"`) {
		t.Error("BUILDLOGS_REDIS is not drawn as nested fields")
	}
}

func template_escape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&#34;", "'", "&#39;").Replace(s)
}

func TestPagesNoSecretInHTML(t *testing.T) {
	e := newPagesEnv(t, pagesConfig)
	check := func(when, p, body string) {
		t.Helper()
		if m := markerRE.FindAllString(body, -1); len(m) > 0 {
			t.Errorf("%s: %s shows secrets %v", when, p, m)
		}
	}
	for _, p := range allPages() {
		check("initial", p, e.get(p))
	}
	// change secrets and other fields, validate, then look again, including
	// the diff, the validation results and htmx fragments
	form := formOf(t, e.get("/group/SecurityKeys"), "/group/SecurityKeys")
	form.Set("f.SECRET_KEY", "Mk20newsecret")
	if w := e.post("/group/SecurityKeys", form); w.Code != http.StatusSeeOther {
		t.Fatalf("save: %d %s", w.Code, w.Body)
	}
	form = formOf(t, e.get("/group/Database"), "/group/Database")
	form.Set("f.DB_URI", strings.Replace(form.Get("f.DB_URI"), "db.example.com", "db2.example.com", 1))
	if w := e.post("/group/Database", form); w.Code != http.StatusSeeOther {
		t.Fatalf("save: %d %s", w.Code, w.Body)
	}
	if !strings.Contains(string(e.work()), "quay:Mk1dbpass@db2.example.com") {
		t.Fatalf("URI password not kept:\n%s", e.work())
	}
	w := e.post("/validate", url.Values{"mode": {"offline"}})
	check("results", "/validate", w.Body.String())
	w = e.send("POST", "/validate?group=Database", "application/x-www-form-urlencoded",
		strings.NewReader(url.Values{"_csrf": {e.sess.CSRF}}.Encode()), map[string]string{"HX-Request": "true"})
	check("htmx", "/validate?group=Database", w.Body.String())
	for _, p := range allPages() {
		check("after edits", p, e.get(p))
	}
	// a stale form with a typed secret: the conflict page does not echo it
	form = formOf(t, e.get("/group/Email"), "/group/Email")
	form.Set("rev", "0")
	form.Set("f.MAIL_PASSWORD", "Mk21typed")
	w = e.post("/group/Email", form)
	if w.Code != http.StatusConflict {
		t.Fatalf("stale: %d", w.Code)
	}
	check("conflict", "/group/Email", w.Body.String())
}

func TestPagesFieldEditChangesOnlyThatKey(t *testing.T) {
	e := newPagesEnv(t, pagesConfig)
	before := e.work()
	for _, g := range []string{"HostSettings", "AccessSettings", "Redis", "LDAP", "ElasticSearch", "OIDC", "GitHubLogin", "Database", "DistributedStorage"} {
		// submitting a form untouched changes nothing (no defaults written)
		action := "/group/" + g
		page := e.get(action)
		if g == "DistributedStorage" {
			action = "/storage" // one form for the whole storage page
		}
		form := formOf(t, page, action)
		if w := e.post(action, form); w.Code != http.StatusSeeOther {
			t.Fatalf("%s untouched: %d %s", g, w.Code, w.Body)
		}
		if got := e.work(); !bytes.Equal(got, before) {
			t.Fatalf("%s: untouched submit changed the file: %v", g, changedLines(before, got))
		}
	}
	form := formOf(t, e.get("/group/HostSettings"), "/group/HostSettings")
	form.Set("f.SERVER_HOSTNAME", "registry.example.org")
	w := e.post("/group/HostSettings", form)
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/group/HostSettings" {
		t.Fatalf("save: %d %q", w.Code, w.Header().Get("Location"))
	}
	diff := changedLines(before, e.work())
	if len(diff) != 2 || diff[0] != "-SERVER_HOSTNAME: quay.example.com" || diff[1] != "+SERVER_HOSTNAME: registry.example.org" {
		t.Fatalf("edit changed %q", diff)
	}
	// a nested field: only that line changes, its comment survives
	before = e.work()
	form = formOf(t, e.get("/group/Redis"), "/group/Redis")
	form.Set("f.BUILDLOGS_REDIS.port", "6380")
	if w := e.post("/group/Redis", form); w.Code != http.StatusSeeOther {
		t.Fatalf("redis: %d %s", w.Code, w.Body)
	}
	diff = changedLines(before, e.work())
	if len(diff) != 1 || diff[0] != "+  port: 6380" || !strings.Contains(string(e.work()), "password: Mk4redispass # keep this comment") {
		t.Fatalf("nested edit changed %q", diff)
	}
	// a checkbox turned on writes true; a list edit writes a list
	form = formOf(t, e.get("/group/AccessSettings"), "/group/AccessSettings")
	form.Add("f.FEATURE_USER_CREATION", "true")
	if w := e.post("/group/AccessSettings", form); w.Code != http.StatusSeeOther {
		t.Fatalf("access: %d", w.Code)
	}
	v := e.sess.Work.Config().Value()
	if v["FEATURE_USER_CREATION"] != true {
		t.Fatalf("checkbox: %v", v["FEATURE_USER_CREATION"])
	}
	// the page after the redirect says what happened
	if page := e.get("/group/AccessSettings"); !strings.Contains(page, "Saved Access settings: 1 change(s).") {
		t.Error("no flash message after saving")
	}
}

func TestPagesSecretKeepsOldValue(t *testing.T) {
	e := newPagesEnv(t, pagesConfig)
	page := e.get("/group/SecurityKeys")
	if !strings.Contains(page, `type="password" id="f-SECRET_KEY" name="f.SECRET_KEY" value="" autocomplete="new-password" placeholder="unchanged — type to replace"`) {
		t.Fatal("secret input is not an empty password with the keep placeholder")
	}
	form := formOf(t, page, "/group/SecurityKeys")
	if form.Get("f.SECRET_KEY") != "" {
		t.Fatal("secret rendered into the form")
	}
	form.Set("f.PAGE_TOKEN_KEY", "newpagetoken")
	if w := e.post("/group/SecurityKeys", form); w.Code != http.StatusSeeOther {
		t.Fatalf("save: %d", w.Code)
	}
	v := e.sess.Work.Config().Value()
	if v["SECRET_KEY"] != "Mk2secretkey" || v["PAGE_TOKEN_KEY"] != "newpagetoken" {
		t.Fatalf("SECRET_KEY=%v PAGE_TOKEN_KEY=%v", v["SECRET_KEY"], v["PAGE_TOKEN_KEY"])
	}
	// nested secret in a YAML textarea: the placeholder written back keeps it
	page = e.get("/group/ElasticSearch")
	if !strings.Contains(page, "secret_key: &lt;secret&gt;") {
		t.Fatal("YAML textarea does not show the secret placeholder")
	}
	form = formOf(t, page, "/group/ElasticSearch")
	form.Set("f.LOGS_MODEL_CONFIG.elasticsearch_config", strings.Replace(form.Get("f.LOGS_MODEL_CONFIG.elasticsearch_config"), "es.example.com", "es2.example.com", 1))
	if w := e.post("/group/ElasticSearch", form); w.Code != http.StatusSeeOther {
		t.Fatalf("es save: %d %s", w.Code, w.Body)
	}
	if !strings.Contains(string(e.work()), "secret_key: Mk12essecret") || !strings.Contains(string(e.work()), "es2.example.com") {
		t.Fatalf("YAML secret not restored:\n%s", e.work())
	}
	// "remove the stored value" deletes it
	form = formOf(t, e.get("/group/Email"), "/group/Email")
	form.Set("clear.MAIL_PASSWORD", "1")
	if w := e.post("/group/Email", form); w.Code != http.StatusSeeOther {
		t.Fatalf("clear: %d", w.Code)
	}
	if _, ok := e.sess.Work.Config().Value()["MAIL_PASSWORD"]; ok {
		t.Fatal("clear did not remove MAIL_PASSWORD")
	}
	// typing a new value replaces it
	form = formOf(t, e.get("/group/LDAP"), "/group/LDAP")
	form.Set("f.LDAP_ADMIN_PASSWD", "replaced-pw")
	if w := e.post("/group/LDAP", form); w.Code != http.StatusSeeOther {
		t.Fatalf("ldap: %d", w.Code)
	}
	if e.sess.Work.Config().Value()["LDAP_ADMIN_PASSWD"] != "replaced-pw" {
		t.Fatal("typed secret not stored")
	}
}

func TestPagesStaleRevConflictKeepsInput(t *testing.T) {
	e := newPagesEnv(t, pagesConfig)
	form := formOf(t, e.get("/group/HostSettings"), "/group/HostSettings")
	// another tab saves meanwhile
	other := formOf(t, e.get("/group/Redis"), "/group/Redis")
	other.Set("f.BUILDLOGS_REDIS.port", "6390")
	if w := e.post("/group/Redis", other); w.Code != http.StatusSeeOther {
		t.Fatal(w.Code)
	}
	before, rev := e.work(), e.rev()
	form.Set("f.SERVER_HOSTNAME", "typed-by-user.example.net")
	w := e.post("/group/HostSettings", form)
	if w.Code != http.StatusConflict {
		t.Fatalf("stale rev: %d, want 409", w.Code)
	}
	body := w.Body.String()
	if !strings.Contains(body, `value="typed-by-user.example.net"`) {
		t.Error("typed value lost on conflict")
	}
	if !strings.Contains(body, "configuration changed since this page was loaded") {
		t.Error("no conflict message")
	}
	if !strings.Contains(body, `name="rev" value="`+strconv.Itoa(rev)+`"`) {
		t.Error("conflict page does not carry the current revision")
	}
	if !bytes.Equal(before, e.work()) || e.rev() != rev {
		t.Fatal("stale form changed the working copy")
	}
	// submitting the re-rendered form saves
	form = formOf(t, body, "/group/HostSettings")
	if w := e.post("/group/HostSettings", form); w.Code != http.StatusSeeOther {
		t.Fatalf("resubmit: %d", w.Code)
	}
	if e.sess.Work.Config().Value()["SERVER_HOSTNAME"] != "typed-by-user.example.net" {
		t.Fatal("resubmitted value not saved")
	}
	// same for the storage editor
	st := formOf(t, e.get("/group/DistributedStorage"), "/storage")
	st.Set("rev", "0")
	st.Set("loc.0.a.s3_bucket", "typed-bucket")
	w = e.post("/storage", st)
	if w.Code != http.StatusConflict || !strings.Contains(w.Body.String(), `value="typed-bucket"`) {
		t.Fatalf("storage conflict: %d", w.Code)
	}
}

func TestPagesInputErrorsKeepInput(t *testing.T) {
	e := newPagesEnv(t, pagesConfig)
	before := e.work()
	form := formOf(t, e.get("/group/UserVisibleSettings"), "/group/UserVisibleSettings")
	form.Set("f.UI_MODELCARD_ANNOTATION", "a: [unclosed")
	form.Set("f.CONTACT_INFO", "mailto:admin@example.com")
	w := e.post("/group/UserVisibleSettings", form)
	if w.Code != http.StatusUnprocessableEntity {
		t.Fatalf("bad YAML: %d", w.Code)
	}
	body := w.Body.String()
	for _, want := range []string{"not valid YAML", "a: [unclosed</textarea>", "mailto:admin@example.com</textarea>",
		`id="f-UI_MODELCARD_ANNOTATION" class="code" name="f.UI_MODELCARD_ANNOTATION"`, `aria-invalid="true"`, `id="f-UI_MODELCARD_ANNOTATION-msg"`} {
		if !strings.Contains(body, want) {
			t.Errorf("422 page lacks %q", want)
		}
	}
	form = formOf(t, e.get("/group/AccessSettings"), "/group/AccessSettings")
	form.Set("f.PERMANENT_SESSION_LIFETIME", "a week")
	if w := e.post("/group/AccessSettings", form); w.Code != http.StatusUnprocessableEntity || !strings.Contains(w.Body.String(), "enter a whole number") {
		t.Fatalf("bad integer: %d", w.Code)
	}
	if !bytes.Equal(before, e.work()) {
		t.Fatal("a form with errors changed the working copy")
	}
}

func tarGz(t *testing.T, entries map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for name, body := range entries {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func (e *pagesEnv) upload(path, field, filename string, data []byte, extra url.Values) *httptest.ResponseRecorder {
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	_ = mw.WriteField("_csrf", e.sess.CSRF)
	_ = mw.WriteField("rev", strconv.Itoa(e.rev()))
	for k, vs := range extra {
		for _, v := range vs {
			_ = mw.WriteField(k, v)
		}
	}
	fw, _ := mw.CreateFormFile(field, filename)
	_, _ = fw.Write(data)
	_ = mw.Close()
	return e.send("POST", path, mw.FormDataContentType(), &body, nil)
}

func TestPagesUploadBundle(t *testing.T) {
	e := newPagesEnv(t, pagesConfig)
	before, rev := e.work(), e.rev()
	for name, data := range map[string][]byte{
		"traversal": tarGz(t, map[string]string{"config.yaml": "SERVER_HOSTNAME: x\n", "../evil": "x"}),
		"not gzip":  []byte("plain text, not a tarball"),
		"bad yaml":  tarGz(t, map[string]string{"config.yaml": "a: [unclosed\n"}),
	} {
		w := e.upload("/upload", "bundle", "quay-config.tar.gz", data, nil)
		if w.Code != http.StatusUnprocessableEntity {
			t.Errorf("%s: %d, want 422", name, w.Code)
		}
		if !strings.Contains(w.Body.String(), "The upload was refused and your working copy is unchanged") {
			t.Errorf("%s: no clear message", name)
		}
		if !bytes.Equal(before, e.work()) || e.rev() != rev {
			t.Fatalf("%s: working copy changed", name)
		}
	}
	good := tarGz(t, map[string]string{"config.yaml": "SERVER_HOSTNAME: uploaded.example.com\n", "ssl.cert": "x"})
	w := e.upload("/upload", "bundle", "quay-config.tar.gz", good, nil)
	if w.Code != http.StatusSeeOther {
		t.Fatalf("good upload: %d %s", w.Code, w.Body)
	}
	if e.sess.Work.Config().Value()["SERVER_HOSTNAME"] != "uploaded.example.com" {
		t.Fatal("upload did not replace the working copy")
	}
	if page := e.get("/diff"); !strings.Contains(page, "No changes to <code>config.yaml</code>") {
		t.Error("diff after upload is not against the uploaded bundle")
	}
}

func TestPagesDiffShowsChange(t *testing.T) {
	e := newPagesEnv(t, pagesConfig)
	if page := e.get("/diff"); !strings.Contains(page, "No changes to <code>config.yaml</code>") {
		t.Fatal("fresh session shows changes")
	}
	form := formOf(t, e.get("/group/HostSettings"), "/group/HostSettings")
	form.Set("f.SERVER_HOSTNAME", "changed.example.com")
	e.post("/group/HostSettings", form)
	form = formOf(t, e.get("/group/SecurityKeys"), "/group/SecurityKeys")
	form.Set("f.SECRET_KEY", "Mk30changedsecret")
	e.post("/group/SecurityKeys", form)
	page := e.get("/diff")
	for _, want := range []string{
		`<tr class="del"><td class="no">2</td><td class="no"></td><td class="sign">-</td><td><pre>SERVER_HOSTNAME: quay.example.com</pre>`,
		`<tr class="add"><td class="no"></td><td class="no">2</td><td class="sign">&#43;</td><td><pre>SERVER_HOSTNAME: changed.example.com</pre>`,
		`<pre>SECRET_KEY: &lt;secret&gt;</pre>`,
		`<pre>DB_URI: postgresql://quay:&lt;secret&gt;@db.example.com:5432/quay</pre>`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("diff lacks %q in\n%s", want, page[strings.Index(page, "<table"):])
		}
	}
	if markerRE.MatchString(page) {
		t.Error("diff shows a secret")
	}
	// files
	cert := testCertPEM(t)
	if w := e.upload("/certs", "cert", "corp-ca.crt", cert, nil); w.Code != http.StatusSeeOther {
		t.Fatalf("cert upload: %d %s", w.Code, w.Body)
	}
	if page := e.get("/diff"); !strings.Contains(page, `<span class="status added">added</span> <code>extra_ca_certs/corp-ca.crt</code>`) {
		t.Error("diff does not list the added file")
	}
}

func TestLineDiff(t *testing.T) {
	for _, tc := range []struct{ a, b, want string }{
		{"a b c", "a b c", " a b c"},
		{"a b c", "a x c", " a -b +x c"},
		{"a b c", "a c", " a -b c"},
		{"", "a", "+a"},
		{"a b c d", "b c d e", "-a b c d +e"},
	} {
		var got []string
		for _, l := range lineDiff(strings.Fields(tc.a), strings.Fields(tc.b)) {
			got = append(got, strings.TrimSpace(string(l.Op))+l.Text)
		}
		if g := strings.Join(got, " "); g != strings.TrimSpace(tc.want) {
			t.Errorf("diff(%q,%q) = %q, want %q", tc.a, tc.b, g, tc.want)
		}
	}
}

func TestPagesCertificates(t *testing.T) {
	e := newPagesEnv(t, pagesConfig)
	if w := e.upload("/certs", "cert", "junk.crt", []byte("not a certificate"), nil); w.Code != http.StatusUnprocessableEntity ||
		!strings.Contains(w.Body.String(), "not PEM") {
		t.Fatalf("junk cert: %d", w.Code)
	}
	if w := e.upload("/certs", "cert", "corp-ca.crt", testCertPEM(t), nil); w.Code != http.StatusSeeOther {
		t.Fatalf("cert: %d", w.Code)
	}
	page := e.get("/certs")
	for _, want := range []string{"<code>extra_ca_certs/corp-ca.crt</code>", `<span class="status valid">valid</span>`, "pages-test-ca", "ca.example.com"} {
		if !strings.Contains(page, want) {
			t.Errorf("certs page lacks %q", want)
		}
	}
	form := formOf(t, page, "/certs/remove")
	if w := e.post("/certs/remove", form); w.Code != http.StatusSeeOther {
		t.Fatalf("remove: %d", w.Code)
	}
	if _, ok := e.sess.Work.File("extra_ca_certs/corp-ca.crt"); ok {
		t.Fatal("certificate not removed")
	}
	// TLS pair slots on the server page
	if w := e.upload("/files", "file", "x.pem", []byte("junk"), url.Values{"name": {"ssl.key"}}); w.Code != http.StatusUnprocessableEntity {
		t.Fatalf("junk key: %d", w.Code)
	}
	if w := e.upload("/files", "file", "server.crt", testCertPEM(t), url.Values{"name": {"ssl.cert"}}); w.Code != http.StatusSeeOther {
		t.Fatalf("ssl.cert: %d", w.Code)
	}
	if page := e.get("/group/HostSettings"); !strings.Contains(page, "Names: ca.example.com") {
		t.Error("ssl.cert summary not shown")
	}
	if w := e.upload("/files", "file", "x", []byte("x"), url.Values{"name": {"../etc/passwd"}}); w.Code != http.StatusBadRequest {
		t.Fatalf("unknown slot: %d", w.Code)
	}
}

func TestPagesStorageEditor(t *testing.T) {
	e := newPagesEnv(t, pagesConfig)
	form := formOf(t, e.get("/group/DistributedStorage"), "/storage")
	form.Set("op", "add")
	form.Set("new.name", "eu-west")
	form.Set("new.driver", "S3Storage")
	if w := e.post("/storage", form); w.Code != http.StatusSeeOther {
		t.Fatalf("add: %d %s", w.Code, w.Body)
	}
	v := e.sess.Work.Config().Value()
	dsc := v[keyStorageConfig].(map[string]any)
	if _, ok := dsc["eu-west"]; !ok || fmt.Sprint(v[keyStoragePref]) != "[default eu-west]" {
		t.Fatalf("after add: %v pref %v", dsc, v[keyStoragePref])
	}
	// the new location lacks its bucket: validation puts the error next to it
	form = formOf(t, e.get("/group/DistributedStorage"), "/storage")
	w := e.send("POST", "/validate?group=DistributedStorage", "application/x-www-form-urlencoded",
		strings.NewReader(form.Encode()), map[string]string{"HX-Request": "true"})
	if w.Code != http.StatusOK {
		t.Fatalf("validate: %d", w.Code)
	}
	body := w.Body.String()
	if strings.Contains(body, "<html") {
		t.Error("htmx validation answered a full page")
	}
	if !regexp.MustCompile(`id="f-loc-1-s3_bucket" name="loc.1.a.s3_bucket" value="" placeholder="" spellcheck="false" aria-describedby="f-loc-1-s3_bucket-help f-loc-1-s3_bucket-msg" aria-invalid="true"`).MatchString(body) {
		t.Fatalf("s3_bucket of the new location not marked invalid:\n%s", body)
	}
	if !strings.Contains(body, `<ul class="msgs" id="f-loc-1-s3_bucket-msg">`) || !strings.Contains(body, `hx-swap-oob="innerHTML:#summary"`) {
		t.Error("no message next to the field or no summary update")
	}
	// fix it, move it up, make both default locations, turn replication on
	form = formOf(t, e.get("/group/DistributedStorage"), "/storage")
	form.Set("loc.1.a.s3_bucket", "quay-eu")
	form.Set("loc.1.a.storage_path", "/registry")
	form.Set("loc.0.default", "1")
	form.Set("loc.1.default", "1")
	form.Add("f.FEATURE_STORAGE_REPLICATION", "true")
	form.Set("op", "up:1")
	if w := e.post("/storage", form); w.Code != http.StatusSeeOther {
		t.Fatalf("save: %d %s", w.Code, w.Body)
	}
	v = e.sess.Work.Config().Value()
	if fmt.Sprint(v[keyStoragePref]) != "[eu-west default]" || fmt.Sprint(v[keyStorageDefaults]) != "[eu-west default]" || v[keyReplication] != true {
		t.Fatalf("pref %v defaults %v repl %v", v[keyStoragePref], v[keyStorageDefaults], v[keyReplication])
	}
	loc := v[keyStorageConfig].(map[string]any)["eu-west"].([]any)[1].(map[string]any)
	if loc["s3_bucket"] != "quay-eu" {
		t.Fatalf("args: %v", loc)
	}
	// the secret of the untouched location survived every round trip
	if !strings.Contains(string(e.work()), "s3_secret_key: Mk6s3secret") {
		t.Fatal("storage secret lost")
	}
	// rename and remove
	form = formOf(t, e.get("/group/DistributedStorage"), "/storage")
	form.Set("loc.1.name", "us-east")
	form.Set("op", "remove:0")
	if w := e.post("/storage", form); w.Code != http.StatusSeeOther {
		t.Fatalf("rename/remove: %d %s", w.Code, w.Body)
	}
	v = e.sess.Work.Config().Value()
	dsc = v[keyStorageConfig].(map[string]any)
	if len(dsc) != 1 || dsc["us-east"] == nil || fmt.Sprint(v[keyStoragePref]) != "[us-east]" {
		t.Fatalf("after rename/remove: %v %v", dsc, v[keyStoragePref])
	}
	if !strings.Contains(string(e.work()), "s3_secret_key: Mk6s3secret") {
		t.Fatal("storage secret lost on rename")
	}
	// duplicate names are refused with the input kept
	form = formOf(t, e.get("/group/DistributedStorage"), "/storage")
	form.Set("op", "add")
	form.Set("new.name", "us-east")
	if w := e.post("/storage", form); w.Code != http.StatusUnprocessableEntity || !strings.Contains(w.Body.String(), "names must be unique") {
		t.Fatalf("duplicate: %d", w.Code)
	}
}

func TestPagesValidateAll(t *testing.T) {
	e := newPagesEnv(t, pagesConfig)
	w := e.post("/validate", url.Values{"mode": {"offline"}})
	if w.Code != http.StatusOK {
		t.Fatalf("validate: %d", w.Code)
	}
	body := w.Body.String()
	if !strings.Contains(body, "<h1>Validation results</h1>") || !strings.Contains(body, `aria-live="polite"`) {
		t.Fatal("no results page with a live summary")
	}
	if _, err := bundle.New(e.work(), bundle.Limits{}); err != nil {
		t.Fatal(err)
	}
	if w := e.post("/validate", url.Values{"mode": {"sideways"}}); w.Code != http.StatusBadRequest {
		t.Fatalf("bad mode: %d", w.Code)
	}
}

func TestPagesDownload(t *testing.T) {
	e := newPagesEnv(t, pagesConfig)
	// the bundle has errors: the download asks first, naming the count
	w := e.send("GET", "/download", "", nil, nil)
	if w.Code != http.StatusOK || w.Header().Get("Content-Disposition") != "" ||
		!strings.Contains(w.Body.String(), "has 2 error(s)") || !strings.Contains(w.Body.String(), `href="/download?confirm=1"`) {
		t.Fatalf("download with errors did not ask: %d %v\n%s", w.Code, w.Header(), w.Body)
	}
	if e.sess.Lock(); e.sess.exportedRev != 0 {
		t.Fatal("asking counted as a download")
	}
	e.sess.Unlock()
	w = e.send("GET", "/download?confirm=1", "", nil, nil)
	if w.Code != http.StatusOK || w.Header().Get("Content-Disposition") != "attachment; filename=quay-config.tar.gz" {
		t.Fatalf("download: %d %v", w.Code, w.Header())
	}
	b, err := bundle.ReadTarGz(w.Body, bundle.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b.Config().Bytes(), []byte(pagesConfig)) {
		t.Fatal("downloaded config.yaml differs from the working copy")
	}
}

func testCertPEM(t *testing.T) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(7),
		Subject:               pkix.Name{CommonName: "pages-test-ca"},
		DNSNames:              []string{"ca.example.com"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(365 * 24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func TestPagesReadOnlyGroup(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "config.yaml"), []byte(pagesConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	srv, err := New(Config{Password: "pages-pw", BundlePath: dir, ReadOnlyGroups: []string{"Database", "DistributedStorage"}})
	if err != nil {
		t.Fatal(err)
	}
	e := &pagesEnv{t: t, srv: srv, dir: dir}
	w := e.send("POST", "/login", "application/x-www-form-urlencoded",
		strings.NewReader(url.Values{"username": {User}, "password": {"pages-pw"}}.Encode()), nil)
	for _, c := range w.Result().Cookies() {
		if c.Name == CookieName {
			e.cookie = c
		}
	}
	e.sess = srv.sessions.get(e.cookie.Value)
	page := e.get("/group/Database")
	if !strings.Contains(page, "managed by the Quay Operator") || !strings.Contains(page, `<fieldset class="plain" disabled>`) {
		t.Fatal("read-only group not shown disabled with a note")
	}
	before := e.work()
	form := formOf(t, page, "/group/Database")
	form.Set("f.DB_URI", "postgresql://x@elsewhere/db")
	if w := e.post("/group/Database", form); w.Code != http.StatusForbidden {
		t.Fatalf("read-only save: %d", w.Code)
	}
	st := formOf(t, e.get("/group/DistributedStorage"), "/storage")
	st.Set("op", "add")
	st.Set("new.name", "x")
	if w := e.post("/storage", st); w.Code != http.StatusForbidden {
		t.Fatalf("read-only storage: %d", w.Code)
	}
	if !bytes.Equal(before, e.work()) {
		t.Fatal("read-only group changed")
	}
	if !strings.Contains(e.get("/"), `Database <span class="tag">read-only</span>`) {
		t.Error("navigation does not mark the read-only group")
	}
}

// Online validation from htmx runs in the background; the progress page
// polls until every group reported. Every service points at a closed
// loopback port, so the probes fail fast and open nothing outside.
func TestPagesOnlineProgress(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	cfg := "SERVER_HOSTNAME: localhost\nDB_URI: postgresql://quay:pw@" + closed + "/quay\nBUILDLOGS_REDIS:\n  host: 127.0.0.1\n  port: " +
		closed[strings.LastIndex(closed, ":")+1:] + "\n"
	e := newPagesEnv(t, cfg)
	hx := map[string]string{"HX-Request": "true"}
	w := e.send("POST", "/validate", "application/x-www-form-urlencoded",
		strings.NewReader(url.Values{"_csrf": {e.sess.CSRF}, "mode": {"online"}}.Encode()), hx)
	if w.Code != http.StatusOK {
		t.Fatalf("start: %d %s", w.Code, w.Body)
	}
	body := w.Body.String()
	for i := 0; i < 300 && !strings.Contains(body, "<h1>Validation results</h1>"); i++ {
		if !strings.Contains(body, `hx-get="/validate/job" hx-trigger="every 1s"`) {
			t.Fatalf("progress fragment does not poll:\n%s", body)
		}
		time.Sleep(50 * time.Millisecond)
		w = e.send("GET", "/validate/job", "", nil, hx)
		body = w.Body.String()
	}
	if !strings.Contains(body, "<h1>Validation results</h1>") {
		t.Fatal("online validation never finished")
	}
	if !strings.Contains(body, "online validation of the whole configuration, revision 1") || !strings.Contains(body, "Database") {
		t.Fatalf("results do not show the online problems:\n%s", body)
	}
	// the Database page now shows the probe's failure next to DB_URI
	if page := e.get("/group/Database"); !strings.Contains(page, `id="f-DB_URI" name="f.DB_URI"`) ||
		!regexp.MustCompile(`id="f-DB_URI"[^>]*aria-invalid="true"`).MatchString(page) {
		t.Error("online problem not shown next to DB_URI")
	}
}

func TestPagesSetupSession(t *testing.T) {
	srv, err := New(Config{Password: "pages-pw"})
	if err != nil {
		t.Fatal(err)
	}
	e := &pagesEnv{t: t, srv: srv}
	w := e.send("POST", "/login", "application/x-www-form-urlencoded",
		strings.NewReader(url.Values{"username": {User}, "password": {"pages-pw"}}.Encode()), nil)
	for _, c := range w.Result().Cookies() {
		if c.Name == CookieName {
			e.cookie = c
		}
	}
	e.sess = srv.sessions.get(e.cookie.Value)
	for _, p := range allPages() {
		e.get(p)
	}
	if !strings.Contains(e.get("/"), "Setup session") {
		t.Error("setup session not explained")
	}
	// saving an untouched form of a setup session writes nothing
	for _, g := range []string{"AccessSettings", "Database", "Redis"} {
		form := formOf(t, e.get("/group/"+g), "/group/"+g)
		if w := e.post("/group/"+g, form); w.Code != http.StatusSeeOther {
			t.Fatalf("%s: %d", g, w.Code)
		}
	}
	if got := e.work(); len(bytes.TrimSpace(got)) != 0 {
		t.Fatalf("defaults were written:\n%s", got)
	}
}

// FuzzGroupForm feeds arbitrary text into every kind of input of a group;
// the result is either an input error or a document that still parses.
func FuzzGroupForm(f *testing.F) {
	for _, s := range []string{"", "x", "12", "true", "a: [", "- a\n- b", "&a [*a, *a]", "\x00", "postgresql://u:<secret>@h/db"} {
		f.Add("LDAP", s)
		f.Add("Database", s)
		f.Add("UserVisibleSettings", s)
	}
	cat := schema.Get()
	f.Fuzz(func(t *testing.T, group, text string) {
		g := cat.Group(group)
		if g == nil {
			return
		}
		b, err := bundle.New([]byte(pagesConfig), bundle.Limits{})
		if err != nil {
			t.Fatal(err)
		}
		cfg := b.Config().Value()
		p := &pages{}
		fields := p.groupFields(cat, g, cfg, nil)
		form := url.Values{}
		var each func(fs []*fieldView)
		each = func(fs []*fieldView) {
			for _, fv := range fs {
				form.Set(fv.Name, text)
				each(fv.Children)
			}
		}
		each(fields)
		edits, _ := collectEdits(cat, fields, cfg, form)
		if err := applyEdits(b.Config(), edits); err != nil {
			return // refused edits are fine; panics and corrupt documents are not
		}
		if _, err := bundle.New(b.Config().Bytes(), bundle.Limits{}); err != nil {
			t.Fatalf("edits produced an unreadable config: %v", err)
		}
	})
}

// A full online validation without JavaScript lists what the probes proved
// (a real Redis answering PING) beside the problems, without counting it.
func TestPagesOnlinePassed(t *testing.T) {
	rs := testenv.Redis(t)
	cfg := fmt.Sprintf("SERVER_HOSTNAME: localhost\nBUILDLOGS_REDIS:\n  host: %s\n  port: %d\n  password: %s\n", rs.Host, rs.Port, rs.Password)
	e := newPagesEnv(t, cfg)
	w := e.post("/validate", url.Values{"mode": {"online"}, "group": {"Redis"}})
	if w.Code != http.StatusOK {
		t.Fatalf("validate: %d %s", w.Code, w.Body)
	}
	page := w.Body.String()
	want := fmt.Sprintf("PING answered by the Redis of BUILDLOGS_REDIS at %s:%d", rs.Host, rs.Port)
	if !strings.Contains(page, `<li class="passed"><span class="sev">ok</span> `+want) {
		t.Fatalf("the section does not list what was proved (%q):\n%s", want, page)
	}
	if strings.Contains(page, rs.Password) {
		t.Fatal("the Redis password is in the page")
	}
	group := e.get("/group/Redis")
	if regexp.MustCompile(`id="f-BUILDLOGS_REDIS[^"]*"[^>]*aria-invalid="true"`).MatchString(group) {
		t.Error("a passed probe marked a Redis field invalid")
	}
	if !strings.Contains(group, "Proved by the online check") || !strings.Contains(group, want) {
		t.Error("the Redis section does not show what its online check proved")
	}
}
