package editor

import (
	"io"
	"strings"
	"testing"
)

// The cross-origin half of the CSRF check is http.CrossOriginProtection:
// a request the browser marks same-site (a sibling host, not this origin)
// is refused like a cross-site one, while a same-origin request passes even
// when the browser hides its Origin (Origin: null under no-referrer).
func TestCSRFCrossOrigin(t *testing.T) {
	ts := newTestServer(t, true)
	ck, sess := ts.login(t)
	body := func() io.Reader { return strings.NewReader(`{"config.yaml": {"SERVER_HOSTNAME": "quay.example.com"}}`) }
	for _, tc := range []struct {
		name   string
		header map[string]string
		want   int
	}{
		{"same-site", map[string]string{"Sec-Fetch-Site": "same-site"}, 403},
		{"same-site with this Origin", map[string]string{"Sec-Fetch-Site": "same-site", "Origin": "http://example.com"}, 403},
		{"same-origin, Origin null", map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": "null"}, 200},
		{"typed into the address bar", map[string]string{"Sec-Fetch-Site": "none"}, 200},
		{"no browser headers", map[string]string{}, 200},
	} {
		if w := ts.do(req{method: "POST", path: "/api/v1/config/validate", basic: true, body: body(), header: tc.header}); w.Code != tc.want {
			t.Errorf("basic POST, %s: %d, want %d", tc.name, w.Code, tc.want)
		}
		h := map[string]string{"Content-Type": "application/json", CSRFHeader: sess.CSRF}
		for k, v := range tc.header {
			h[k] = v
		}
		if w := ts.do(req{method: "POST", path: "/api/v1/config/validate", cookie: ck, body: body(), header: h}); w.Code != tc.want {
			t.Errorf("session POST with its token, %s: %d, want %d", tc.name, w.Code, tc.want)
		}
	}
}
