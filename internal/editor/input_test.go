package editor

import (
	"bytes"
	"strconv"
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

// TestValidateParsesAsStrictlyAsPut: the validate route refuses what PUT
// refuses: a repeated "config.yaml", bytes that are not UTF-8 and lone
// surrogate escapes (encoding/json would have turned both into U+FFFD and
// validated something the client did not send).
func TestValidateParsesAsStrictlyAsPut(t *testing.T) {
	ts := newTestServer(t, true)
	for _, tc := range []struct{ name, body, want string }{
		{"repeated config.yaml", `{"config.yaml": {"SERVER_HOSTNAME": "quay.example.com"}, "config.yaml": {"SERVER_HOSTNAME": "x"}}`, `Key "config.yaml" is repeated`},
		{"repeated config.yaml, other case", `{"config.yaml": {"SERVER_HOSTNAME": "a.example.com"}, "CONFIG.YAML": "SERVER_HOSTNAME: b.example.com\n"}`, `Key "config.yaml" is repeated`},
		{"invalid UTF-8 in the object", "{\"config.yaml\": {\"SERVER_HOSTNAME\": \"quay.ex\xffample.com\"}}", "not valid UTF-8 at line 1, column 45"},
		{"invalid UTF-8 in YAML text", "{\"config.yaml\": \"SERVER_HOSTNAME: quay.ex\xffample.com\\n\"}", "not valid UTF-8"},
		{"lone surrogate", `{"config.yaml": {"SERVER_HOSTNAME": "quay.ex\udc00ample.com"}}`, `\udc00, half of a UTF-16 surrogate pair`},
	} {
		for _, r := range []struct{ method, path string }{
			{"PUT", "/api/v1/config"}, {"POST", "/api/v1/config/validate"}, {"POST", "/api/v1/config/download"},
		} {
			w := ts.do(req{method: r.method, path: r.path, basic: true, body: strings.NewReader(tc.body)})
			if w.Code != 400 {
				t.Errorf("%s: %s %s: %d %.300s, want 400", tc.name, r.method, r.path, w.Code, w.Body)
				continue
			}
			if msg := assertJSONMessage(t, w); !strings.Contains(msg, tc.want) {
				t.Errorf("%s: %s %s: message %q lacks %q", tc.name, r.method, r.path, msg, tc.want)
			}
		}
	}
	if w := ts.do(req{method: "GET", path: "/api/v1/config", basic: true}); w.Header().Get("ETag") != `"1"` {
		t.Errorf("working copy changed by refused PUTs: ETag %q", w.Header().Get("ETag"))
	}
}

// manyCerts is a ConfigBundle whose certs object has n empty entries.
func manyCerts(n int) []byte {
	var b bytes.Buffer
	b.WriteString(`{"config.yaml": {"SERVER_HOSTNAME": "quay.example.com"}, "certs": {`)
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`"` + strconv.FormatInt(int64(i), 36) + `":""`)
	}
	b.WriteString(`}}`)
	return b.Bytes()
}

// TestManyCertsRefusedAtTheCap: 1.4 million certs entries (the body fits
// the limit) are refused by every route with the cap in the message.
func TestManyCertsRefusedAtTheCap(t *testing.T) {
	ts := newTestServer(t, false)
	body := manyCerts(1_400_000)
	if len(body) > BundleBodyLimit {
		t.Fatalf("test body %d bytes is over the body limit; it must reach the parser", len(body))
	}
	for _, r := range []struct{ method, path string }{
		{"PUT", "/api/v1/config"}, {"POST", "/api/v1/config/validate"}, {"POST", "/api/v1/config/download"},
	} {
		w := ts.do(req{method: r.method, path: r.path, basic: true, body: bytes.NewReader(body)})
		if w.Code != 400 {
			t.Fatalf("%s %s: %d", r.method, r.path, w.Code)
		}
		if msg := assertJSONMessage(t, w); !strings.Contains(msg, "Certs has more than 1000 entries") {
			t.Errorf("%s %s: message %q does not name the cap", r.method, r.path, msg)
		}
	}
}

// BenchmarkManyCertsRefused: the cost of refusing a certs object with 1.4
// million entries (was 5.7 s and 238 MB allocated per request on validate).
func BenchmarkManyCertsRefused(b *testing.B) {
	ts := newTestServer(b, false)
	body := manyCerts(1_400_000)
	for _, r := range []struct{ method, path string }{{"PUT", "/api/v1/config"}, {"POST", "/api/v1/config/validate"}} {
		b.Run(r.method, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				if w := ts.do(req{method: r.method, path: r.path, basic: true, body: bytes.NewReader(body)}); w.Code != 400 {
					b.Fatal(w.Code)
				}
			}
		})
	}
}
