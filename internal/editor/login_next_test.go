package editor

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestSafeNext(t *testing.T) {
	for in, want := range map[string]string{
		"/group/Database":                  "/group/Database",
		"/search?q=redis":                  "/search?q=redis",
		"/group/Database?field=X":          "/group/Database?field=X",
		"":                                 "/",
		"group/Database":                   "/",
		"//evil.example":                   "/",
		"///evil.example":                  "/",
		"/\\evil.example":                  "/",
		"/\\/evil.example":                 "/",
		"https://evil.example/":            "/",
		"javascript:alert(1)":              "/",
		"/%0d%0aSet-Cookie:x":              "/%0d%0aSet-Cookie:x", // escaped: a path, harmless
		"/a\r\nLocation: //x":              "/",
		"/a\tb":                            "/",
		"/login":                           "/",
		"/logout":                          "/",
		"/" + strings.Repeat("a", maxNext): "/",
	} {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
}

// A deep link survives the login; a foreign target does not.
func TestLoginReturnsToDeepLink(t *testing.T) {
	e := newPagesEnv(t, pagesConfig)
	anon := &pagesEnv{t: t, srv: e.srv}
	w := anon.send("GET", "/group/Database?field=DB_URI", "", nil, nil)
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/login?next="+url.QueryEscape("/group/Database?field=DB_URI") {
		t.Fatalf("GET without a session: %d Location %q", w.Code, w.Header().Get("Location"))
	}
	page := anon.send("GET", w.Header().Get("Location"), "", nil, nil).Body.String()
	if !strings.Contains(page, `name="next" value="/group/Database?field=DB_URI"`) {
		t.Fatalf("the login form does not carry the page: %s", page)
	}
	login := func(next string) string {
		form := url.Values{"username": {User}, "password": {"pages-pw"}, "next": {next}}
		w := anon.send("POST", "/login", "application/x-www-form-urlencoded", strings.NewReader(form.Encode()), nil)
		if w.Code != http.StatusSeeOther {
			t.Fatalf("login: %d", w.Code)
		}
		return w.Header().Get("Location")
	}
	if got := login("/group/Database?field=DB_URI"); got != "/group/Database?field=DB_URI" {
		t.Errorf("after login: %q", got)
	}
	for _, evil := range []string{"https://evil.example/", "//evil.example/x", "/\\evil.example"} {
		if got := login(evil); got != "/" {
			t.Errorf("login with next=%q went to %q", evil, got)
		}
	}
	// a wrong password keeps the page for the next attempt
	form := url.Values{"username": {User}, "password": {"wrong"}, "next": {"/certs"}}
	w = anon.send("POST", "/login", "application/x-www-form-urlencoded", strings.NewReader(form.Encode()), nil)
	if w.Code != http.StatusUnauthorized || !strings.Contains(w.Body.String(), `name="next" value="/certs"`) {
		t.Errorf("failed login: %d, next kept: %v", w.Code, strings.Contains(w.Body.String(), `value="/certs"`))
	}
	// the overview and POSTs go to the plain login page
	if w := anon.send("GET", "/", "", nil, nil); w.Header().Get("Location") != "/login" {
		t.Errorf("GET / without a session: %q", w.Header().Get("Location"))
	}
}
