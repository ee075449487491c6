package validators

import "github.com/quay-tools/config-editor/internal/problem"

const groupGitHubTrigger = "GitHubBuildTrigger"

// GitHubBuildTrigger: build triggers from GitHub repositories, through an
// OAuth application of their own (oauthapp.go), under FEATURE_GITHUB_BUILD.
func gitHubTriggerCheck() Check {
	return Check{Group: groupGitHubTrigger, Offline: gitHubTriggerOffline, Probes: gitHubTriggerProbes}
}

func gitHubTriggerOffline(c *Context, l *problem.List) {
	if c.on("FEATURE_BUILD_SUPPORT") {
		c.gitHubApp(l, groupGitHubTrigger, "FEATURE_GITHUB_BUILD", "GITHUB_TRIGGER_CONFIG")
	}
	c.triggerNeedsBuilds(l, groupGitHubTrigger, "FEATURE_GITHUB_BUILD")
	login, trigger := c.Map("GITHUB_LOGIN_CONFIG"), c.Map("GITHUB_TRIGGER_CONFIG")
	if c.on("FEATURE_GITHUB_LOGIN") && c.on("FEATURE_GITHUB_BUILD") && str(login, "CLIENT_ID") != "" && str(login, "CLIENT_ID") == str(trigger, "CLIENT_ID") {
		l.WarnTags(groupGitHubTrigger, at("GITHUB_TRIGGER_CONFIG", "CLIENT_ID"), []string{"GITHUB_TRIGGER_CONFIG", "GITHUB_LOGIN_CONFIG"},
			"GITHUB_TRIGGER_CONFIG uses the same OAuth application as GITHUB_LOGIN_CONFIG; register a separate application for build triggers.")
	}
}

// gitHubTriggerProbes: the client credentials at the GitHub endpoint's token URL.
func gitHubTriggerProbes(c *Context) []Probe {
	if !c.on("FEATURE_BUILD_SUPPORT") {
		return nil
	}
	return c.gitHubProbes(groupGitHubTrigger, "FEATURE_GITHUB_BUILD", "GITHUB_TRIGGER_CONFIG")
}
