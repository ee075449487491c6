package validators

import "github.com/quay-tools/config-editor/internal/problem"

const groupSecurityKeys = "SecurityKeys"

func securityKeysCheck() Check { return Check{Group: groupSecurityKeys, Offline: securityKeysOffline} }

// securityKeysOffline: Quay encrypts database fields with
// DATABASE_SECRET_KEY and signs sessions with SECRET_KEY. Key values are
// never quoted.
func securityKeysOffline(c *Context, l *problem.List) {
	if !c.Has("DATABASE_SECRET_KEY") && !wrongType(c.Raw, "DATABASE_SECRET_KEY") {
		l.Warnf(groupSecurityKeys, at("DATABASE_SECRET_KEY"),
			"DATABASE_SECRET_KEY is not set; Quay needs it at runtime to encrypt credentials in the database. Set a long random value and keep it identical on every Quay instance (the Operator generates one for managed deployments).")
	}
	if !c.Has("SECRET_KEY") && !wrongType(c.Raw, "SECRET_KEY") {
		l.Warnf(groupSecurityKeys, at("SECRET_KEY"),
			"SECRET_KEY is not set; Quay signs sessions with it. Set a long random value, identical on every Quay instance.")
	}
	for _, k := range []string{"DATABASE_SECRET_KEY", "SECRET_KEY", "PAGE_TOKEN_KEY"} {
		if s, ok := c.Raw[k].(string); ok && s != "" && len(s) < 16 {
			l.Warnf(groupSecurityKeys, at(k), "%s is shorter than 16 characters, which is easy to guess; use a long random value.", k)
		}
	}
}
