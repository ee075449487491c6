package editor

// Deep links survive the login: a browser sent to the login page from a
// page carries that page along (/login?next=/group/Database), and the
// login returns there. Only a relative path on this server is accepted,
// so the parameter cannot send anyone elsewhere (no open redirect).

import (
	"net/http"
	"net/url"
	"strings"
)

// maxNext bounds the length of a page address carried through the login.
const maxNext = 2048

// safeNext returns next when it is a path on this server ("/group/X",
// "/search?q=redis"), else "/". Refused: absolute and scheme-relative
// URLs ("https://x", "//x", "/\x" which browsers read as "//x"),
// backslashes, control characters, the login and logout pages.
func safeNext(next string) string {
	if next == "" || len(next) > maxNext || next[0] != '/' || strings.HasPrefix(next, "//") {
		return "/"
	}
	for _, r := range next {
		if r < 0x20 || r == 0x7f || r == '\\' {
			return "/"
		}
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" || !strings.HasPrefix(u.Path, "/") ||
		strings.HasPrefix(u.Path, "//") {
		return "/"
	}
	if u.Path == "/login" || u.Path == "/logout" {
		return "/"
	}
	return next
}

// loginURL is where requireAuth sends a browser without a session: the
// login page, carrying the page asked for when it is one worth returning
// to (a GET of a page other than the overview; not a static asset).
func loginURL(r *http.Request) string {
	if r.Method != http.MethodGet && r.Method != http.MethodHead || strings.HasPrefix(r.URL.Path, "/static/") {
		return "/login"
	}
	target := r.URL.Path
	if r.URL.RawQuery != "" {
		target += "?" + r.URL.RawQuery
	}
	if next := safeNext(target); next != "/" {
		return "/login?next=" + url.QueryEscape(next)
	}
	return "/login"
}
