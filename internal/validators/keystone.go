package validators

import (
	"strings"

	"github.com/quay-tools/config-editor/internal/problem"
)

const groupKeystone = "KeystoneAuthentication"

func keystoneCheck() Check {
	return Check{Group: groupKeystone, Offline: keystoneOffline,
		OnlineProof: "authenticate the admin user against Keystone"}
}

// keystoneOffline: Keystone authentication needs the URL and an admin
// identity; the API version should match the URL.
func keystoneOffline(c *Context, l *problem.List) {
	if c.Str("AUTHENTICATION_TYPE") != "Keystone" {
		return
	}
	why := "when AUTHENTICATION_TYPE is Keystone"
	for _, k := range []string{"KEYSTONE_AUTH_URL", "KEYSTONE_ADMIN_USERNAME", "KEYSTONE_ADMIN_PASSWORD", "KEYSTONE_ADMIN_TENANT"} {
		c.requireKey(l, groupKeystone, k, []string{"AUTHENTICATION_TYPE", k}, why)
	}
	u, ok := c.Raw["KEYSTONE_AUTH_URL"].(string)
	if !ok || !c.checkHTTPURL(l, groupKeystone, at("KEYSTONE_AUTH_URL"), u, c.schemaHasPattern("KEYSTONE_AUTH_URL")) {
		return
	}
	v := AsString(c.Config["KEYSTONE_AUTH_VERSION"])
	trimmed := strings.TrimSuffix(u, "/")
	switch {
	case v == "3" && strings.HasSuffix(trimmed, "/v2.0"):
		l.WarnTags(groupKeystone, at("KEYSTONE_AUTH_URL"), []string{"KEYSTONE_AUTH_URL", "KEYSTONE_AUTH_VERSION"},
			"KEYSTONE_AUTH_URL ends in /v2.0 but KEYSTONE_AUTH_VERSION is 3; use the /v3 URL or set the version to 2.")
	case v == "2" && strings.HasSuffix(trimmed, "/v3"):
		l.WarnTags(groupKeystone, at("KEYSTONE_AUTH_URL"), []string{"KEYSTONE_AUTH_URL", "KEYSTONE_AUTH_VERSION"},
			"KEYSTONE_AUTH_URL ends in /v3 but KEYSTONE_AUTH_VERSION is 2; use the /v2.0 URL or set the version to 3.")
	}
}
