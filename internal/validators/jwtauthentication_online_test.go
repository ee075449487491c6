package validators

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/quay-tools/config-editor/internal/problem"
)

// The JWT verify endpoint fake answers 401 without user credentials, like
// a real one.
func TestJWTEndpointsOnline(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/verify", "/getuser":
			w.WriteHeader(http.StatusUnauthorized)
		case "/query":
			w.WriteHeader(http.StatusBadGateway)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	cfg := map[string]any{"AUTHENTICATION_TYPE": "JWT", "JWT_AUTH_ISSUER": "http://issuer",
		"JWT_VERIFY_ENDPOINT": srv.URL + "/verify", "JWT_GETUSER_ENDPOINT": srv.URL + "/nothere", "JWT_QUERY_ENDPOINT": srv.URL + "/query"}
	ps := validateOnline(t, onlineBundle(t, cfg, map[string][]byte{"extra_ca_certs/jwt.crt": pemOf(srv.Certificate().Raw)}), groupJWT)
	for _, p := range ps {
		if p.Path.String() == "JWT_VERIFY_ENDPOINT" {
			t.Fatalf("working endpoint reported: %s", p)
		}
	}
	wantProblem(t, ps, groupJWT, "JWT_GETUSER_ENDPOINT", problem.Error, "404")
	wantProblem(t, ps, groupJWT, "JWT_QUERY_ENDPOINT", problem.Warning, "502")
	ps = validateOnline(t, onlineBundle(t, cfg, nil), groupJWT)
	wantProblem(t, ps, groupJWT, "JWT_VERIFY_ENDPOINT", problem.Error, "unknown authority")
}
