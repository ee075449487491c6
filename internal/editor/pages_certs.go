package editor

// The custom CA certificates page (extra_ca_certs/): list, add, remove.

import (
	"crypto/x509"
	"net/http"
	"path"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/quay-tools/config-editor/internal/bundle"
	"github.com/quay-tools/config-editor/internal/validators"
)

// certRow is one certificate file of the bundle: the extra CA files and
// the server certificate chain (ssl.cert), each certificate described.
type certRow struct {
	Name      string
	Err       string // the file cannot be parsed
	Certs     []certInfo
	Removable bool // an extra CA file (ssl.cert is managed on its group page)
}

// certsData is the data of templates/pages/certs.html.
type certsData struct {
	layoutData
	Certs []certRow
}

func (p *pages) certsPage(c echo.Context) error {
	sess, err := p.session(c)
	if err != nil {
		return err
	}
	sess.Lock()
	defer sess.Unlock()
	return p.renderCerts(c, sess, http.StatusOK, "")
}

func (p *pages) renderCerts(c echo.Context, sess *Session, status int, msg string) error {
	now := p.s.cfg.Now()
	var rows []certRow
	describe := func(name string, data []byte, removable bool) {
		row := certRow{Name: name, Removable: removable}
		certs, err := validators.ParseCertPEM(data)
		if err != nil {
			row.Err = err.Error()
		}
		for _, c := range certs {
			row.Certs = append(row.Certs, describeCert(c, now))
		}
		rows = append(rows, row)
	}
	cas := sess.Work.ExtraCAs()
	for _, name := range sortedKeys(toAnyMap(cas)) {
		describe(name, cas[name], true)
	}
	if data, ok := sess.Work.File("ssl.cert"); ok {
		describe("ssl.cert", data, false)
	}
	return p.page(c, sess, status, "certs", "certs", "Custom SSL certificates", &certsData{layoutData: layoutData{Message: msg}, Certs: rows})
}

func ipStrings(c *x509.Certificate) []string {
	var out []string
	for _, ip := range c.IPAddresses {
		out = append(out, ip.String())
	}
	return out
}

func toAnyMap(m map[string][]byte) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func (p *pages) certUpload(c echo.Context) error {
	sess, err := p.session(c)
	if err != nil {
		return err
	}
	fname, data, upErr := readUpload(c, "cert", maxCertUpload)
	sess.Lock()
	defer sess.Unlock()
	if !checkRev(c, sess) {
		return p.renderCerts(c, sess, http.StatusConflict, conflictMsg)
	}
	if upErr != nil {
		return p.renderCerts(c, sess, http.StatusUnprocessableEntity, "Nothing was added: "+upErr.Error()+".")
	}
	base := path.Base(strings.ReplaceAll(fname, "\\", "/"))
	if !strings.HasSuffix(base, ".crt") && !strings.HasSuffix(base, ".pem") && !strings.HasSuffix(base, ".cer") {
		return p.renderCerts(c, sess, http.StatusUnprocessableEntity, "Nothing was added: the file name must end in .crt, .pem or .cer.")
	}
	if _, err := validators.ParseCertPEM(data); err != nil {
		return p.renderCerts(c, sess, http.StatusUnprocessableEntity, "Nothing was added: "+base+": "+err.Error()+".")
	}
	work := sess.Work.Clone()
	if err := work.SetFile(bundle.ExtraCAPrefix+base, data); err != nil {
		return p.renderCerts(c, sess, http.StatusUnprocessableEntity, "Nothing was added: "+err.Error()+".")
	}
	if err := sess.Admit(work, sess.Base); err != nil {
		return p.renderCerts(c, sess, memoryStatus(err), "Nothing was added: "+err.Error()+".")
	}
	sess.Work = work
	sess.Changed()
	sess.forgetValidation(groupCerts)
	sess.Flash = "Added " + bundle.ExtraCAPrefix + base + "."
	return p.redirect(c, "/certs")
}

func (p *pages) certRemove(c echo.Context) error {
	sess, err := p.session(c)
	if err != nil {
		return err
	}
	name := c.FormValue("name")
	sess.Lock()
	defer sess.Unlock()
	if !checkRev(c, sess) {
		return p.renderCerts(c, sess, http.StatusConflict, conflictMsg)
	}
	if _, ok := sess.Work.ExtraCAs()[name]; !ok {
		return p.renderCerts(c, sess, http.StatusUnprocessableEntity, "There is no certificate file "+name+".")
	}
	work := sess.Work.Clone()
	work.RemoveFile(name)
	sess.Work = work
	sess.Changed()
	sess.forgetValidation(groupCerts)
	sess.Flash = "Removed " + name + "."
	return p.redirect(c, "/certs")
}
