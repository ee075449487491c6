package validators

import (
	"strings"

	"github.com/quay-tools/config-editor/internal/problem"
)

const groupRepoMirror = "RepoMirror"

func repoMirrorCheck() Check { return Check{Group: groupRepoMirror, Offline: repoMirrorOffline} }

// repoMirrorOffline: the mirror workers push to REPO_MIRROR_SERVER_HOSTNAME
// (or SERVER_HOSTNAME), so it must be a host name that resolves from them.
func repoMirrorOffline(c *Context, l *problem.List) {
	host, ok := c.Raw["REPO_MIRROR_SERVER_HOSTNAME"].(string)
	if ok && host != "" && hostnameRE.MatchString(host) && c.on("FEATURE_REPO_MIRROR") {
		name := hostOnly(host)
		if strings.HasPrefix(name, "-") || strings.HasSuffix(name, "-") || strings.Contains(name, "..") || strings.HasPrefix(name, ".") {
			l.Errorf(groupRepoMirror, at("REPO_MIRROR_SERVER_HOSTNAME"), "REPO_MIRROR_SERVER_HOSTNAME %q is not a valid host name.", host)
		}
	}
	if c.on("FEATURE_REPO_MIRROR") {
		if b, ok := c.Raw["REPO_MIRROR_TLS_VERIFY"].(bool); ok && !b {
			l.Warnf(groupRepoMirror, at("REPO_MIRROR_TLS_VERIFY"), "REPO_MIRROR_TLS_VERIFY is off, so mirror workers accept any certificate from Quay; add Quay's CA to the bundle instead.")
		}
	} else if !wrongType(c.Raw, "FEATURE_REPO_MIRROR") {
		c.dependsOn(l, groupRepoMirror, "REPO_MIRROR_ROLLBACK", "FEATURE_REPO_MIRROR")
	}
}
