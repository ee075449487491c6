package editor

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

// Validation results live on the session and are stamped with the
// injected clock, as are the certificate statuses the pages show.
func TestPagesValidationUsesTheClock(t *testing.T) {
	future := time.Now().Add(3 * 365 * 24 * time.Hour).UTC().Truncate(time.Second)
	e := newPagesEnvConfig(t, pagesConfig, Config{Now: func() time.Time { return future }})
	w := e.post("/validate", url.Values{"mode": {"offline"}, "group": {"Database"}})
	if w.Code != http.StatusOK {
		t.Fatalf("validate: %d %s", w.Code, w.Body)
	}
	st := e.sess.validationSnapshot()
	if !st.When.Equal(future) || !st.Checked["Database"] {
		t.Fatalf("validation state: when %v (want %v), checked %v", st.When, future, st.Checked)
	}
	// a certificate valid for a year today has expired three years on
	w = e.upload("/certs", "cert", "ca.crt", testCertPEM(t), nil)
	if w.Code != http.StatusSeeOther {
		t.Fatalf("upload: %d %s", w.Code, w.Body)
	}
	page := e.get("/certs")
	if !strings.Contains(page, "expired") {
		t.Fatalf("the certificate is not shown as expired at the injected time:\n%s", page)
	}
}

// Whenever only a page's content block is sent (an htmx request that is
// not boosted), the out-of-band updates of the navigation, summary and
// revision come with it; a full page never carries them.
func TestPagesHTMXOneCheck(t *testing.T) {
	e := newPagesEnv(t, pagesConfig)
	oob := regexp.MustCompile(`hx-swap-oob=`)
	for _, req := range []string{"", "true"} {
		for _, boosted := range []string{"", "true", "false"} {
			hdr := map[string]string{}
			if req != "" {
				hdr[hxRequest] = req
			}
			if boosted != "" {
				hdr[hxBoosted] = boosted
			}
			for _, path := range []string{"/", "/group/Database", "/certs", "/diff"} {
				w := e.send("GET", path, "", nil, hdr)
				if w.Code != http.StatusOK {
					t.Fatalf("%s %v: %d", path, hdr, w.Code)
				}
				body := w.Body.String()
				full := strings.Contains(body, "<html")
				wantPartial := req == "true" && boosted != "true"
				if full == wantPartial {
					t.Errorf("%s %v: full page %v, want partial %v", path, hdr, full, wantPartial)
				}
				if got := oob.MatchString(body); got != wantPartial {
					t.Errorf("%s %v: out-of-band updates %v, want %v", path, hdr, got, wantPartial)
				}
			}
		}
	}
}
