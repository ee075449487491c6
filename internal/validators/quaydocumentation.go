package validators

import (
	"strings"

	"github.com/quay-tools/config-editor/internal/problem"
)

const groupDocumentation = "QuayDocumentation"

func documentationCheck() Check {
	return Check{Group: groupDocumentation, Offline: documentationOffline}
}

// documentationOffline: DOCUMENTATION_ROOT is a base URL that page names are
// appended to.
func documentationOffline(c *Context, l *problem.List) {
	s, ok := c.Raw["DOCUMENTATION_ROOT"].(string)
	if !ok || !c.checkHTTPURL(l, groupDocumentation, at("DOCUMENTATION_ROOT"), s, c.schemaHasPattern("DOCUMENTATION_ROOT")) {
		return
	}
	if !strings.HasSuffix(s, "/") {
		l.Warnf(groupDocumentation, at("DOCUMENTATION_ROOT"), "DOCUMENTATION_ROOT should end with / because page names are appended to it.")
	}
}
