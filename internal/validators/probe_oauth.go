package validators

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"github.com/quay-tools/config-editor/internal/problem"
)

// Online proofs of the OAuth applications (GitHub, Google, GitLab,
// Bitbucket) and of every OIDC provider: exchange a made-up authorization
// code at the provider's token endpoint. A provider checks the client
// before the code, so "invalid grant" (GitHub: bad_verification_code)
// proves the client ID and secret right, and "invalid client" (GitHub:
// incorrect_client_credentials) or a 401 proves them wrong. Secrets travel
// in the request body or the Authorization header, never in a URL, and no
// redirect is followed with them.

func init() {
	probes[groupGitHubLogin] = func(c *Context) []Probe {
		return c.gitHubProbes(groupGitHubLogin, "FEATURE_GITHUB_LOGIN", "GITHUB_LOGIN_CONFIG")
	}
	probes[groupGitHubTrigger] = func(c *Context) []Probe {
		return c.gitHubProbes(groupGitHubTrigger, "FEATURE_GITHUB_BUILD", "GITHUB_TRIGGER_CONFIG")
	}
	probes[groupGoogleLogin] = googleProbes
	probes[groupGitLabTrigger] = gitLabProbes
	probes[groupBitbucket] = bitbucketProbes
	probes[groupOIDC] = oidcProbes
}

// bogusCode is the authorization code every probe sends: no provider can
// have issued it.
const bogusCode = "config-editor-probe-not-a-real-code"

// oauthTry is one token-endpoint exchange and how to read its answer.
type oauthTry struct {
	group, key  string // field group; config block (the path root and tag)
	service     string // for messages: "GitHub", "the OIDC provider at …"
	tokenURL    string
	clientID    string
	secret      string
	idField     string // names inside the block, for paths
	secretField string
	basic       bool     // client credentials in HTTP basic auth, not the body
	redirectURI string   // sent when the provider insists on one
	okErrors    []string // answers that prove the credentials right
	badClient   []string // answers that prove them wrong
}

// oauthBlock returns the config block of an enabled feature with both
// credentials set; the offline rules report everything else.
func (c *Context) oauthBlock(feature, key, idField, secretField string) (map[string]any, bool) {
	if feature != "" && !c.Bool(feature) {
		return nil, false
	}
	m, ok := c.Raw[key].(map[string]any)
	if !ok || AsString(m[idField]) == "" || AsString(m[secretField]) == "" {
		return nil, false
	}
	return m, true
}

// callbackURL is where Quay would have the provider send the user back.
func (c *Context) callbackURL(p string) string {
	scheme := c.Str("PREFERRED_URL_SCHEME")
	if scheme == "" {
		scheme = "http"
	}
	return scheme + "://" + c.Str("SERVER_HOSTNAME") + p
}

func (c *Context) gitHubProbes(group, feature, key string) []Probe {
	m, ok := c.oauthBlock(feature, key, "CLIENT_ID", "CLIENT_SECRET")
	if !ok || AsString(m["GITHUB_ENDPOINT"]) == "" {
		return nil
	}
	t := oauthTry{group: group, key: key, service: "GitHub at " + AsString(m["GITHUB_ENDPOINT"]),
		tokenURL: joinURL(AsString(m["GITHUB_ENDPOINT"]), "login/oauth/access_token"),
		clientID: AsString(m["CLIENT_ID"]), secret: AsString(m["CLIENT_SECRET"]),
		idField: "CLIENT_ID", secretField: "CLIENT_SECRET",
		okErrors: []string{"bad_verification_code"}, badClient: []string{"incorrect_client_credentials", "invalid_client"}}
	return []Probe{{Name: key, Run: func(ctx context.Context, l *problem.List) { c.tryToken(ctx, l, t) }}}
}

