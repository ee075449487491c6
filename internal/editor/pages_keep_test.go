package editor

// A saved section changes only the keys the user edited, even when the
// current value does not fit its widget: an out-of-enum value in a select,
// text in a checkbox, a list in a number field, a map in a list, a scalar
// in a map, a non-text secret, odd driver arguments. Such a value is shown,
// marked invalid with a message, and written back unchanged unless the user
// picks another. Each test saves the section with another field changed,
// as a browser without JavaScript posts it (CRLF line breaks) and as htmx
// posts it, and diffs config.yaml.

import (
	"bytes"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
	"golang.org/x/net/html"

	"github.com/quay-tools/config-editor/internal/schema"
)

// submitter posts a form one way a browser does.
type submitter struct {
	name     string
	native   bool // a native form post: every line break becomes CRLF
	hx       bool // an htmx request
	validate bool // "Save and validate this section"
}

var submitters = []submitter{{name: "no-js", native: true}, {name: "htmx", hx: true}, {name: "save-and-validate", hx: true, validate: true}}

func (s submitter) post(e *pagesEnv, path, group string, form url.Values) {
	e.t.Helper()
	want := http.StatusSeeOther
	if s.validate {
		path, want = "/validate?group="+group, http.StatusOK
	}
	if form.Get("_csrf") == "" {
		form.Set("_csrf", e.sess.CSRF)
	}
	if s.native {
		crlf := url.Values{}
		for k, vs := range form {
			for _, v := range vs {
				v = strings.ReplaceAll(strings.ReplaceAll(v, "\r\n", "\n"), "\n", "\r\n")
				crlf.Add(k, v)
			}
		}
		form = crlf
	}
	hdr := map[string]string{}
	if s.hx {
		hdr["HX-Request"] = "true"
	}
	w := e.send("POST", path, "application/x-www-form-urlencoded", strings.NewReader(form.Encode()), hdr)
	if w.Code != want {
		e.t.Fatalf("%s POST %s: %d\n%s", s.name, path, w.Code, w.Body)
	}
}

