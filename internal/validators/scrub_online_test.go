package validators

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/quay-tools/config-editor/internal/problem"
)

// A server that echoes the client secret it was sent, upper-cased,
// URL-encoded (query and path style) and in base64, in the error text the
// probe quotes: the message keeps the server's words, never the secret.
// (GitHub cannot run here; httptest plays its token endpoint.)
func TestServerEchoOfSecretIsScrubbed(t *testing.T) {
	const secret = "Echo/Pw+9 x"
	var got string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		got = r.PostForm.Get("client_secret")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": "invalid_request", "error_description": "client_secret " +
			strings.ToUpper(got) + ", " + url.QueryEscape(got) + ", " + url.PathEscape(got) + ", " +
			base64.StdEncoding.EncodeToString([]byte(got)) + " refused"})
	}))
	t.Cleanup(srv.Close)
	cfg := map[string]any{"FEATURE_GITHUB_LOGIN": true, "GITHUB_LOGIN_CONFIG": map[string]any{
		"GITHUB_ENDPOINT": srv.URL + "/", "CLIENT_ID": "client-id", "CLIENT_SECRET": secret}}
	ps := validateOnline(t, onlineBundle(t, cfg, nil), groupGitHubLogin)
	if got != secret {
		t.Fatalf("the server received client_secret %q, want %q", got, secret)
	}
	p := wantProblem(t, ps, groupGitHubLogin, "GITHUB_LOGIN_CONFIG", problem.Error, "invalid_request", "refused")
	if n := strings.Count(p.Message, "<secret>"); n != 4 {
		t.Errorf("want the 4 echoes replaced by <secret>, got %d: %s", n, p.Message)
	}
	low := strings.ToLower(p.Message)
	for _, form := range []string{secret, url.QueryEscape(secret), url.PathEscape(secret)} {
		if strings.Contains(low, strings.ToLower(form)) {
			t.Errorf("message leaks %q: %s", form, p.Message)
		}
	}
	if b := base64.StdEncoding.EncodeToString([]byte(secret)); strings.Contains(p.Message, b) {
		t.Errorf("message leaks the base64 of the secret: %s", p.Message)
	}
}