func googleProbes(c *Context) []Probe {
	m, ok := c.oauthBlock("FEATURE_GOOGLE_LOGIN", "GOOGLE_LOGIN_CONFIG", "CLIENT_ID", "CLIENT_SECRET")
	if !ok {
		return nil
	}
	t := oauthTry{group: groupGoogleLogin, key: "GOOGLE_LOGIN_CONFIG", service: "Google",
		tokenURL: c.Opts.Hosted.GoogleToken, clientID: AsString(m["CLIENT_ID"]), secret: AsString(m["CLIENT_SECRET"]),
		idField: "CLIENT_ID", secretField: "CLIENT_SECRET", redirectURI: c.callbackURL("/oauth2/google/callback"),
		okErrors: []string{"invalid_grant"}, badClient: []string{"invalid_client", "unauthorized_client"}}
	return []Probe{{Name: "GOOGLE_LOGIN_CONFIG", Run: func(ctx context.Context, l *problem.List) { c.tryToken(ctx, l, t) }}}
}

func gitLabProbes(c *Context) []Probe {
	m, ok := c.oauthBlock("FEATURE_GITLAB_BUILD", "GITLAB_TRIGGER_CONFIG", "CLIENT_ID", "CLIENT_SECRET")
	if !ok {
		return nil
	}
	endpoint := AsString(m["GITLAB_ENDPOINT"])
	if endpoint == "" {
		endpoint = "https://gitlab.com/"
	}
	t := oauthTry{group: groupGitLabTrigger, key: "GITLAB_TRIGGER_CONFIG", service: "GitLab at " + endpoint,
		tokenURL: joinURL(endpoint, "oauth/token"), clientID: AsString(m["CLIENT_ID"]), secret: AsString(m["CLIENT_SECRET"]),
		idField: "CLIENT_ID", secretField: "CLIENT_SECRET", redirectURI: c.callbackURL("/oauth2/gitlab/callback/trigger"),
		okErrors: []string{"invalid_grant"}, badClient: []string{"invalid_client", "unauthorized_client"}}
	return []Probe{{Name: "GITLAB_TRIGGER_CONFIG", Run: func(ctx context.Context, l *problem.List) { c.tryToken(ctx, l, t) }}}
}

func bitbucketProbes(c *Context) []Probe {
	m, ok := c.oauthBlock("FEATURE_BITBUCKET_BUILD", "BITBUCKET_TRIGGER_CONFIG", "CONSUMER_KEY", "CONSUMER_SECRET")
	if !ok {
		return nil
	}
	t := oauthTry{group: groupBitbucket, key: "BITBUCKET_TRIGGER_CONFIG", service: "Bitbucket",
		tokenURL: c.Opts.Hosted.BitbucketToken, clientID: AsString(m["CONSUMER_KEY"]), secret: AsString(m["CONSUMER_SECRET"]),
		idField: "CONSUMER_KEY", secretField: "CONSUMER_SECRET", basic: true,
		okErrors: []string{"invalid_grant"}, badClient: []string{"invalid_client", "unauthorized_client"}}
	return []Probe{{Name: "BITBUCKET_TRIGGER_CONFIG", Run: func(ctx context.Context, l *problem.List) { c.tryToken(ctx, l, t) }}}
}

func joinURL(base, rel string) string { return strings.TrimRight(base, "/") + "/" + rel }

// noRedirectClient never follows a redirect: a credential-bearing request
// must reach the configured URL or fail, never be replayed elsewhere.
func noRedirectClient(ctx context.Context, cfg *tls.Config) *http.Client {
	cl := probeHTTPClient(ctx, cfg)
	cl.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return cl
}

// tlsFor returns the TLS config for a URL's host (bundle CAs).
func (c *Context) tlsFor(raw string, extraCA ...[]byte) (*url.URL, *tls.Config, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, nil, fmt.Errorf("%q is not an http(s) URL", raw)
	}
	return u, c.TLSConfig(u.Hostname(), extraCA...), nil
}

// oauthAnswer is an OAuth 2 error answer (RFC 6749 §5.2), JSON or form.
type oauthAnswer struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
	AccessToken string `json:"access_token"`
}

func readOAuthAnswer(resp *http.Response) oauthAnswer {
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var a oauthAnswer
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if mt == "application/x-www-form-urlencoded" || mt == "text/plain" && !strings.HasPrefix(strings.TrimSpace(string(data)), "{") {
		q, _ := url.ParseQuery(string(data))
		return oauthAnswer{Error: q.Get("error"), Description: q.Get("error_description"), AccessToken: q.Get("access_token")}
	}
	_ = json.Unmarshal(data, &a)
	return a
}

