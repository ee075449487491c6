package validators

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/quay-tools/config-editor/internal/problem"
)

// GitHub, Google, GitLab, Bitbucket and OIDC providers cannot run here:
// these fakes (httptest, TLS) implement the wire behaviour of the real
// token endpoints — the client is checked before the code, GitHub answers
// 200 with bad_verification_code / incorrect_client_credentials, the
// others 400 invalid_grant / 401 invalid_client — and record every request
// URL so the tests can prove no secret is ever put in one.

type fakeOAuth struct {
	srv      *httptest.Server
	hosted   HostedEndpoints // for the services whose endpoint a config cannot set
	id, key  string
	github   bool // GitHub's answers
	basic    bool // client credentials only via HTTP basic auth
	issuer   string
	methods  []string
	mu       sync.Mutex
	urls     []string
	requests int
}

func newFakeOAuth(t *testing.T, tokenPath string, github, basic bool) *fakeOAuth {
	f := &fakeOAuth{id: "client-id-123", key: "client-secret-s3cr3t-xyz", github: github, basic: basic}
	mux := http.NewServeMux()
	mux.HandleFunc(tokenPath, f.token)
	mux.HandleFunc("/realms/quay/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		f.record(r)
		w.Header().Set("Content-Type", "application/json")
		doc := map[string]any{"issuer": f.issuer, "token_endpoint": f.srv.URL + tokenPath,
			"authorization_endpoint": f.srv.URL + "/auth", "jwks_uri": f.srv.URL + "/certs"}
		if f.methods != nil {
			doc["token_endpoint_auth_methods_supported"] = f.methods
		}
		_ = json.NewEncoder(w).Encode(doc)
	})
	f.srv = httptest.NewTLSServer(mux)
	f.issuer = f.srv.URL + "/realms/quay"
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeOAuth) record(r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.urls = append(f.urls, r.URL.String())
	f.requests++
}

func (f *fakeOAuth) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.requests
}

