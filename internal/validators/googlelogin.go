package validators

import (
	"context"

	"github.com/quay-tools/config-editor/internal/problem"
)

const groupGoogleLogin = "GoogleLogin"

// GoogleLogin: sign-in with Google through an OAuth client, under
// FEATURE_GOOGLE_LOGIN. The probe exchanges a made-up code at Google's token
// endpoint (oauthapp.go): invalid_grant proves the client right.
func googleLoginCheck() Check {
	return Check{Group: groupGoogleLogin, Offline: googleLoginOffline, Probes: googleProbes}
}

func googleLoginOffline(c *Context, l *problem.List) {
	if m, ok := c.oauthConfig(l, groupGoogleLogin, "FEATURE_GOOGLE_LOGIN", "GOOGLE_LOGIN_CONFIG"); ok {
		requireIn(l, groupGoogleLogin, m, at("GOOGLE_LOGIN_CONFIG"), "CLIENT_ID", " when FEATURE_GOOGLE_LOGIN is on")
		requireIn(l, groupGoogleLogin, m, at("GOOGLE_LOGIN_CONFIG"), "CLIENT_SECRET", " when FEATURE_GOOGLE_LOGIN is on")
	}
}

func googleProbes(c *Context) []Probe {
	m, ok := c.oauthBlock("FEATURE_GOOGLE_LOGIN", "GOOGLE_LOGIN_CONFIG", "CLIENT_ID", "CLIENT_SECRET")
	if !ok {
		return nil
	}
	t := oauthTry{group: groupGoogleLogin, key: "GOOGLE_LOGIN_CONFIG", service: "Google",
		tokenURL: c.Opts.Hosted.GoogleToken, clientID: AsString(m["CLIENT_ID"]), Secret: secretIn(m, "CLIENT_SECRET"),
		idField: "CLIENT_ID", secretField: "CLIENT_SECRET", redirectURI: c.callbackURL("/oauth2/google/callback"),
		okErrors: []string{"invalid_grant"}, badClient: []string{"invalid_client", "unauthorized_client"}}
	return []Probe{{Name: "GOOGLE_LOGIN_CONFIG", Run: func(ctx context.Context, l *problem.List) { c.tryToken(ctx, l, t) }}}
}
