package validators

import (
	"strings"

	"github.com/quay-tools/config-editor/internal/problem"
)

const groupMisc = "Miscellaneous"

func miscCheck() Check { return Check{Group: groupMisc, Offline: miscOffline} }

// miscOffline: signing keys in the bundle, service URLs, switches that
// need their companion setting.
func miscOffline(c *Context, l *problem.List) {
	if c.on("FEATURE_SIGNING") {
		for _, k := range []string{"GPG2_PRIVATE_KEY_NAME", "GPG2_PRIVATE_KEY_FILENAME", "GPG2_PUBLIC_KEY_FILENAME"} {
			c.requireKey(l, groupMisc, k, []string{"FEATURE_SIGNING", k}, "when FEATURE_SIGNING is on")
		}
		for _, k := range []string{"GPG2_PRIVATE_KEY_FILENAME", "GPG2_PUBLIC_KEY_FILENAME"} {
			ref, ok := c.Raw[k].(string)
			if !ok || ref == "" {
				continue
			}
			data, name, found := c.BundleFile(ref)
			switch {
			case !found && (!strings.HasPrefix(ref, "/") || strings.HasPrefix(ref, "/conf/stack/")):
				l.Errorf(groupMisc, at(k), "%s refers to %q, which is not in the bundle; upload it as %s.", k, ref, name)
			case found && !strings.Contains(string(data), "-----BEGIN PGP "):
				l.Errorf(groupMisc, at(k), "%s (%s) is not an ASCII-armoured GPG key; export it with gpg --armor.", k, name)
			}
		}
	}
	if c.on("FEATURE_EXPORT_COMPLIANCE") {
		c.requireKey(l, groupMisc, "EXPORT_COMPLIANCE_ENDPOINT", []string{"FEATURE_EXPORT_COMPLIANCE", "EXPORT_COMPLIANCE_ENDPOINT"}, "when FEATURE_EXPORT_COMPLIANCE is on")
	}
	if c.on("FEATURE_ENTITLEMENT_RECONCILIATION") {
		for _, k := range []string{"ENTITLEMENT_RECONCILIATION_USER_ENDPOINT", "ENTITLEMENT_RECONCILIATION_MARKETPLACE_ENDPOINT"} {
			c.requireKey(l, groupMisc, k, []string{"FEATURE_ENTITLEMENT_RECONCILIATION", k}, "when FEATURE_ENTITLEMENT_RECONCILIATION is on")
		}
	}
	for _, k := range []string{"PROMETHEUS_PUSHGATEWAY_URL", "EXPORT_COMPLIANCE_ENDPOINT", "ENTITLEMENT_RECONCILIATION_USER_ENDPOINT", "ENTITLEMENT_RECONCILIATION_MARKETPLACE_ENDPOINT", "TUF_SERVER"} {
		if s, ok := c.Raw[k].(string); ok {
			c.checkHTTPURL(l, groupMisc, at(k), s, c.schemaHasPattern(k))
		}
	}
	for i, v := range c.List("CORS_ORIGIN") {
		if s, ok := v.(string); ok && s != "*" && !httpURLRE.MatchString(s) {
			l.Errorf(groupMisc, at("CORS_ORIGIN").Index(i), "CORS_ORIGIN[%d] %q must be an origin such as https://app.example.com, or *.", i, s)
		}
	}
	if c.on("DEBUG") {
		l.Warnf(groupMisc, at("DEBUG"), "DEBUG is on: Quay logs request details that may include sensitive data; turn it off in production.")
	}
	if c.on("FEATURE_RH_MARKETPLACE") && !c.on("FEATURE_ENTITLEMENT_RECONCILIATION") && !wrongType(c.Raw, "FEATURE_ENTITLEMENT_RECONCILIATION") {
		l.WarnTags(groupMisc, at("FEATURE_RH_MARKETPLACE"), []string{"FEATURE_RH_MARKETPLACE", "FEATURE_ENTITLEMENT_RECONCILIATION"},
			"FEATURE_RH_MARKETPLACE is on without FEATURE_ENTITLEMENT_RECONCILIATION, so marketplace subscriptions are never reconciled.")
	}
}
