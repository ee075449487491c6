package validators

import (
	"encoding/base64"
	"regexp"
	"strings"

	"github.com/quay-tools/config-editor/internal/problem"
)

const groupSecurityScanner = "SecurityScanner"

var layerSizeRE = regexp.MustCompile(`(?i)^[0-9]+(\.[0-9]+)?\s*([KMGTP]i?B?|B)?$`)

func securityScannerCheck() Check {
	return Check{Group: groupSecurityScanner, Offline: securityScannerOffline,
		OnlineProof: "GET /indexer/api/v1/index_state on Clair, signed with the PSK"}
}

// securityScannerOffline: with the scanner on, Quay needs Clair's URL; the
// PSK is the base64 key Clair signs with. The PSK is never quoted.
func securityScannerOffline(c *Context, l *problem.List) {
	enabled := c.on("FEATURE_SECURITY_SCANNER")
	if enabled {
		if c.requireKey(l, groupSecurityScanner, "SECURITY_SCANNER_V4_ENDPOINT", []string{"FEATURE_SECURITY_SCANNER", "SECURITY_SCANNER_V4_ENDPOINT"},
			"when FEATURE_SECURITY_SCANNER is on; set it to Clair's URL, for example http://clair:8080") {
			c.checkHTTPURL(l, groupSecurityScanner, at("SECURITY_SCANNER_V4_ENDPOINT"), c.Str("SECURITY_SCANNER_V4_ENDPOINT"), true)
		}
	}
	if psk, ok := c.Raw["SECURITY_SCANNER_V4_PSK"].(string); ok && psk != "" {
		if _, err := base64.StdEncoding.DecodeString(strings.TrimSpace(psk)); err != nil {
			l.Errorf(groupSecurityScanner, at("SECURITY_SCANNER_V4_PSK"),
				"SECURITY_SCANNER_V4_PSK is not valid base64; copy the base64 key from Clair's configuration (auth.psk.key).")
		}
	}
	if s, ok := c.Raw["SECURITY_SCANNER_V4_INDEX_MAX_LAYER_SIZE"].(string); ok && s != "" && !layerSizeRE.MatchString(s) {
		l.Errorf(groupSecurityScanner, at("SECURITY_SCANNER_V4_INDEX_MAX_LAYER_SIZE"),
			"SECURITY_SCANNER_V4_INDEX_MAX_LAYER_SIZE must be a size such as 8G or 500MiB; got %q.", s)
	}
	if !enabled && !wrongType(c.Raw, "FEATURE_SECURITY_SCANNER") {
		c.dependsOn(l, groupSecurityScanner, "FEATURE_SECURITY_NOTIFICATIONS", "FEATURE_SECURITY_SCANNER")
		c.dependsOn(l, groupSecurityScanner, "FEATURE_SECURITY_SCANNER_NOTIFY_ON_NEW_INDEX", "FEATURE_SECURITY_SCANNER")
	}
}
