package validators

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"github.com/quay-tools/config-editor/internal/problem"
	"github.com/quay-tools/config-editor/internal/secret"
)

// Shared by the groups of OAuth applications (GitHubLogin,
// GitHubBuildTrigger, GoogleLogin, GitLabBuildTrigger,
// BitbucketBuildTrigger) and by OIDC: reading an application's config
// block, the rules of a GitHub application (login and triggers share them),
// and the online proof of every one of them, a token-endpoint exchange.
// Each group is checked only while its feature is on.

// oauthConfig returns the config block of an enabled OAuth feature,
// reporting it when missing. ok is false when the feature is off or the
// block is unusable.
func (c *Context) oauthConfig(l *problem.List, group, feature, key string) (map[string]any, bool) {
	if !c.on(feature) {
		return nil, false
	}
	if m, ok := c.Raw[key].(map[string]any); ok {
		return m, true
	}
	if c.Raw[key] == nil {
		l.ErrorTags(group, at(key), []string{feature, key}, "%s is on, so %s is required; register an OAuth application and enter its client ID and secret.", feature, key)
	}
	return nil, false
}

// gitHubApp: endpoint, client ID and secret; API_ENDPOINT for github.com;
// ORG_RESTRICT needs organizations.
func (c *Context) gitHubApp(l *problem.List, group, feature, key string) {
	m, ok := c.oauthConfig(l, group, feature, key)
	if !ok {
		return
	}
	base := at(key)
	when := " when " + feature + " is on"
	if requireIn(l, group, m, base, "GITHUB_ENDPOINT", when+"; use https://github.com/ or your GitHub Enterprise URL") {
		if s, ok := m["GITHUB_ENDPOINT"].(string); ok && c.checkHTTPURL(l, group, base.Child("GITHUB_ENDPOINT"), s, true) {
			if isGitHubCom(s) && !present(m, "API_ENDPOINT") && !wrongType(m, "API_ENDPOINT") {
				l.Errorf(group, base.Child("API_ENDPOINT"), "%s.API_ENDPOINT is required for github.com; set it to https://api.github.com/.", key)
			}
		}
	}
	if s, ok := m["API_ENDPOINT"].(string); ok {
		c.checkHTTPURL(l, group, base.Child("API_ENDPOINT"), s, true)
	}
	requireIn(l, group, m, base, "CLIENT_ID", when)
	requireIn(l, group, m, base, "CLIENT_SECRET", when)
	if b, _ := m["ORG_RESTRICT"].(bool); b {
		orgs, isList := m["ALLOWED_ORGANIZATIONS"].([]any)
		if len(orgs) == 0 && (isList || m["ALLOWED_ORGANIZATIONS"] == nil) {
			l.Errorf(group, base.Child("ALLOWED_ORGANIZATIONS"), "%s.ORG_RESTRICT is true but ALLOWED_ORGANIZATIONS is empty, so nobody could sign in; list the GitHub organizations whose members may use Quay.", key)
		}
	}
}

func isGitHubCom(s string) bool {
	s = strings.ToLower(strings.TrimSuffix(s, "/"))
	return s == "https://github.com" || s == "http://github.com" || s == "https://www.github.com"
}

func (c *Context) triggerNeedsBuilds(l *problem.List, group, feature string) {
	if c.on(feature) && !c.on("FEATURE_BUILD_SUPPORT") && !wrongType(c.Raw, "FEATURE_BUILD_SUPPORT") {
		l.WarnTags(group, at(feature), []string{feature, "FEATURE_BUILD_SUPPORT"}, "%s is on but FEATURE_BUILD_SUPPORT is off, so triggers cannot start builds; turn on FEATURE_BUILD_SUPPORT.", feature)
	}
}

// The online proof of an OAuth application or OIDC client: exchange a
// made-up authorization code at the provider's token endpoint. A provider
// checks the client before the code, so "invalid grant" (GitHub:
// bad_verification_code) proves the client ID and secret right, and
// "invalid client" (GitHub: incorrect_client_credentials) or a 401 proves
// them wrong. Secrets travel in the request body or the Authorization
// header, never in a URL, and no redirect is followed with them.

// bogusCode is the authorization code every probe sends: no provider can
// have issued it.
const bogusCode = "config-editor-probe-not-a-real-code"

// oauthTry is one token-endpoint exchange and how to read its answer.
type oauthTry struct {
	group, key  string // field group; config block (the path root and tag)
	service     string // for messages: "GitHub", "the OIDC provider at …"
	tokenURL    string
	clientID    string
	Secret      secret.Secret // exported, so fmt shows <secret> even in %+v of the struct
	idField     string        // names inside the block, for paths
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
		clientID: AsString(m["CLIENT_ID"]), Secret: secretIn(m, "CLIENT_SECRET"),
		idField: "CLIENT_ID", secretField: "CLIENT_SECRET",
		okErrors: []string{"bad_verification_code"}, badClient: []string{"incorrect_client_credentials", "invalid_client"}}
	return []Probe{{Name: key, Run: func(ctx context.Context, l *problem.List) { c.tryToken(ctx, l, t) }}}
}

func joinURL(base, rel string) string { return strings.TrimRight(base, "/") + "/" + rel }

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
		form.Set("client_secret", t.Secret.Reveal())
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), strings.NewReader(form.Encode()))
	if err != nil {
		l.ErrorTags(t.group, at(t.key), tags, "%s: cannot build a request to %s.", t.key, t.tokenURL)
		return
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if t.basic {
		req.SetBasicAuth(url.QueryEscape(t.clientID), url.QueryEscape(t.Secret.Reveal()))
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
