package validators

import (
	"context"

	"github.com/quay-tools/config-editor/internal/problem"
)

const groupGitLabTrigger = "GitLabBuildTrigger"

// GitLabBuildTrigger: build triggers from GitLab through an OAuth
// application, under FEATURE_GITLAB_BUILD. The probe exchanges a made-up
// code at the endpoint's /oauth/token (oauthapp.go).
func gitLabTriggerCheck() Check {
	return Check{Group: groupGitLabTrigger, Offline: gitLabTriggerOffline, Probes: gitLabProbes}
}

func gitLabTriggerOffline(c *Context, l *problem.List) {
	if !c.on("FEATURE_BUILD_SUPPORT") {
		// Quay validates and uses triggers only while builds are on
	} else if m, ok := c.oauthConfig(l, groupGitLabTrigger, "FEATURE_GITLAB_BUILD", "GITLAB_TRIGGER_CONFIG"); ok {
		base := at("GITLAB_TRIGGER_CONFIG")
		requireIn(l, groupGitLabTrigger, m, base, "CLIENT_ID", " when FEATURE_GITLAB_BUILD is on; it is the GitLab application ID")
		requireIn(l, groupGitLabTrigger, m, base, "CLIENT_SECRET", " when FEATURE_GITLAB_BUILD is on")
		if s, ok := m["GITLAB_ENDPOINT"].(string); ok {
			c.checkHTTPURL(l, groupGitLabTrigger, base.Child("GITLAB_ENDPOINT"), s, true)
		}
	}
	c.triggerNeedsBuilds(l, groupGitLabTrigger, "FEATURE_GITLAB_BUILD")
}

func gitLabProbes(c *Context) []Probe {
	m, ok := c.oauthBlock("FEATURE_GITLAB_BUILD", "GITLAB_TRIGGER_CONFIG", "CLIENT_ID", "CLIENT_SECRET")
	if !ok || !c.on("FEATURE_BUILD_SUPPORT") {
		return nil
	}
	endpoint := AsString(m["GITLAB_ENDPOINT"])
	if endpoint == "" {
		endpoint = "https://gitlab.com/"
	}
	t := oauthTry{group: groupGitLabTrigger, key: "GITLAB_TRIGGER_CONFIG", service: "GitLab at " + endpoint,
		tokenURL: joinURL(endpoint, "oauth/token"), clientID: AsString(m["CLIENT_ID"]), Secret: secretIn(m, "CLIENT_SECRET"),
		idField: "CLIENT_ID", secretField: "CLIENT_SECRET", redirectURI: c.callbackURL("/oauth2/gitlab/callback/trigger"),
		okErrors: []string{"invalid_grant"}, badClient: []string{"invalid_client", "unauthorized_client"}}
	return []Probe{{Name: "GITLAB_TRIGGER_CONFIG", Run: func(ctx context.Context, l *problem.List) { c.tryToken(ctx, l, t) }}}
}
