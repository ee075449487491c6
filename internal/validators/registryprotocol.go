package validators

import (
	"strings"

	"github.com/quay-tools/config-editor/internal/problem"
)

const groupRegistryProtocol = "RegistryProtocol"

func registryProtocolCheck() Check {
	return Check{Group: groupRegistryProtocol, Offline: registryProtocolOffline}
}

// registryProtocolOffline: artifact types are media types; Helm and the
// artifact list need general OCI support.
func registryProtocolOffline(c *Context, l *problem.List) {
	if types := c.Map("ALLOWED_OCI_ARTIFACT_TYPES"); types != nil {
		for _, k := range SortedKeys(types) {
			if !isMediaType(k) {
				l.Errorf(groupRegistryProtocol, at("ALLOWED_OCI_ARTIFACT_TYPES", k), "ALLOWED_OCI_ARTIFACT_TYPES key %q is not a media type; write it as type/subtype, for example application/vnd.cncf.helm.config.v1+json.", k)
			}
			if layers, ok := types[k].([]any); ok {
				for i, v := range layers {
					if s, ok := v.(string); ok && !isMediaType(s) {
						l.Errorf(groupRegistryProtocol, at("ALLOWED_OCI_ARTIFACT_TYPES", k).Index(i), "%q is not a media type; write it as type/subtype.", s)
					}
				}
			}
		}
	}
	if !wrongType(c.Raw, "FEATURE_GENERAL_OCI_SUPPORT") {
		c.dependsOn(l, groupRegistryProtocol, "FEATURE_HELM_OCI_SUPPORT", "FEATURE_GENERAL_OCI_SUPPORT")
		c.dependsOn(l, groupRegistryProtocol, "ALLOWED_OCI_ARTIFACT_TYPES", "FEATURE_GENERAL_OCI_SUPPORT")
	}
	if c.on("FEATURE_LIBRARY_SUPPORT") {
		if s, ok := c.Config["LIBRARY_NAMESPACE"].(string); ok && strings.TrimSpace(s) == "" {
			l.ErrorTags(groupRegistryProtocol, at("LIBRARY_NAMESPACE"), []string{"FEATURE_LIBRARY_SUPPORT", "LIBRARY_NAMESPACE"},
				"FEATURE_LIBRARY_SUPPORT is on but LIBRARY_NAMESPACE is empty; name the namespace that holds unqualified images (library).")
		}
	}
}

func isMediaType(s string) bool {
	t, sub, ok := strings.Cut(s, "/")
	return ok && t != "" && sub != "" && !strings.ContainsAny(s, " \t") && !strings.Contains(sub, "/")
}
