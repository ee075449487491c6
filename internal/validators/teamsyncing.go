package validators

import "github.com/quay-tools/config-editor/internal/problem"

const groupTeamSync = "TeamSyncing"

func teamSyncCheck() Check { return Check{Group: groupTeamSync, Offline: teamSyncOffline} }

// teamSyncOffline: teams can only be synchronised from an external
// directory (LDAP, Keystone or OIDC).
func teamSyncOffline(c *Context, l *problem.List) {
	if c.on("FEATURE_TEAM_SYNCING") && !wrongType(c.Raw, "AUTHENTICATION_TYPE") {
		switch c.Str("AUTHENTICATION_TYPE") {
		case "LDAP", "Keystone", "OIDC":
		default:
			l.WarnTags(groupTeamSync, at("FEATURE_TEAM_SYNCING"), []string{"FEATURE_TEAM_SYNCING", "AUTHENTICATION_TYPE"},
				"FEATURE_TEAM_SYNCING has no effect with AUTHENTICATION_TYPE %s; teams synchronise from LDAP, Keystone or OIDC.", c.Str("AUTHENTICATION_TYPE"))
		}
	} else if !wrongType(c.Raw, "FEATURE_TEAM_SYNCING") {
		c.dependsOn(l, groupTeamSync, "FEATURE_NONSUPERUSER_TEAM_SYNCING_SETUP", "FEATURE_TEAM_SYNCING")
	}
	c.checkDuration(l, groupTeamSync, "TEAM_RESYNC_STALE_TIME")
}
