package editor

// Generate buttons for SECRET_KEY and DATABASE_SECRET_KEY: a random value
// from crypto/rand is stored straight into the working copy and never
// rendered (secrets never reach HTML); the page says where to see it.

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/quay-tools/config-editor/internal/schema"
)

// generateKey is one key the section offers to generate.
type generateKey struct {
	Key     string
	Set     bool   // the working copy has a value: replacing it needs a confirmation
	Warning string // what replacing an existing value breaks
}

// generatable are the keys with a Generate button and the harm of
// replacing a value a deployment already uses.
var generatable = []generateKey{
	{Key: "SECRET_KEY", Warning: "Replacing it signs out every user and invalidates pending CSRF tokens; every Quay instance must use the same value."},
	{Key: "DATABASE_SECRET_KEY", Warning: "Never change it on an existing deployment: Quay encrypts fields in its database with it (robot tokens, build trigger and mirror credentials), and a new key makes them unreadable. Generate one only for a new deployment."},
}

// generateKeysOf lists the generatable keys of a group with whether each
// is set in cfg.
func generateKeysOf(group string, cfg map[string]any) []generateKey {
	var out []generateKey
	cat := schema.Get()
	for _, g := range generatable {
		if cat.GroupOf(g.Key) != group {
			continue
		}
		v := cfg[g.Key]
		g.Set = v != nil && v != ""
		out = append(out, g)
	}
	return out
}

// randomSecret is 48 bytes from crypto/rand as URL-safe base64 (64
// characters, plain YAML).
func randomSecret() (string, error) {
	b := make([]byte, 48)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// generateSecret handles POST /generate: key, rev and, when the key is
// already set, confirm=replace.
func (p *pages) generateSecret(c echo.Context) error {
	sess, err := p.session(c)
	if err != nil {
		return err
	}
	key := c.FormValue("key")
	var gk *generateKey
	for i := range generatable {
		if generatable[i].Key == key {
			gk = &generatable[i]
		}
	}
	if gk == nil {
		return echo.NewHTTPError(http.StatusBadRequest, "only SECRET_KEY and DATABASE_SECRET_KEY can be generated")
	}
	group := schema.Get().GroupOf(key)
	sess.Lock()
	defer sess.Unlock()
	if p.s.readOnly[group] {
		return p.renderGroup(c, sess, http.StatusForbidden, group, groupInput{msg: "This group is managed by the Operator and cannot be edited here."})
	}
	if !checkRev(c, sess) {
		return p.renderGroup(c, sess, http.StatusConflict, group, groupInput{msg: conflictMsg})
	}
	set := false
	for _, g := range generateKeysOf(group, sess.Work.Config().Value()) {
		if g.Key == key {
			set = g.Set
		}
	}
	if set && c.FormValue("confirm") != "replace" {
		return p.renderGroup(c, sess, http.StatusUnprocessableEntity, group, groupInput{
			msg: "Nothing was generated: " + key + " is already set. Tick the confirmation to replace it. " + gk.Warning})
	}
	v, err := randomSecret()
	if err != nil {
		return fmt.Errorf("random: %w", err)
	}
	work := sess.Work.Clone()
	if err := work.Config().Set([]string{key}, v); err != nil {
		return p.renderGroup(c, sess, http.StatusUnprocessableEntity, group, groupInput{msg: "Nothing was generated: " + err.Error()})
	}
	if err := sess.Admit(work, sess.Base); err != nil {
		return p.renderGroup(c, sess, memoryStatus(err), group, groupInput{msg: "Nothing was generated: " + err.Error()})
	}
	sess.Work = work
	sess.Changed()
	sess.forgetValidation(group)
	sess.Flash = fmt.Sprintf("Generated a new %s and stored it in the working copy (revision %d). It is never shown here: download the bundle to see it.", key, sess.Rev)
	return p.redirect(c, "/group/"+group)
}
