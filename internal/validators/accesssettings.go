package validators

import (
	"regexp"
	"sort"
	"strings"

	"github.com/quay-tools/config-editor/internal/problem"
)

const groupAccess = "AccessSettings"

var loginConfigRE = regexp.MustCompile(`^[A-Z0-9_]+_LOGIN_CONFIG$`)

func accessCheck() Check { return Check{Group: groupAccess, Offline: accessOffline} }

// oidcProviders returns the keys of the OIDC login providers (every
// *_LOGIN_CONFIG except GitHub's and Google's), sorted.
func (c *Context) oidcProviders() []string {
	var out []string
	for k := range c.Raw {
		if loginConfigRE.MatchString(k) && k != "GITHUB_LOGIN_CONFIG" && k != "GOOGLE_LOGIN_CONFIG" {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// accessOffline: someone must be able to sign in; feature combinations
// that cannot work together.
func accessOffline(c *Context, l *problem.List) {
	authType := c.Str("AUTHENTICATION_TYPE")
	providers := c.oidcProviders()
	direct := c.on("FEATURE_DIRECT_LOGIN")
	if !direct && !c.on("FEATURE_GITHUB_LOGIN") && !c.on("FEATURE_GOOGLE_LOGIN") && len(providers) == 0 &&
		!wrongType(c.Raw, "FEATURE_DIRECT_LOGIN") {
		l.ErrorTags(groupAccess, at("FEATURE_DIRECT_LOGIN"), []string{"FEATURE_DIRECT_LOGIN", "FEATURE_GITHUB_LOGIN", "FEATURE_GOOGLE_LOGIN"},
			"No login method is enabled: FEATURE_DIRECT_LOGIN is off and there is no GitHub, Google or OIDC login; turn one on or nobody can sign in.")
	}
	if authType == "OIDC" && len(providers) == 0 {
		l.ErrorTags(groupAccess, at("AUTHENTICATION_TYPE"), []string{"AUTHENTICATION_TYPE"},
			"AUTHENTICATION_TYPE is OIDC but no OIDC provider is configured; add a <NAME>_LOGIN_CONFIG block with OIDC_SERVER, CLIENT_ID, CLIENT_SECRET and SERVICE_NAME.")
	}
	if c.on("FEATURE_INVITE_ONLY_USER_CREATION") && !c.on("FEATURE_USER_CREATION") && !wrongType(c.Raw, "FEATURE_USER_CREATION") {
		l.ErrorTags(groupAccess, at("FEATURE_INVITE_ONLY_USER_CREATION"), []string{"FEATURE_INVITE_ONLY_USER_CREATION", "FEATURE_USER_CREATION"},
			"FEATURE_INVITE_ONLY_USER_CREATION needs FEATURE_USER_CREATION: invited users cannot create their account while user creation is off.")
	}
	if c.on("FEATURE_RECAPTCHA") {
		for _, k := range []string{"RECAPTCHA_SITE_KEY", "RECAPTCHA_SECRET_KEY"} {
			c.requireKey(l, groupAccess, k, []string{"FEATURE_RECAPTCHA", k}, "when FEATURE_RECAPTCHA is on; copy it from the reCAPTCHA admin console")
		}
	}
	if _, isList := c.Config["BLACKLISTED_EMAIL_DOMAINS"].([]any); c.on("FEATURE_BLACKLISTED_EMAILS") && len(c.Strings("BLACKLISTED_EMAIL_DOMAINS")) == 0 && (isList || c.Config["BLACKLISTED_EMAIL_DOMAINS"] == nil) {
		l.WarnTags(groupAccess, at("BLACKLISTED_EMAIL_DOMAINS"), []string{"FEATURE_BLACKLISTED_EMAILS", "BLACKLISTED_EMAIL_DOMAINS"},
			"FEATURE_BLACKLISTED_EMAILS is on but BLACKLISTED_EMAIL_DOMAINS is empty, so nothing is blocked; list the domains to refuse.")
	}
	if strings.EqualFold(c.Str("SESSION_COOKIE_SAMESITE"), "None") && !c.on("SESSION_COOKIE_SECURE") && !wrongType(c.Raw, "SESSION_COOKIE_SECURE") {
		l.ErrorTags(groupAccess, at("SESSION_COOKIE_SAMESITE"), []string{"SESSION_COOKIE_SAMESITE", "SESSION_COOKIE_SECURE"},
			"SESSION_COOKIE_SAMESITE: None needs SESSION_COOKIE_SECURE: true; browsers drop such cookies otherwise and nobody stays signed in.")
	}
	if c.on("SESSION_COOKIE_SECURE") && !strings.EqualFold(c.Str("PREFERRED_URL_SCHEME"), "https") && !c.on("EXTERNAL_TLS_TERMINATION") {
		l.WarnTags(groupAccess, at("SESSION_COOKIE_SECURE"), []string{"SESSION_COOKIE_SECURE", "PREFERRED_URL_SCHEME"},
			"SESSION_COOKIE_SECURE is on but PREFERRED_URL_SCHEME is http, so browsers will not send the session cookie back; serve Quay over https.")
	}
	for _, k := range []string{"FRESH_LOGIN_TIMEOUT", "SESSION_TIMEOUT", "USER_RECOVERY_TOKEN_LIFETIME"} {
		c.checkDuration(l, groupAccess, k)
	}
}
