package validators

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"

	"github.com/quay-tools/config-editor/internal/problem"
)

const groupOIDC = "OIDC"

// OIDC: every OpenID Connect provider (*_LOGIN_CONFIG). Online: fetch the
// discovery document, compare the issuer, and try the client credentials
// at its token endpoint (oauthapp.go).
func oidcCheck() Check {
	return Check{Group: groupOIDC, Offline: oidcOffline, Probes: oidcProbes}
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

// OIDC: discovery, issuer, then the client credentials at the discovered
// token endpoint.

func oidcProbes(c *Context) []Probe {
	var out []Probe
	for _, key := range c.oidcProviders() {
		m, ok := c.oauthBlock("", key, "CLIENT_ID", "CLIENT_SECRET")
		if !ok || AsString(m["OIDC_SERVER"]) == "" {
			continue
		}
		key := key
		out = append(out, Probe{Name: key, Run: func(ctx context.Context, l *problem.List) { c.probeOIDC(ctx, l, key, m) }})
	}
	return out
}

type oidcDiscovery struct {
	Issuer           string   `json:"issuer"`
	TokenEndpoint    string   `json:"token_endpoint"`
	TokenAuthMethods []string `json:"token_endpoint_auth_methods_supported"`
}

func (c *Context) probeOIDC(ctx context.Context, l *problem.List, key string, m map[string]any) {
	server := AsString(m["OIDC_SERVER"])
	tags := []string{key}
	serverPath := at(key, "OIDC_SERVER")
	discURL := joinURL(server, ".well-known/openid-configuration")
	u, cfg, err := c.tlsFor(discURL)
	if err != nil {
		return // the offline rules report a bad OIDC_SERVER
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	req.Header.Set("Accept", "application/json")
	cl := probeHTTPClient(ctx, cfg)
	cl.CheckRedirect = func(r *http.Request, via []*http.Request) error {
		if len(via) >= 3 || r.URL.Host != u.Host {
			return http.ErrUseLastResponse
		}
		return nil
	}
	resp, err := cl.Do(req)
	if err != nil {
		l.ErrorTags(groupOIDC, serverPath, tags, "%s: could not fetch the discovery document %s: %s.", key, discURL, netWords(err))
		return
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		l.ErrorTags(groupOIDC, serverPath, tags, "%s: the discovery document %s answered %d %s; OIDC_SERVER must be the issuer URL (the one whose .well-known/openid-configuration exists).",
			key, discURL, resp.StatusCode, http.StatusText(resp.StatusCode))
		return
	}
	var d oidcDiscovery
	if err := json.Unmarshal(data, &d); err != nil || d.Issuer == "" {
		l.ErrorTags(groupOIDC, serverPath, tags, "%s: %s is not an OpenID Connect discovery document (no issuer in a JSON object).", key, discURL)
		return
	}
	if strings.TrimRight(d.Issuer, "/") != strings.TrimRight(server, "/") {
		l.ErrorTags(groupOIDC, serverPath, tags, "%s: the provider says its issuer is %q but OIDC_SERVER is %q; Quay checks the iss claim of every token against OIDC_SERVER, so logins would fail. Set OIDC_SERVER to the issuer (ending with /).",
			key, d.Issuer, server)
	}
	if d.TokenEndpoint == "" {
		l.ErrorTags(groupOIDC, serverPath, tags, "%s: the discovery document %s has no token_endpoint.", key, discURL)
		return
	}
	if len(d.TokenAuthMethods) > 0 && !contains(d.TokenAuthMethods, "client_secret_post") {
		l.WarnTags(groupOIDC, at(key, "CLIENT_SECRET"), tags, "%s: the provider does not list client_secret_post among its token endpoint auth methods (%s), but Quay sends the client secret in the request body; logins may fail.",
			key, strings.Join(d.TokenAuthMethods, ", "))
	}
	c.tryToken(ctx, l, oauthTry{group: groupOIDC, key: key, service: "the OIDC provider of " + key,
		tokenURL: d.TokenEndpoint, clientID: AsString(m["CLIENT_ID"]), Secret: secretIn(m, "CLIENT_SECRET"),
		idField: "CLIENT_ID", secretField: "CLIENT_SECRET",
		redirectURI: c.callbackURL("/oauth2/" + strings.ToLower(strings.TrimSuffix(key, "_LOGIN_CONFIG")) + "/callback"),
		okErrors:    []string{"invalid_grant"}, badClient: []string{"invalid_client", "unauthorized_client"}})
}
