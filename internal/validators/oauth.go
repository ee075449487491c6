package validators

import (
	"strings"

	"github.com/quay-tools/config-editor/internal/problem"
)

// The OAuth applications of GitHub (login and build triggers), Google,
// GitLab and Bitbucket. Each is checked only while its feature is on.

const (
	groupGitHubLogin   = "GitHubLogin"
	groupGitHubTrigger = "GitHubBuildTrigger"
	groupGoogleLogin   = "GoogleLogin"
	groupGitLabTrigger = "GitLabBuildTrigger"
	groupBitbucket     = "BitbucketBuildTrigger"
)

func gitHubLoginCheck() Check {
	return Check{Group: groupGitHubLogin, Offline: func(c *Context, l *problem.List) {
		c.gitHubApp(l, groupGitHubLogin, "FEATURE_GITHUB_LOGIN", "GITHUB_LOGIN_CONFIG")
	}, OnlineProof: "check the OAuth client credentials against the GitHub endpoint"}
}

func gitHubTriggerCheck() Check {
	return Check{Group: groupGitHubTrigger, Offline: func(c *Context, l *problem.List) {
		c.gitHubApp(l, groupGitHubTrigger, "FEATURE_GITHUB_BUILD", "GITHUB_TRIGGER_CONFIG")
		c.triggerNeedsBuilds(l, groupGitHubTrigger, "FEATURE_GITHUB_BUILD")
		login, trigger := c.Map("GITHUB_LOGIN_CONFIG"), c.Map("GITHUB_TRIGGER_CONFIG")
		if c.on("FEATURE_GITHUB_LOGIN") && c.on("FEATURE_GITHUB_BUILD") && str(login, "CLIENT_ID") != "" && str(login, "CLIENT_ID") == str(trigger, "CLIENT_ID") {
			l.WarnTags(groupGitHubTrigger, at("GITHUB_TRIGGER_CONFIG", "CLIENT_ID"), []string{"GITHUB_TRIGGER_CONFIG", "GITHUB_LOGIN_CONFIG"},
				"GITHUB_TRIGGER_CONFIG uses the same OAuth application as GITHUB_LOGIN_CONFIG; register a separate application for build triggers.")
		}
	}, OnlineProof: "check the OAuth client credentials against the GitHub endpoint"}
}

func googleLoginCheck() Check {
	return Check{Group: groupGoogleLogin, Offline: func(c *Context, l *problem.List) {
		if m, ok := c.oauthConfig(l, groupGoogleLogin, "FEATURE_GOOGLE_LOGIN", "GOOGLE_LOGIN_CONFIG"); ok {
			requireIn(l, groupGoogleLogin, m, at("GOOGLE_LOGIN_CONFIG"), "CLIENT_ID", " when FEATURE_GOOGLE_LOGIN is on")
			requireIn(l, groupGoogleLogin, m, at("GOOGLE_LOGIN_CONFIG"), "CLIENT_SECRET", " when FEATURE_GOOGLE_LOGIN is on")
		}
	}, OnlineProof: "Google's token endpoint answers invalid_grant for a fake code"}
}

func gitLabTriggerCheck() Check {
	return Check{Group: groupGitLabTrigger, Offline: func(c *Context, l *problem.List) {
		if m, ok := c.oauthConfig(l, groupGitLabTrigger, "FEATURE_GITLAB_BUILD", "GITLAB_TRIGGER_CONFIG"); ok {
			base := at("GITLAB_TRIGGER_CONFIG")
			requireIn(l, groupGitLabTrigger, m, base, "CLIENT_ID", " when FEATURE_GITLAB_BUILD is on; it is the GitLab application ID")
			requireIn(l, groupGitLabTrigger, m, base, "CLIENT_SECRET", " when FEATURE_GITLAB_BUILD is on")
			if s, ok := m["GITLAB_ENDPOINT"].(string); ok {
				c.checkHTTPURL(l, groupGitLabTrigger, base.Child("GITLAB_ENDPOINT"), s, true)
			}
		}
		c.triggerNeedsBuilds(l, groupGitLabTrigger, "FEATURE_GITLAB_BUILD")
	}, OnlineProof: "GitLab's /oauth/token answers invalid_grant for a fake code"}
}

func bitbucketTriggerCheck() Check {
	return Check{Group: groupBitbucket, Offline: func(c *Context, l *problem.List) {
		if m, ok := c.oauthConfig(l, groupBitbucket, "FEATURE_BITBUCKET_BUILD", "BITBUCKET_TRIGGER_CONFIG"); ok {
			requireIn(l, groupBitbucket, m, at("BITBUCKET_TRIGGER_CONFIG"), "CONSUMER_KEY", " when FEATURE_BITBUCKET_BUILD is on")
			requireIn(l, groupBitbucket, m, at("BITBUCKET_TRIGGER_CONFIG"), "CONSUMER_SECRET", " when FEATURE_BITBUCKET_BUILD is on")
		}
		c.triggerNeedsBuilds(l, groupBitbucket, "FEATURE_BITBUCKET_BUILD")
	}, OnlineProof: "Bitbucket's token endpoint accepts the consumer"}
}

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
