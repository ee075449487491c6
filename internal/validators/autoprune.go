package validators

import (
	"regexp"

	"github.com/quay-tools/config-editor/internal/problem"
)

const groupAutoPrune = "AutoPrune"

var pruneAgeRE = regexp.MustCompile(`^[0-9]+[smdwy]$`)

func autoPruneCheck() Check { return Check{Group: groupAutoPrune, Offline: autoPruneOffline} }

// autoPruneOffline: the default policy needs a method and a value of the
// kind the method takes (a count, or an age).
func autoPruneOffline(c *Context, l *problem.List) {
	pol, ok := c.Raw["DEFAULT_NAMESPACE_AUTOPRUNE_POLICY"].(map[string]any)
	if !ok {
		return
	}
	if !c.on("FEATURE_AUTO_PRUNE") && !wrongType(c.Raw, "FEATURE_AUTO_PRUNE") {
		l.WarnTags(groupAutoPrune, at("DEFAULT_NAMESPACE_AUTOPRUNE_POLICY"), []string{"DEFAULT_NAMESPACE_AUTOPRUNE_POLICY", "FEATURE_AUTO_PRUNE"},
			"DEFAULT_NAMESPACE_AUTOPRUNE_POLICY has no effect while FEATURE_AUTO_PRUNE is off; set FEATURE_AUTO_PRUNE: true.")
	}
	if !c.on("FEATURE_AUTO_PRUNE") {
		return
	}
	base := at("DEFAULT_NAMESPACE_AUTOPRUNE_POLICY")
	hasMethod := requireIn(l, groupAutoPrune, pol, base, "method", "; use number_of_tags or creation_date")
	if !requireIn(l, groupAutoPrune, pol, base, "value", "; a tag count for number_of_tags, an age such as 30d for creation_date") || !hasMethod {
		return
	}
	v := pol["value"]
	switch str(pol, "method") {
	case "number_of_tags":
		if n, isInt := v.(int); isInt && n < 1 {
			return // below the schema minimum, already reported
		}
		if _, isStr := v.(string); isStr {
			l.Errorf(groupAutoPrune, base.Child("value"), "With method number_of_tags, value is a number of tags to keep (an integer of at least 1), not %q.", AsString(v))
		}
	case "creation_date":
		switch x := v.(type) {
		case string:
			if !pruneAgeRE.MatchString(x) {
				return // the schema pattern reports it
			}
		case int, float64:
			l.Errorf(groupAutoPrune, base.Child("value"), "With method creation_date, value is an age with a unit, such as %sd, not a bare number.", AsString(x))
		}
	}
}
