package editor

// Bundle files edited on a group page (the TLS pair, the database CA):
// their slots, upload and removal.

import (
	"crypto/x509"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/quay-tools/config-editor/internal/bundle"
	"github.com/quay-tools/config-editor/internal/validators"
)

// fileSlot is a bundle file edited on a group page.
type fileSlot struct {
	Name, Label, Help string
	Key               bool // private key: never shown, only its presence
	Present           bool
	Info              []string
	Err               string
	ID                string
}

var groupFiles = map[string][]fileSlot{
	"HostSettings": {
		{Name: "ssl.cert", Label: "TLS certificate (ssl.cert)", Help: "PEM certificate chain Quay serves; the first certificate must cover SERVER_HOSTNAME."},
		{Name: "ssl.key", Label: "TLS private key (ssl.key)", Help: "PEM private key matching ssl.cert. It is stored in the bundle and never shown.", Key: true},
	},
	"Database": {
		{Name: "database.pem", Label: "Database CA certificate (database.pem)", Help: "CA that signed the database server's certificate; refer to it as conf/stack/database.pem in the connection arguments."},
	},
}

func slotsFor(group string, b *bundle.Bundle, now time.Time) []fileSlot {
	var out []fileSlot
	for _, fs := range groupFiles[group] {
		fs.ID = "file-" + strings.ReplaceAll(fs.Name, ".", "-")
		data, ok := b.File(fs.Name)
		fs.Present = ok
		if ok && !fs.Key {
			certs, err := validators.ParseCertPEM(data)
			if err != nil {
				fs.Err = err.Error()
			} else {
				fs.Info = certSummary(certs[0], now)
			}
		}
		out = append(out, fs)
	}
	return out
}

func certSummary(c *x509.Certificate, now time.Time) []string {
	out := []string{"Subject: " + c.Subject.String()}
	if len(c.DNSNames) > 0 {
		out = append(out, "Names: "+strings.Join(c.DNSNames, ", "))
	}
	out = append(out, "Expires: "+c.NotAfter.UTC().Format("2006-01-02")+" ("+certStatus(c, now)+")")
	return out
}

func certStatus(c *x509.Certificate, now time.Time) string {
	switch {
	case now.After(c.NotAfter):
		return "expired"
	case now.Before(c.NotBefore):
		return "not yet valid"
	case c.NotAfter.Sub(now) < validators.ExpiryWarning:
		return "expires soon"
	}
	return "valid"
}

const maxCertUpload = 1 << 20

// slotGroup finds the group page that owns a bundle file slot.
func slotGroup(name string) (string, fileSlot, bool) {
	for g, slots := range groupFiles {
		for _, s := range slots {
			if s.Name == name {
				return g, s, true
			}
		}
	}
	return "", fileSlot{}, false
}

func (p *pages) fileUpload(c echo.Context) error {
	sess, err := p.session(c)
	if err != nil {
		return err
	}
	name := c.FormValue("name")
	group, slot, ok := slotGroup(name)
	if !ok {
		return echo.NewHTTPError(http.StatusBadRequest, "unknown bundle file")
	}
	_, data, upErr := readUpload(c, "file", maxCertUpload)
	sess.Lock()
	defer sess.Unlock()
	if refused, err := p.refuseFileEdit(c, sess, group); refused {
		return err
	}
	if upErr == nil {
		if slot.Key {
			_, upErr = validators.ParseKeyPEM(data)
		} else {
			_, upErr = validators.ParseCertPEM(data)
		}
	}
	if upErr != nil {
		return p.renderGroup(c, sess, http.StatusUnprocessableEntity, group, groupInput{msg: "Nothing was stored for " + name + ": " + upErr.Error() + "."})
	}
	work := sess.Work.Clone()
	if err := work.SetFile(name, data); err != nil {
		return p.renderGroup(c, sess, http.StatusUnprocessableEntity, group, groupInput{msg: "Nothing was stored: " + err.Error() + "."})
	}
	return p.storeFileEdit(c, sess, group, work, "Stored "+name+".")
}

func (p *pages) fileRemove(c echo.Context) error {
	sess, err := p.session(c)
	if err != nil {
		return err
	}
	name := c.FormValue("name")
	group, _, ok := slotGroup(name)
	if !ok {
		return echo.NewHTTPError(http.StatusBadRequest, "unknown bundle file")
	}
	sess.Lock()
	defer sess.Unlock()
	if refused, err := p.refuseFileEdit(c, sess, group); refused {
		return err
	}
	work := sess.Work.Clone()
	work.RemoveFile(name)
	return p.storeFileEdit(c, sess, group, work, "Removed "+name+".")
}

// refuseFileEdit answers a file edit that may not happen (read-only group,
// stale revision) and reports whether it did. Holds sess's lock.
func (p *pages) refuseFileEdit(c echo.Context, sess *Session, group string) (bool, error) {
	switch {
	case p.s.readOnly[group]:
		return true, p.renderGroup(c, sess, http.StatusForbidden, group, groupInput{msg: "This group is managed by the Operator and cannot be edited here."})
	case !checkRev(c, sess):
		return true, p.renderGroup(c, sess, http.StatusConflict, group, groupInput{msg: conflictMsg})
	}
	return false, nil
}

// storeFileEdit makes work the session's copy and returns to the group page.
func (p *pages) storeFileEdit(c echo.Context, sess *Session, group string, work *bundle.Bundle, flash string) error {
	if err := sess.Admit(work, sess.Base); err != nil {
		return p.renderGroup(c, sess, memoryStatus(err), group, groupInput{msg: "Nothing was stored: " + err.Error() + "."})
	}
	sess.Work = work
	sess.Changed()
	sess.forgetValidation(group)
	sess.Flash = flash
	return p.redirect(c, "/group/"+group)
}
