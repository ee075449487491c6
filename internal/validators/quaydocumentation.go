package validators

import (
	"strings"

	"github.com/quay-tools/config-editor/internal/problem"
)

const groupDocumentation = "QuayDocumentation"

func documentationCheck() Check {
	return Check{Group: groupDocumentation, Offline: documentationOffline}
}

// documentationOffline: DOCUMENTATION_ROOT is a base URL (or an absolute
// path) that page names are appended to.
func documentationOffline(c *Context, l *problem.List) {
	s, ok := c.Raw["DOCUMENTATION_ROOT"].(string)
	// Quay's start-up validation takes any request URI (url.ParseRequestURI):
	// an absolute path on Quay's own host is fine
	if ok && strings.HasPrefix(s, "/") {
		if !strings.HasSuffix(s, "/") {
			l.Warnf(groupDocumentation, at("DOCUMENTATION_ROOT"), "DOCUMENTATION_ROOT should end with / because page names are appended to it.")
		}
		return
	}
	if !ok || !c.checkHTTPURL(l, groupDocumentation, at("DOCUMENTATION_ROOT"), s, c.schemaHasPattern("DOCUMENTATION_ROOT")) {
		return
	}
	if !strings.HasSuffix(s, "/") {
		l.Warnf(groupDocumentation, at("DOCUMENTATION_ROOT"), "DOCUMENTATION_ROOT should end with / because page names are appended to it.")
	}
}
