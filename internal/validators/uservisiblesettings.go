package validators

import (
	"strings"

	"github.com/quay-tools/config-editor/internal/problem"
)

const groupUserVisible = "UserVisibleSettings"

func userVisibleCheck() Check { return Check{Group: groupUserVisible, Offline: userVisibleOffline} }

// userVisibleOffline: logos are URLs or paths served by Quay; links are
// absolute URLs with a host.
func userVisibleOffline(c *Context, l *problem.List) {
	image := func(path *problem.Path, v any) {
		s, ok := v.(string)
		if !ok || s == "" {
			return
		}
		if httpURLRE.MatchString(s) {
			c.checkHTTPURL(l, groupUserVisible, path, s, true)
			return
		}
		if !strings.HasPrefix(s, "/") && !strings.HasPrefix(s, "data:image/") {
			l.Errorf(groupUserVisible, path, "%s must be an http(s) URL or an absolute path served by Quay (starting with /); got %q.", path, s)
		}
	}
	if b := c.Map("BRANDING"); b != nil {
		image(at("BRANDING", "logo"), b["logo"])
		image(at("BRANDING", "footer_img"), b["footer_img"])
		if s, ok := b["footer_url"].(string); ok {
			c.checkHTTPURL(l, groupUserVisible, at("BRANDING", "footer_url"), s, true)
		}
		if present(b, "footer_url") && !present(b, "footer_img") && !wrongType(b, "footer_img") {
			l.Warnf(groupUserVisible, at("BRANDING", "footer_url"), "BRANDING.footer_url is set but BRANDING.footer_img is not, so there is nothing to click; add a footer image.")
		}
	}
	image(at("ENTERPRISE_LOGO_URL"), c.Raw["ENTERPRISE_LOGO_URL"])
	if f := c.Map("FOOTER_LINKS"); f != nil {
		for _, k := range SortedKeys(f) {
			if s, ok := f[k].(string); ok {
				c.checkHTTPURL(l, groupUserVisible, at("FOOTER_LINKS", k), s, c.schemaHasPattern("FOOTER_LINKS", k))
			}
		}
	}
	if s, ok := c.Raw["UI_V2_FEEDBACK_FORM"].(string); ok {
		c.checkHTTPURL(l, groupUserVisible, at("UI_V2_FEEDBACK_FORM"), s, true)
	}
	for i, v := range c.List("CONTACT_INFO") {
		if s, ok := v.(string); ok && httpURLRE.MatchString(s) {
			c.checkHTTPURL(l, groupUserVisible, at("CONTACT_INFO").Index(i), s, true)
		}
	}
	if short, ok := c.Raw["REGISTRY_TITLE_SHORT"].(string); ok && len(short) > 30 {
		l.Warnf(groupUserVisible, at("REGISTRY_TITLE_SHORT"), "REGISTRY_TITLE_SHORT is %d characters long; the UI header has room for about 30.", len(short))
	}
}