func (f *fakeOAuth) token(w http.ResponseWriter, r *http.Request) {
	f.record(r)
	w.Header().Set("Content-Type", "application/json")
	if r.Method != http.MethodPost || r.ParseForm() != nil {
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	id, secret := r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	if u, p, ok := r.BasicAuth(); ok {
		id, secret = u, p
	} else if f.basic {
		id, secret = "", ""
	}
	ok := id == f.id && secret == f.key
	answer := func(status int, code string) {
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": "fake " + code})
	}
	switch {
	case f.github && !ok:
		answer(http.StatusOK, "incorrect_client_credentials")
	case f.github:
		answer(http.StatusOK, "bad_verification_code")
	case !ok:
		answer(http.StatusUnauthorized, "invalid_client")
	case r.PostForm.Get("grant_type") != "authorization_code":
		answer(http.StatusBadRequest, "unsupported_grant_type")
	default:
		answer(http.StatusBadRequest, "invalid_grant")
	}
}

// noSecretInURLs fails if a recorded URL carries the secret (or the fake
// received nothing at all: then the probe did not try).
func (f *fakeOAuth) noSecretInURLs(t *testing.T) {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.requests == 0 {
		t.Fatal("the fake received no request")
	}
	for _, u := range f.urls {
		if strings.Contains(u, f.key) || strings.Contains(u, "s3cr3t") {
			t.Fatalf("secret in a request URL: %s", u)
		}
	}
}

func (f *fakeOAuth) ca() map[string][]byte {
	return map[string][]byte{"extra_ca_certs/fake.crt": pemOf(f.srv.Certificate().Raw)}
}

func oauthValidate(t *testing.T, f *fakeOAuth, cfg map[string]any, withCA bool, group string) []problem.Problem {
	t.Helper()
	cfg["SERVER_HOSTNAME"] = "quay.example.com"
	cfg["PREFERRED_URL_SCHEME"] = "https"
	var files map[string][]byte
	if withCA {
		files = f.ca()
	}
	ps := validateOnlineHosted(t, onlineBundle(t, cfg, files), f.hosted, group)
	wantNoSecret(t, ps, f.key, "wrong-secret-value")
	return ps
}

func TestOAuthGitHubOnline(t *testing.T) {
	f := newFakeOAuth(t, "/login/oauth/access_token", true, false)
	for _, tc := range []struct{ group, feature, key string }{
		{groupGitHubLogin, "FEATURE_GITHUB_LOGIN", "GITHUB_LOGIN_CONFIG"},
		{groupGitHubTrigger, "FEATURE_GITHUB_BUILD", "GITHUB_TRIGGER_CONFIG"},
	} {
		t.Run(tc.key, func(t *testing.T) {
			cfg := func(secret string) map[string]any {
				return map[string]any{tc.feature: true, "FEATURE_BUILD_SUPPORT": true, tc.key: map[string]any{
					"GITHUB_ENDPOINT": f.srv.URL + "/", "API_ENDPOINT": f.srv.URL + "/api/v3/",
					"CLIENT_ID": f.id, "CLIENT_SECRET": secret}}
			}
			wantNoErrors(t, oauthValidate(t, f, cfg(f.key), true, tc.group), tc.group)
			ps := oauthValidate(t, f, cfg("wrong-secret-value"), true, tc.group)
			p := wantProblem(t, ps, tc.group, tc.key+".CLIENT_SECRET", problem.Error, "rejected the client credentials", "incorrect_client_credentials")
			if len(p.Tags) != 1 || p.Tags[0] != tc.key {
				t.Fatalf("tags %v", p.Tags)
			}
			ps = oauthValidate(t, f, cfg(f.key), false, tc.group)
			wantProblem(t, ps, tc.group, tc.key, problem.Error, "unknown authority")
			f.noSecretInURLs(t)
		})
	}
	t.Run("feature off: no probe", func(t *testing.T) {
		before := f.count()
		cfg := map[string]any{"FEATURE_GITHUB_LOGIN": false, "GITHUB_LOGIN_CONFIG": map[string]any{
			"GITHUB_ENDPOINT": f.srv.URL + "/", "CLIENT_ID": f.id, "CLIENT_SECRET": f.key}}
		wantNoErrors(t, oauthValidate(t, f, cfg, true, groupGitHubLogin), groupGitHubLogin)
		if f.count() != before {
			t.Fatal("probed a disabled feature")
		}
	})
}

func TestOAuthGoogleGitLabBitbucketOnline(t *testing.T) {
	t.Run("Google", func(t *testing.T) {
		f := newFakeOAuth(t, "/token", false, false)
		f.hosted.GoogleToken = f.srv.URL + "/token"
		cfg := func(secret string) map[string]any {
			return map[string]any{"FEATURE_GOOGLE_LOGIN": true, "GOOGLE_LOGIN_CONFIG": map[string]any{"CLIENT_ID": f.id, "CLIENT_SECRET": secret}}
		}
		wantNoErrors(t, oauthValidate(t, f, cfg(f.key), true, groupGoogleLogin), groupGoogleLogin)
		ps := oauthValidate(t, f, cfg("wrong-secret-value"), true, groupGoogleLogin)
		wantProblem(t, ps, groupGoogleLogin, "GOOGLE_LOGIN_CONFIG.CLIENT_SECRET", problem.Error, "Google rejected", "401", "invalid_client")
		f.noSecretInURLs(t)
	})
	t.Run("GitLab", func(t *testing.T) {
		f := newFakeOAuth(t, "/oauth/token", false, false)
		cfg := func(secret string) map[string]any {
			return map[string]any{"FEATURE_GITLAB_BUILD": true, "FEATURE_BUILD_SUPPORT": true, "GITLAB_TRIGGER_CONFIG": map[string]any{
				"GITLAB_ENDPOINT": f.srv.URL, "CLIENT_ID": f.id, "CLIENT_SECRET": secret}}
		}
		wantNoErrors(t, oauthValidate(t, f, cfg(f.key), true, groupGitLabTrigger), groupGitLabTrigger)
		ps := oauthValidate(t, f, cfg("wrong-secret-value"), true, groupGitLabTrigger)
		wantProblem(t, ps, groupGitLabTrigger, "GITLAB_TRIGGER_CONFIG.CLIENT_SECRET", problem.Error, "invalid_client", f.srv.URL+"/oauth/token")
		f.noSecretInURLs(t)
	})
	t.Run("GitLab endpoint that is not GitLab", func(t *testing.T) {
		f := newFakeOAuth(t, "/elsewhere", false, false)
		cfg := map[string]any{"FEATURE_GITLAB_BUILD": true, "FEATURE_BUILD_SUPPORT": true, "GITLAB_TRIGGER_CONFIG": map[string]any{
			"GITLAB_ENDPOINT": f.srv.URL + "/", "CLIENT_ID": f.id, "CLIENT_SECRET": f.key}}
		ps := oauthValidate(t, f, cfg, true, groupGitLabTrigger)
		wantProblem(t, ps, groupGitLabTrigger, "GITLAB_TRIGGER_CONFIG", problem.Error, "404 Not Found", "Check the endpoint URL")
	})
	t.Run("Bitbucket", func(t *testing.T) {
		f := newFakeOAuth(t, "/site/oauth2/access_token", false, true)
		f.hosted.BitbucketToken = f.srv.URL + "/site/oauth2/access_token"
		cfg := func(secret string) map[string]any {
			return map[string]any{"FEATURE_BITBUCKET_BUILD": true, "FEATURE_BUILD_SUPPORT": true, "BITBUCKET_TRIGGER_CONFIG": map[string]any{
				"CONSUMER_KEY": f.id, "CONSUMER_SECRET": secret}}
		}
		wantNoErrors(t, oauthValidate(t, f, cfg(f.key), true, groupBitbucket), groupBitbucket)
		ps := oauthValidate(t, f, cfg("wrong-secret-value"), true, groupBitbucket)
		wantProblem(t, ps, groupBitbucket, "BITBUCKET_TRIGGER_CONFIG.CONSUMER_SECRET", problem.Error, "Bitbucket rejected")
		f.noSecretInURLs(t)
	})
}
