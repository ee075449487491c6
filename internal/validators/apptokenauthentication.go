package validators

import "github.com/quay-tools/config-editor/internal/problem"

const groupAppToken = "AppTokenAuthentication"

func appTokenCheck() Check { return Check{Group: groupAppToken, Offline: appTokenOffline} }

// appTokenOffline: AppToken authentication means users sign in only with
// application tokens, so tokens must be on and password login off.
func appTokenOffline(c *Context, l *problem.List) {
	if c.Str("AUTHENTICATION_TYPE") == "AppToken" {
		if !c.on("FEATURE_APP_SPECIFIC_TOKENS") && !wrongType(c.Raw, "FEATURE_APP_SPECIFIC_TOKENS") {
			l.ErrorTags(groupAppToken, at("FEATURE_APP_SPECIFIC_TOKENS"), []string{"AUTHENTICATION_TYPE", "FEATURE_APP_SPECIFIC_TOKENS"},
				"AUTHENTICATION_TYPE is AppToken, so FEATURE_APP_SPECIFIC_TOKENS must be true; otherwise nobody can create the tokens used to sign in.")
		}
		if c.on("FEATURE_DIRECT_LOGIN") {
			l.ErrorTags(groupAppToken, at("FEATURE_DIRECT_LOGIN"), []string{"AUTHENTICATION_TYPE", "FEATURE_DIRECT_LOGIN"},
				"AUTHENTICATION_TYPE is AppToken, so FEATURE_DIRECT_LOGIN must be false: users sign in through an external (OIDC) provider and use application tokens for the CLI.")
		}
	}
	for _, k := range []string{"APP_SPECIFIC_TOKEN_EXPIRATION", "EXPIRED_APP_SPECIFIC_TOKEN_GC"} {
		c.checkDuration(l, groupAppToken, k)
	}
}
