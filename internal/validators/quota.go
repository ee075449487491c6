package validators

import "github.com/quay-tools/config-editor/internal/problem"

const groupQuota = "Quota"

func quotaCheck() Check { return Check{Group: groupQuota, Offline: quotaOffline} }

// quotaOffline: quota settings only act with FEATURE_QUOTA_MANAGEMENT.
func quotaOffline(c *Context, l *problem.List) {
	if c.on("FEATURE_QUOTA_MANAGEMENT") || wrongType(c.Raw, "FEATURE_QUOTA_MANAGEMENT") {
		return
	}
	for _, k := range []string{"FEATURE_EDIT_QUOTA", "FEATURE_VERIFY_QUOTA", "QUOTA_BACKFILL"} {
		c.dependsOn(l, groupQuota, k, "FEATURE_QUOTA_MANAGEMENT")
	}
	if n, ok := c.Raw["DEFAULT_SYSTEM_REJECT_QUOTA_BYTES"].(int); ok && n > 0 {
		c.dependsOn(l, groupQuota, "DEFAULT_SYSTEM_REJECT_QUOTA_BYTES", "FEATURE_QUOTA_MANAGEMENT")
	}
}