// elementByID finds an element of a page.
func elementByID(t *testing.T, page, id string) *html.Node {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	var found *html.Node
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if found != nil {
			return
		}
		if n.Type == html.ElementNode && attr(n, "id") == id {
			found = n
			return
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	return found
}

func textOf(n *html.Node) string {
	var b strings.Builder
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return b.String()
}

// assertMarked checks that the control with the given id is marked invalid
// for assistive technology and described by a message containing want.
func assertMarked(t *testing.T, page, id, want string) {
	t.Helper()
	el := elementByID(t, page, id)
	if el == nil {
		t.Errorf("no control %s", id)
		return
	}
	if attr(el, "aria-invalid") != "true" {
		t.Errorf("%s is not aria-invalid", id)
	}
	if !strings.Contains(" "+attr(el, "aria-describedby")+" ", " "+id+"-msg ") {
		t.Errorf("%s is not described by %s-msg: %q", id, id, attr(el, "aria-describedby"))
	}
	msg := elementByID(t, page, id+"-msg")
	if msg == nil {
		t.Errorf("no message %s-msg", id)
		return
	}
	if got := textOf(msg); !strings.Contains(got, want) {
		t.Errorf("message of %s is %q, want it to contain %q", id, got, want)
	}
}

// keepCase loads cfg, checks the marked fields, saves the group with
// change applied and compares the changed lines of config.yaml.
type keepCase struct {
	cfg    string
	page   string            // page to load
	action string            // form to submit; the page's own path when empty
	marked map[string]string // control id -> message part
	change func(url.Values)
	diff   []string
}

// set runs kc with the form's field key set to value, wanting diff.
func (kc keepCase) set(t *testing.T, key, value string, diff ...string) {
	kc.change = func(f url.Values) { f.Set(key, value) }
	kc.diff = diff
	kc.run(t)
}

func (kc keepCase) run(t *testing.T) {
	if kc.action == "" {
		kc.action = kc.page
	}
	for _, s := range submitters {
		t.Run(s.name, func(t *testing.T) {
			e := newPagesEnv(t, kc.cfg)
			before := e.work()
			page := e.get(kc.page)
			for id, want := range kc.marked {
				assertMarked(t, page, id, want)
			}
			form := formOf(t, page, kc.action)
			group := strings.TrimPrefix(kc.page, "/group/")
			// untouched, the form changes nothing
			s.post(e, kc.action, group, form)
			if got := e.work(); !bytes.Equal(got, before) {
				t.Fatalf("untouched save changed %q", changedLines(before, got))
			}
			form = formOf(t, e.get(kc.page), kc.action)
			kc.change(form)
			s.post(e, kc.action, group, form)
			diff := changedLines(before, e.work())
			if strings.Join(diff, "\n") != strings.Join(kc.diff, "\n") {
				t.Fatalf("save changed\n%s\nwant\n%s\nconfig now:\n%s", strings.Join(diff, "\n"), strings.Join(kc.diff, "\n"), e.work())
			}
		})
	}
}

func TestKeepSelectOutsideEnum(t *testing.T) {
	cfg := "SERVER_HOSTNAME: quay.example.com\nAUTHENTICATION_TYPE: Kerberos\nSESSION_COOKIE_SAMESITE: 7\nFEATURE_USER_RENAME: false\n"
	keepCase{
		cfg: cfg, page: "/group/AccessSettings",
		marked: map[string]string{
			"f-AUTHENTICATION_TYPE":     "Kerberos is not one of the choices",
			"f-SESSION_COOKIE_SAMESITE": "7 is not one of the choices",
		},
		change: func(f url.Values) { f.Add("f.FEATURE_USER_RENAME", "true") },
		diff:   []string{"-FEATURE_USER_RENAME: false", "+FEATURE_USER_RENAME: true"},
	}.run(t)
	// the current value is the selected choice, shown as what it is
	e := newPagesEnv(t, cfg)
	page := e.get("/group/AccessSettings")
	sel := elementByID(t, page, "f-AUTHENTICATION_TYPE")
	var selected []string
	for c := sel.FirstChild; c != nil; c = c.NextSibling {
		if _, ok := attrOK(c, "selected"); ok {
			selected = append(selected, textOf(c))
		}
	}
	if len(selected) != 1 || !strings.HasPrefix(selected[0], "Kerberos") {
		t.Fatalf("selected options %q, want the current value Kerberos", selected)
	}
	// picking a valid value replaces it, and only it
	keepCase{cfg: cfg, page: "/group/AccessSettings"}.set(t, "f.AUTHENTICATION_TYPE", "LDAP",
		"-AUTHENTICATION_TYPE: Kerberos", "+AUTHENTICATION_TYPE: LDAP")
	// an input error elsewhere shows the form again with the current
	// value still the selected choice; the corrected form keeps it
	e = newPagesEnv(t, cfg)
	before := e.work()
	form := formOf(t, e.get("/group/AccessSettings"), "/group/AccessSettings")
	form.Set("f.PERMANENT_SESSION_LIFETIME", "a week")
	w := e.post("/group/AccessSettings", form)
	if w.Code != http.StatusUnprocessableEntity {
		t.Fatalf("bad number: %d", w.Code)
	}
	assertMarked(t, w.Body.String(), "f-AUTHENTICATION_TYPE", "Kerberos is not one of the choices")
	form = formOf(t, w.Body.String(), "/group/AccessSettings")
	if form.Get("f.AUTHENTICATION_TYPE") != keepToken {
		t.Fatalf("re-rendered form submits %q for AUTHENTICATION_TYPE", form.Get("f.AUTHENTICATION_TYPE"))
	}
	form.Set("f.PERMANENT_SESSION_LIFETIME", "3600")
	if w := e.post("/group/AccessSettings", form); w.Code != http.StatusSeeOther {
		t.Fatalf("corrected: %d", w.Code)
	}
	if diff := changedLines(before, e.work()); strings.Join(diff, "|") != "+PERMANENT_SESSION_LIFETIME: 3600" {
		t.Fatalf("corrected save changed %q", diff)
	}
	// choosing "not set" removes it
	keepCase{cfg: cfg, page: "/group/AccessSettings"}.set(t, "f.AUTHENTICATION_TYPE", "",
		"-AUTHENTICATION_TYPE: Kerberos")
}

func TestKeepCheckboxNotBoolean(t *testing.T) {
	cfg := "FEATURE_USER_CREATION: \"yes\"\nFEATURE_DIRECT_LOGIN: 1\nFEATURE_USER_RENAME: [true]\nSESSION_COOKIE_NAME: quay\n"
	keepCase{
		cfg: cfg, page: "/group/AccessSettings",
		marked: map[string]string{
			"f-FEATURE_USER_CREATION": "not true or false",
			"f-FEATURE_DIRECT_LOGIN":  "not true or false",
			"f-FEATURE_USER_RENAME":   "not true or false",
		},
	}.set(t, "f.SESSION_COOKIE_NAME", "quay2",
		"-SESSION_COOKIE_NAME: quay", "+SESSION_COOKIE_NAME: quay2")
	// choosing off replaces the text with false
	keepCase{cfg: cfg, page: "/group/AccessSettings"}.set(t, "f.FEATURE_USER_CREATION", "false",
		"-FEATURE_USER_CREATION: \"yes\"", "+FEATURE_USER_CREATION: false")
}

func TestKeepNumberWrongType(t *testing.T) {
	cfg := "LDAP_URI: ldap://ldap.example.com\nLDAP_CACHE_TTL: [1]\nLDAP_NETWORK_TIMEOUT:\n  a: 1\n  b: 2\nLDAP_POOL_SIZE: ten\nLDAP_TIMEOUT: true\nLDAP_POOL_MAX_WAIT: 1.5\n"
	keepCase{
		cfg: cfg, page: "/group/LDAP",
		marked: map[string]string{
			"f-LDAP_CACHE_TTL":       "is a list",
			"f-LDAP_NETWORK_TIMEOUT": "is a map",
			"f-LDAP_POOL_SIZE":       "is text",
			"f-LDAP_TIMEOUT":         "is true or false",
		},
	}.set(t, "f.LDAP_URI", "ldap://ldap2.example.com",
		"-LDAP_URI: ldap://ldap.example.com", "+LDAP_URI: ldap://ldap2.example.com")
	// typing a number replaces the map
	keepCase{cfg: cfg, page: "/group/LDAP"}.set(t, "f.LDAP_NETWORK_TIMEOUT", "30",
		"-LDAP_NETWORK_TIMEOUT:", "-  a: 1", "-  b: 2", "+LDAP_NETWORK_TIMEOUT: 30")
}

func TestKeepListWrongShape(t *testing.T) {
	cfg := "BLACKLISTED_EMAIL_DOMAINS:\n  a: 1\n  b: 2\nRECAPTCHA_WHITELISTED_USERS: [\"\", bob]\nDIRECT_OAUTH_CLIENTID_WHITELIST: [1, {a: b}]\nSESSION_COOKIE_NAME: quay\n"
	keepCase{
		cfg: cfg, page: "/group/AccessSettings",
		marked: map[string]string{
			"f-BLACKLISTED_EMAIL_DOMAINS":       "is a map",
			"f-DIRECT_OAUTH_CLIENTID_WHITELIST": "not text",
		},
	}.set(t, "f.SESSION_COOKIE_NAME", "quay2",
		"-SESSION_COOKIE_NAME: quay", "+SESSION_COOKIE_NAME: quay2")
	// editing the lines replaces the map with a list
	keepCase{cfg: cfg, page: "/group/AccessSettings"}.set(t, "f.BLACKLISTED_EMAIL_DOMAINS", "example.com\nexample.org",
		"-  a: 1", "+  - example.com", "-  b: 2", "+  - example.org")
}

func TestKeepMapWrongShape(t *testing.T) {
	cfg := "REGISTRY_TITLE: Quay\nUI_MODELCARD_ANNOTATION: just text\nUI_MODELCARD_LAYER_ANNOTATION: [a, b]\nBRANDING: logo.png\nFOOTER_LINKS:\n  - a\n  - b\n"
	keepCase{
		cfg: cfg, page: "/group/UserVisibleSettings",
		marked: map[string]string{
			"f-UI_MODELCARD_ANNOTATION":       "is text",
			"f-UI_MODELCARD_LAYER_ANNOTATION": "is a list",
			"f-BRANDING":                      "is text",
			"f-FOOTER_LINKS":                  "is a list",
		},
	}.set(t, "f.REGISTRY_TITLE", "My Quay",
		"-REGISTRY_TITLE: Quay", "+REGISTRY_TITLE: My Quay")
	// the whole value of a nested object that is not a map is editable as YAML
	keepCase{cfg: cfg, page: "/group/UserVisibleSettings"}.set(t, "f.BRANDING", "logo: logo.png",
		"-BRANDING: logo.png", "+BRANDING:", "+  logo: logo.png")
}

func TestKeepSecretNotText(t *testing.T) {
	cfg := "SECRET_KEY: 123456789\nDATABASE_SECRET_KEY:\n  part: Mk30nested\nINSTANCE_SERVICE_KEY_SERVICE: quay\n"
	keepCase{
		cfg: cfg, page: "/group/SecurityKeys",
		marked: map[string]string{
			"f-SECRET_KEY":          "is a whole number, not text",
			"f-DATABASE_SECRET_KEY": "is a map, not text",
		},
	}.set(t, "f.INSTANCE_SERVICE_KEY_SERVICE", "quay2",
		"-INSTANCE_SERVICE_KEY_SERVICE: quay", "+INSTANCE_SERVICE_KEY_SERVICE: quay2")
	e := newPagesEnv(t, cfg)
	page := e.get("/group/SecurityKeys")
	if strings.Contains(page, "123456789") || strings.Contains(page, "Mk30nested") {
		t.Fatal("the page shows a secret that is not text")
	}
	// typing a value replaces it
	keepCase{cfg: cfg, page: "/group/SecurityKeys"}.set(t, "f.DATABASE_SECRET_KEY", "typed",
		"-DATABASE_SECRET_KEY:", "-  part: Mk30nested", "+DATABASE_SECRET_KEY: typed")
}

func TestKeepTextNotSingleLine(t *testing.T) {
	cfg := "REGISTRY_TITLE: \"two\\nlines\"\nREGISTRY_TITLE_SHORT:\n  a: 1\n  b: 2\nENTERPRISE_LOGO_URL: \"x\\ry\"\nUI_V2_FEEDBACK_FORM: \"  padded\"\nCONTACT_INFO: [a]\n"
	keepCase{
		cfg: cfg, page: "/group/UserVisibleSettings",
		marked: map[string]string{"f-REGISTRY_TITLE_SHORT": "is a map"},
	}.set(t, "f.CONTACT_INFO", "b",
		"-CONTACT_INFO: [a]", "+CONTACT_INFO: [b]")
}

func TestKeepStorageOddValues(t *testing.T) {
	cfg := `DISTRIBUTED_STORAGE_CONFIG:
  default:
    - S3Storage
    - s3_bucket: quay
      storage_path: /registry
      host: [a, b]
      port:
        x: 1
        y: 2
      s3_secret_key: 42
  odd:
    - LocalStorage
    - just-a-string
  weird: not a pair
  future:
    - FutureStorage
    - a: 1
  bad name!:
    - LocalStorage
    - storage_path: /x
DISTRIBUTED_STORAGE_PREFERENCE: default
DISTRIBUTED_STORAGE_DEFAULT_LOCATIONS: [default, gone]
FEATURE_STORAGE_REPLICATION: "yes"
`
	var idx string
	find := func(t *testing.T, page string) {
		form := formOf(t, page, "/storage")
		for k, v := range form {
			if strings.HasSuffix(k, ".orig") && v[0] == "default" {
				idx = strings.TrimSuffix(strings.TrimPrefix(k, "loc."), ".orig")
			}
		}
		if idx == "" {
			t.Fatal("no location default in the form")
		}
	}
	e := newPagesEnv(t, cfg)
	page := e.get("/group/DistributedStorage")
	find(t, page)
	for id, want := range map[string]string{
		"f-loc-" + idx + "-host":          "is a list",
		"f-loc-" + idx + "-port":          "is a map",
		"f-loc-" + idx + "-s3_secret_key": "not text",
		"f-FEATURE_STORAGE_REPLICATION":   "not true or false",
	} {
		assertMarked(t, page, id, want)
	}
	for _, want := range []string{"FutureStorage", "not written as", "DISTRIBUTED_STORAGE_PREFERENCE"} {
		if !strings.Contains(page, want) {
			t.Errorf("storage page does not mention %q", want)
		}
	}
	storage := keepCase{cfg: cfg, page: "/group/DistributedStorage", action: "/storage"}
	storage.set(t, "loc."+idx+".a.s3_bucket", "quay2",
		"-    - s3_bucket: quay", "+    - s3_bucket: quay2")
	// a changed driver argument replaces the odd value
	storage.set(t, "loc."+idx+".a.port", "443",
		"-      port:", "-        x: 1", "-        y: 2", "+      port: 443")
}

var describedByRE = regexp.MustCompile(`aria-describedby="([^"]*)"`)

// Every field of every section, holding a value of each odd shape, survives
// an untouched save of its section, as a native post and as htmx posts it.
func TestKeepEveryFieldUntouched(t *testing.T) {
	cat := schema.Get()
	shapes := map[string]any{
		"word":      "Kerberos",
		"lines":     "two\nlines",
		"padded":    "  padded\t",
		"cr-nul":    "a\rb\x00c",
		"number":    12,
		"fraction":  1.5,
		"bool":      true,
		"null":      nil,
		"empty":     "",
		"list":      []any{1, map[string]any{"a": "b"}, "", " x"},
		"map":       map[string]any{"a": 1, "b": []any{"x"}},
		"emptylist": []any{},
		"emptymap":  map[string]any{},
	}
	for name, shape := range shapes {
		t.Run(name, func(t *testing.T) {
			cfg := map[string]any{}
			for _, k := range cat.Keys() {
				if spec := cat.Spec(k); spec.Widget == schema.WidgetNested {
					m := map[string]any{}
					for _, p := range spec.Children {
						m[p.Name] = shape
					}
					cfg[k] = m
					continue
				}
				cfg[k] = shape
			}
			args := map[string]any{}
			for _, a := range cat.DriverSpec("S3Storage").ArgNames() {
				args[a] = shape
			}
			cfg[keyStorageConfig] = map[string]any{"one": []any{"S3Storage", args}, "two": shape}
			text, err := yaml.Marshal(cfg)
			if err != nil {
				t.Fatal(err)
			}
			e := newPagesEnv(t, string(text))
			before := e.work()
			for _, s := range submitters[:2] {
				for _, g := range cat.Groups() {
					page := e.get("/group/" + g.Name)
					// every message a control points at exists
					for _, m := range describedByRE.FindAllStringSubmatch(page, -1) {
						for _, id := range strings.Fields(m[1]) {
							if !strings.Contains(page, `id="`+id+`"`) {
								t.Errorf("%s: aria-describedby names %s, which is not on the page", g.Name, id)
							}
						}
					}
					for _, action := range []string{"/group/" + g.Name, "/storage"} {
						if !strings.Contains(page, `action="`+action+`"`) {
							continue
						}
						s.post(e, action, g.Name, formOf(t, page, action))
						if got := e.work(); !bytes.Equal(got, before) {
							t.Fatalf("%s: untouched %s of %s changed %q", s.name, action, g.Name, changedLines(before, got))
						}
					}
				}
			}
		})
	}
}