func (c *Context) tryToken(ctx context.Context, l *problem.List, t oauthTry) {
	tags := []string{t.key}
	u, cfg, err := c.tlsFor(t.tokenURL)
	if err != nil {
		l.ErrorTags(t.group, at(t.key), tags, "%s: the token endpoint %s.", t.key, err)
		return
	}
	form := url.Values{"grant_type": {"authorization_code"}, "code": {bogusCode}}
	if t.redirectURI != "" {
		form.Set("redirect_uri", t.redirectURI)
	}
	if !t.basic {
		form.Set("client_id", t.clientID)
		form.Set("client_secret", t.secret)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), strings.NewReader(form.Encode()))
	if err != nil {
		l.ErrorTags(t.group, at(t.key), tags, "%s: cannot build a request to %s.", t.key, t.tokenURL)
		return
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if t.basic {
		req.SetBasicAuth(url.QueryEscape(t.clientID), url.QueryEscape(t.secret))
	}
	resp, err := noRedirectClient(ctx, cfg).Do(req)
	if err != nil {
		l.ErrorTags(t.group, at(t.key), tags, "%s: could not reach %s's token endpoint %s: %s.", t.key, t.service, t.tokenURL, netWords(err))
		return
	}
	defer resp.Body.Close()
	a := readOAuthAnswer(resp)
	secretPath := at(t.key, t.secretField)
	switch {
	case contains(t.okErrors, a.Error):
		return // the client was accepted; only the made-up code was refused
	case contains(t.badClient, a.Error) || resp.StatusCode == http.StatusUnauthorized:
		l.ErrorTags(t.group, secretPath, tags,
			"%s rejected the client credentials at %s (%s): check %s.%s and %s.%s; they must belong to the same OAuth application.",
			t.service, t.tokenURL, answerWords(resp.StatusCode, a), t.key, t.idField, t.key, t.secretField)
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		l.ErrorTags(t.group, at(t.key), tags, "%s: the token endpoint %s redirects (%d to %s); the credentials were not sent on. Configure the final URL.",
			t.key, t.tokenURL, resp.StatusCode, redirectTarget(resp))
	case a.AccessToken != "":
		l.WarnTags(t.group, at(t.key), tags, "%s: %s issued a token for a made-up authorization code; this is not a real OAuth server.", t.key, t.tokenURL)
	default:
		l.ErrorTags(t.group, at(t.key), tags, "%s: %s's token endpoint %s answered %s to a code exchange; an OAuth server answers %s for a made-up code. Check the endpoint URL.",
			t.key, t.service, t.tokenURL, answerWords(resp.StatusCode, a), strings.Join(append(append([]string{}, t.okErrors...), t.badClient...), " or "))
	}
}

func answerWords(status int, a oauthAnswer) string {
	s := fmt.Sprintf("%d %s", status, http.StatusText(status))
	if a.Error != "" {
		d := a.Description
		if len(d) > 160 {
			d = d[:160] + "…"
		}
		if d != "" {
			return s + ", " + a.Error + ": " + strings.TrimSuffix(d, ".")
		}
		return s + ", " + a.Error
	}
	return s
}

// redirectTarget is the Location of a redirect without its query (which
// is not ours to echo).
func redirectTarget(resp *http.Response) string {
	loc, err := resp.Location()
	if err != nil {
		return "nowhere"
	}
	loc.RawQuery, loc.Fragment, loc.User = "", "", nil
	return loc.String()
}

func contains(list []string, s string) bool {
	if s == "" {
		return false
	}
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
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
		tokenURL: d.TokenEndpoint, clientID: AsString(m["CLIENT_ID"]), secret: AsString(m["CLIENT_SECRET"]),
		idField: "CLIENT_ID", secretField: "CLIENT_SECRET",
		redirectURI: c.callbackURL("/oauth2/" + strings.ToLower(strings.TrimSuffix(key, "_LOGIN_CONFIG")) + "/callback"),
		okErrors:    []string{"invalid_grant"}, badClient: []string{"invalid_client", "unauthorized_client"}})
}
