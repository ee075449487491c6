package validators

import (
	"strings"

	"github.com/quay-tools/config-editor/internal/problem"
)

const groupTimeMachine = "TimeMachine"

func timeMachineCheck() Check { return Check{Group: groupTimeMachine, Offline: timeMachineOffline} }

// timeMachineOffline: the default expiration must be one of the options
// users can pick.
func timeMachineOffline(c *Context, l *problem.List) {
	def, ok := c.Config["DEFAULT_TAG_EXPIRATION"].(string)
	if !ok || !durationRE.MatchString(def) {
		return
	}
	if _, isList := c.Config["TAG_EXPIRATION_OPTIONS"].([]any); !isList {
		return
	}
	opts := c.Strings("TAG_EXPIRATION_OPTIONS")
	for _, o := range opts {
		if o == def {
			return
		}
	}
	path := at("DEFAULT_TAG_EXPIRATION")
	if !c.Has("DEFAULT_TAG_EXPIRATION") {
		path = at("TAG_EXPIRATION_OPTIONS")
	}
	l.ErrorTags(groupTimeMachine, path, []string{"DEFAULT_TAG_EXPIRATION", "TAG_EXPIRATION_OPTIONS"},
		"DEFAULT_TAG_EXPIRATION %s is not one of TAG_EXPIRATION_OPTIONS (%s); add it to the options or pick one of them.", def, strings.Join(opts, ", "))
}
