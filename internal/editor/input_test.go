package editor

import (
	"strings"
	"testing"
)

// TestFileDirectoryClashIs400: a cert named "config.yaml/x" (or "a" next
// to "a/b") would make a tarball that GNU tar and our own validate refuse:
// every route that reads a ConfigBundle answers 400 naming both paths and
// the working copy is untouched.
func TestFileDirectoryClashIs400(t *testing.T) {
	ts := newTestServer(t, true)
	for _, tc := range []struct{ certs, a, b string }{
		{`{"config.yaml/x": "QQ=="}`, "config.yaml/x", "config.yaml"},
		{`{"a": "QQ==", "a/b": "QQ=="}`, "a/b", "a"},
		{`{"extra_ca_certs/x.crt/y": "QQ==", "extra_ca_certs/x.crt": "QQ=="}`, "extra_ca_certs/x.crt/y", "extra_ca_certs/x.crt"},
	} {
		body := `{"config.yaml": {"SERVER_HOSTNAME": "quay.example.com"}, "certs": ` + tc.certs + `}`
		for _, r := range []struct{ method, path string }{
			{"PUT", "/api/v1/config"}, {"POST", "/api/v1/config/validate"}, {"POST", "/api/v1/config/download"},
		} {
			w := ts.do(req{method: r.method, path: r.path, basic: true, body: strings.NewReader(body)})
			if w.Code != 400 {
				t.Errorf("%s %s with certs %s: %d %s, want 400", r.method, r.path, tc.certs, w.Code, w.Body)
				continue
			}
			if msg := assertJSONMessage(t, w); !strings.Contains(msg, tc.a+" clashes with "+tc.b) {
				t.Errorf("%s %s: message %q does not name %s and %s", r.method, r.path, msg, tc.a, tc.b)
			}
		}
	}
	if w := ts.do(req{method: "GET", path: "/api/v1/config", basic: true}); w.Header().Get("ETag") != `"1"` {
		t.Errorf("working copy changed by refused PUTs: ETag %q", w.Header().Get("ETag"))
	}
}
