package validators

import (
	"regexp"

	"github.com/quay-tools/config-editor/internal/problem"
)

const groupSuperusers = "Superusers"

// Quay usernames: lowercase letters, digits and single separators.
var usernameRE = regexp.MustCompile(`^[a-z0-9]+([._-][a-z0-9]+)*$`)

func superusersCheck() Check { return Check{Group: groupSuperusers, Offline: superusersOffline} }

// superusersOffline: names must be possible Quay usernames; lists only act
// with their feature.
func superusersOffline(c *Context, l *problem.List) {
	super := map[string]bool{}
	for _, key := range []string{"SUPER_USERS", "GLOBAL_READONLY_SUPER_USERS", "RESTRICTED_USERS_WHITELIST"} {
		for i, v := range c.List(key) {
			s, ok := v.(string)
			if !ok {
				continue
			}
			if !usernameRE.MatchString(s) || len(s) < 2 || len(s) > 255 {
				l.Errorf(groupSuperusers, at(key).Index(i), "%s[%d] %q is not a valid Quay username (2-255 lowercase letters, digits, and . _ - between them).", key, i, s)
			}
			if key == "SUPER_USERS" {
				super[s] = true
			} else if key == "GLOBAL_READONLY_SUPER_USERS" && super[s] {
				l.Warnf(groupSuperusers, at(key).Index(i), "%q is in both SUPER_USERS and GLOBAL_READONLY_SUPER_USERS; a superuser already has full access, remove one entry.", s)
			}
		}
	}
	if !c.on("FEATURE_SUPER_USERS") && !wrongType(c.Raw, "FEATURE_SUPER_USERS") && len(c.List("SUPER_USERS")) > 0 {
		l.WarnTags(groupSuperusers, at("SUPER_USERS"), []string{"SUPER_USERS", "FEATURE_SUPER_USERS"},
			"SUPER_USERS lists users but FEATURE_SUPER_USERS is off, so they get no superuser rights; set FEATURE_SUPER_USERS: true.")
	}
	for _, k := range []string{"FEATURE_SUPERUSERS_FULL_ACCESS", "FEATURE_SUPERUSERS_ORG_CREATION_ONLY", "FEATURE_SUPERUSER_CONFIGDUMP"} {
		if c.on(k) && len(c.List("SUPER_USERS")) == 0 && listOrAbsent(c.Raw, "SUPER_USERS") {
			l.WarnTags(groupSuperusers, at(k), []string{k, "SUPER_USERS"}, "%s is on but SUPER_USERS is empty, so it applies to nobody; list the superusers.", k)
		}
	}
	if !wrongType(c.Raw, "FEATURE_RESTRICTED_USERS") {
		c.dependsOn(l, groupSuperusers, "RESTRICTED_USERS_WHITELIST", "FEATURE_RESTRICTED_USERS")
	}
}
