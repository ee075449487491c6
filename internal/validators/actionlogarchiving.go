package validators

import "github.com/quay-tools/config-editor/internal/problem"

const groupLogArchive = "ActionLogArchiving"

func logArchiveCheck() Check { return Check{Group: groupLogArchive, Offline: logArchiveOffline} }

// logArchiveOffline: rotation writes old logs to a storage location and
// path. Whether the location exists is checked with the storage rules.
func logArchiveOffline(c *Context, l *problem.List) {
	if !c.on("FEATURE_ACTION_LOG_ROTATION") {
		return
	}
	tags := func(k string) []string { return []string{"FEATURE_ACTION_LOG_ROTATION", k} }
	c.requireKey(l, groupLogArchive, "ACTION_LOG_ARCHIVE_LOCATION", tags("ACTION_LOG_ARCHIVE_LOCATION"),
		"when FEATURE_ACTION_LOG_ROTATION is on; name the storage location that receives archived logs")
	c.requireKey(l, groupLogArchive, "ACTION_LOG_ARCHIVE_PATH", tags("ACTION_LOG_ARCHIVE_PATH"),
		"when FEATURE_ACTION_LOG_ROTATION is on; give the path inside the storage location, for example actionlogarchive/")
}
