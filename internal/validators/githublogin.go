package validators

import "github.com/quay-tools/config-editor/internal/problem"

const groupGitHubLogin = "GitHubLogin"

// GitHubLogin: sign-in with GitHub (or GitHub Enterprise) through an OAuth
// application. The rules and the probe are those of every GitHub OAuth
// application (oauthapp.go), under FEATURE_GITHUB_LOGIN.
func gitHubLoginCheck() Check {
	return Check{Group: groupGitHubLogin, Offline: gitHubLoginOffline, Probes: gitHubLoginProbes}
}

func gitHubLoginOffline(c *Context, l *problem.List) {
	c.gitHubApp(l, groupGitHubLogin, "FEATURE_GITHUB_LOGIN", "GITHUB_LOGIN_CONFIG")
}

// gitHubLoginProbes: the client credentials at the GitHub endpoint's token URL.
func gitHubLoginProbes(c *Context) []Probe {
	return c.gitHubProbes(groupGitHubLogin, "FEATURE_GITHUB_LOGIN", "GITHUB_LOGIN_CONFIG")
}
