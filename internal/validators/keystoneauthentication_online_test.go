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

// Keystone and JWT authentication services cannot run here: these fakes
// answer like Keystone (v2 /tokens → 200, v3 /auth/tokens → 201, 401 on a
// wrong password) and like a JWT verify endpoint (401 without user
// credentials).

func TestKeystoneOnline(t *testing.T) {
	var mu sync.Mutex
	var urls []string
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		urls = append(urls, r.URL.String())
		mu.Unlock()
		var body struct {
			Auth struct {
				PasswordCredentials struct{ Username, Password string }
				TenantName          string
				Identity            struct {
					Password struct {
						User struct{ Name, Password string }
					}
				}
			}
		}
		_ = json.NewDecoder(r.Body).Decode(&body)
		a := body.Auth
		switch r.URL.Path {
		case "/v2.0/tokens":
			if a.PasswordCredentials.Username != "admin" || a.PasswordCredentials.Password != "ks-pass-123" || a.TenantName != "admin" {
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			w.WriteHeader(http.StatusOK)
		case "/v3/auth/tokens":
			if a.Identity.Password.User.Name != "admin" || a.Identity.Password.User.Password != "ks-pass-123" {
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			w.WriteHeader(http.StatusCreated)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	ca := map[string][]byte{"extra_ca_certs/ks.crt": pemOf(srv.Certificate().Raw)}
	run := func(url string, version int, pass string) []problem.Problem {
		cfg := map[string]any{"AUTHENTICATION_TYPE": "Keystone", "KEYSTONE_AUTH_URL": url, "KEYSTONE_AUTH_VERSION": version,
			"KEYSTONE_ADMIN_USERNAME": "admin", "KEYSTONE_ADMIN_PASSWORD": pass, "KEYSTONE_ADMIN_TENANT": "admin"}
		ps := validateOnline(t, onlineBundle(t, cfg, ca), groupKeystone)
		wantNoSecret(t, ps, "ks-pass-123", "wrong-secret-value")
		return ps
	}
	wantNoErrors(t, run(srv.URL+"/v2.0", 2, "ks-pass-123"), groupKeystone)
	wantNoErrors(t, run(srv.URL+"/v3/", 3, "ks-pass-123"), groupKeystone)
	p := wantProblem(t, run(srv.URL+"/v3", 3, "wrong-secret-value"), groupKeystone, "KEYSTONE_ADMIN_PASSWORD", problem.Error, "refused to authenticate admin", "401")
	if len(p.Tags) == 0 {
		t.Fatal("no tags")
	}
	wantProblem(t, run(srv.URL+"/v2.0", 3, "ks-pass-123"), groupKeystone, "KEYSTONE_AUTH_URL", problem.Error, "404", "/v2.0 or /v3")
	wantProblem(t, run("https://127.0.0.1:1/v3", 3, "ks-pass-123"), groupKeystone, "KEYSTONE_AUTH_URL", problem.Error, "connection refused")
	for _, u := range urls {
		if strings.Contains(u, "ks-pass") || strings.Contains(u, "wrong-secret") {
			t.Fatalf("password in URL %s", u)
		}
	}
}
