package validators

import (
	"strings"

	"github.com/quay-tools/config-editor/internal/problem"
)

const groupOIDC = "OIDC"

func oidcCheck() Check {
	return Check{Group: groupOIDC, Offline: oidcOffline,
		OnlineProof: "fetch the discovery document and try the client credentials"}
}

// oidcOffline: every *_LOGIN_CONFIG other than GitHub's and Google's is an
// OIDC provider and needs its server, client and a name for the login
// button. OIDC_SERVER must end with "/": Quay appends
// ".well-known/openid-configuration" to it.
func oidcOffline(c *Context, l *problem.List) {
	for _, key := range c.oidcProviders() {
		m, ok := c.Raw[key].(map[string]any)
		if !ok {
			continue
		}
		base := at(key)
		if requireIn(l, groupOIDC, m, base, "OIDC_SERVER", "; it is the issuer URL, for example https://sso.example.com/realms/quay/") {
			if s, ok := m["OIDC_SERVER"].(string); ok && c.checkHTTPURL(l, groupOIDC, base.Child("OIDC_SERVER"), s, true) && !strings.HasSuffix(s, "/") {
				l.Errorf(groupOIDC, base.Child("OIDC_SERVER"), "%s.OIDC_SERVER must end with /; Quay appends .well-known/openid-configuration to it.", key)
			}
		}
		requireIn(l, groupOIDC, m, base, "CLIENT_ID", "; copy it from the provider's client registration")
		requireIn(l, groupOIDC, m, base, "CLIENT_SECRET", "; copy it from the provider's client registration")
		requireIn(l, groupOIDC, m, base, "SERVICE_NAME", "; it labels the login button, for example Keycloak")
		if scopes, ok := m["LOGIN_SCOPES"].([]any); ok && len(scopes) > 0 {
			hasOpenID := false
			for _, s := range scopes {
				if s == "openid" {
					hasOpenID = true
				}
			}
			if !hasOpenID {
				l.Warnf(groupOIDC, base.Child("LOGIN_SCOPES"), "%s.LOGIN_SCOPES does not include openid, so the provider will not return an ID token; add openid.", key)
			}
		}
	}
}
