package validators

import (
	"testing"

	"github.com/quay-tools/config-editor/internal/problem"
)

func TestOIDCOnline(t *testing.T) {
	f := newFakeOAuth(t, "/realms/quay/protocol/openid-connect/token", false, false)
	cfg := func(server, secret string) map[string]any {
		return map[string]any{"KEYCLOAK_LOGIN_CONFIG": map[string]any{"OIDC_SERVER": server, "CLIENT_ID": f.id,
			"CLIENT_SECRET": secret, "SERVICE_NAME": "Keycloak"}}
	}
	server := f.srv.URL + "/realms/quay/"
	t.Run("OK", func(t *testing.T) {
		wantNoErrors(t, oauthValidate(t, f, cfg(server, f.key), true, groupOIDC), groupOIDC)
	})
	t.Run("wrong secret", func(t *testing.T) {
		ps := oauthValidate(t, f, cfg(server, "wrong-secret-value"), true, groupOIDC)
		wantProblem(t, ps, groupOIDC, "KEYCLOAK_LOGIN_CONFIG.CLIENT_SECRET", problem.Error, "rejected the client credentials", "invalid_client")
	})
	t.Run("issuer mismatch", func(t *testing.T) {
		f.issuer = "https://sso.example.com/realms/quay"
		defer func() { f.issuer = f.srv.URL + "/realms/quay" }()
		ps := oauthValidate(t, f, cfg(server, f.key), true, groupOIDC)
		wantProblem(t, ps, groupOIDC, "KEYCLOAK_LOGIN_CONFIG.OIDC_SERVER", problem.Error, "issuer is \"https://sso.example.com/realms/quay\"")
	})
	t.Run("no discovery document", func(t *testing.T) {
		ps := oauthValidate(t, f, cfg(f.srv.URL+"/nothing/", f.key), true, groupOIDC)
		wantProblem(t, ps, groupOIDC, "KEYCLOAK_LOGIN_CONFIG.OIDC_SERVER", problem.Error, "404", ".well-known/openid-configuration")
	})
	t.Run("basic-only provider", func(t *testing.T) {
		f.methods = []string{"client_secret_basic"}
		defer func() { f.methods = nil }()
		ps := oauthValidate(t, f, cfg(server, f.key), true, groupOIDC)
		wantProblem(t, ps, groupOIDC, "KEYCLOAK_LOGIN_CONFIG.CLIENT_SECRET", problem.Warning, "client_secret_post")
	})
	t.Run("untrusted", func(t *testing.T) {
		ps := oauthValidate(t, f, cfg(server, f.key), false, groupOIDC)
		wantProblem(t, ps, groupOIDC, "KEYCLOAK_LOGIN_CONFIG.OIDC_SERVER", problem.Error, "unknown authority")
	})
	f.noSecretInURLs(t)
}
