package editor

import (
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// Pushing a working copy with errors asks first, naming the count, as a
// download does (issue #7 item 7): the refusal shows "Push anyway, with N
// error(s)", and only force=on with that very count pushes; the old
// "push even with errors" checkbox alone (force=on) no longer does.
func TestOperatorPushAsksWithErrors(t *testing.T) {
	e := newOpEnv(t)
	first := e.current()
	if page := e.get("/operator"); strings.Contains(page, `name="force"`) || strings.Contains(page, "push-anyway") {
		t.Errorf("the push form offers to force before any error is known:\n%s", page)
	}
	// Email is no Operator component: its errors count for the push.
	e.edit("FEATURE_MAILING", true)
	w := e.send("POST", "/operator/push", url.Values{}, nil)
	body := w.Body.String()
	m := regexp.MustCompile(`Push anyway, with (\d+) error\(s\)`).FindStringSubmatch(body)
	if w.Code != http.StatusUnprocessableEntity || m == nil || !strings.Contains(body, "error(s) stop the push") || !strings.Contains(body, "MAIL_SERVER") {
		t.Fatalf("push with errors: %d, no confirmation naming the count:\n%s", w.Code, body)
	}
	n, _ := strconv.Atoi(m[1])
	if n < 1 || !strings.Contains(body, `name="confirm" value="`+m[1]+`"`) || !strings.Contains(body, `id="push-anyway"`) {
		t.Fatalf("confirmation form for %d error(s) incomplete:\n%s", n, body)
	}
	if e.current() != first {
		t.Fatal("a push with errors wrote before it was confirmed")
	}
	for _, form := range []url.Values{
		{"force": {"on"}}, // the old checkbox alone
		{"force": {"on"}, "confirm": {strconv.Itoa(n + 1)}}, // a count that is not (or no longer) the bundle's
		{"confirm": {m[1]}}, // a count without force
	} {
		w = e.send("POST", "/operator/push", form, nil)
		if w.Code != http.StatusUnprocessableEntity || !strings.Contains(w.Body.String(), "Push anyway, with "+m[1]+" error(s)") || e.current() != first {
			t.Errorf("%v: %d (registry uses %s), want the confirmation again and nothing pushed", form, w.Code, e.current())
		}
	}
	w = e.send("POST", "/operator/push", url.Values{"force": {"on"}, "confirm": {m[1]}}, nil)
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "Created bundle Secret reg-config-bundle-") || e.current() == first {
		t.Fatalf("confirmed push: %d (registry uses %s)\n%s", w.Code, e.current(), w.Body)
	}
	if strings.Contains(w.Body.String(), "push-anyway") {
		t.Error("the confirmation is still offered after the push")
	}
}
