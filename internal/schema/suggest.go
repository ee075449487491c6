package schema

import "strings"

// Suggest returns the known top-level key an unknown key most likely
// meant, or "": its UPPERCASE spelling when that is a known key, else the
// closest known key within two edits (the "did you mean" of the unknown
// key warnings).
func (c *Catalogue) Suggest(key string) string {
	if c.Field(key) != nil {
		return ""
	}
	if up := strings.ToUpper(key); up != key {
		if c.Field(up) != nil {
			return up
		}
		return ""
	}
	return c.suggest(key)
}
