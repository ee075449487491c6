package editor

// The overview page, and the whole-bundle actions next to it: download
// and upload.

import (
	"bytes"
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/quay-tools/config-editor/internal/bundle"
	"github.com/quay-tools/config-editor/internal/schema"
)

// overview is the main page.
func (p *pages) overview(c echo.Context) error {
	sess, err := p.session(c)
	if err != nil {
		return err
	}
	sess.Lock()
	defer sess.Unlock()
	return p.renderOverview(c, sess, http.StatusOK, "")
}

// overviewData is the data of templates/pages/overview.html.
type overviewData struct {
	layoutData
	Host                   string
	Keys, Files, Locations int
	Auth                   string // AUTHENTICATION_TYPE, or its default
	Changed                bool   // the working copy differs from the loaded bundle
	SetupDir               string // a mounted directory without config.yaml ("Save to")
	// Health is what the current revision's validation found, by section;
	// the Host, Auth and Storage rows carry their section's state.
	Health                        []summaryGroup
	HostState, AuthState, StState groupState
}

func (p *pages) renderOverview(c echo.Context, sess *Session, status int, msg string) error {
	cfg := sess.Work.Config().Value()
	dsc, _ := cfg[keyStorageConfig].(map[string]any)
	auth := scalarText(cfg[keyAuthType])
	if auth == "" {
		if spec := schema.Get().Spec(keyAuthType); spec != nil {
			auth = scalarText(spec.Default)
		}
	}
	data := &overviewData{
		layoutData: layoutData{Message: msg},
		Host:       scalarText(cfg["SERVER_HOSTNAME"]),
		Keys:       len(cfg),
		Files:      len(sess.Work.FileNames()),
		Locations:  len(dsc),
		Auth:       auth,
		Changed:    !sess.pristine(),
		SetupDir:   p.s.setupDir,
	}
	p.ensureHealth(sess)
	sm := summaryOf(sess.validationSnapshot(), sess.Rev)
	data.Health = sm.Groups
	cat := schema.Get()
	data.HostState = stateOf(sm, cat.GroupOf("SERVER_HOSTNAME"))
	data.AuthState = stateOf(sm, cat.GroupOf(keyAuthType))
	data.StState = stateOf(sm, groupStorage)
	return p.page(c, sess, status, "overview", "overview", "Overview", data)
}

func (p *pages) download(c echo.Context) error {
	sess, err := p.session(c)
	if err != nil {
		return err
	}
	sess.Lock()
	if n := p.downloadErrors(sess); n > 0 && c.QueryParam("confirm") != "1" {
		defer sess.Unlock()
		return p.confirmDownload(c, sess, n)
	}
	data, err := sess.Work.TarGz()
	if err == nil {
		sess.Exported()
	}
	sess.Unlock()
	if err != nil {
		return echo.NewHTTPError(http.StatusInternalServerError, "the tarball could not be built: "+err.Error())
	}
	h := c.Response().Header()
	h.Set("Content-Disposition", "attachment; filename="+bundle.TarballName)
	h.Set("Cache-Control", "no-store")
	return c.Blob(http.StatusOK, bundle.TarballType, data)
}

const maxBundleUpload = BundleBodyLimit

func (p *pages) upload(c echo.Context) error {
	sess, err := p.session(c)
	if err != nil {
		return err
	}
	_, data, upErr := readUpload(c, "bundle", maxBundleUpload)
	sess.Lock()
	defer sess.Unlock()
	if !checkRev(c, sess) {
		return p.renderOverview(c, sess, http.StatusConflict, conflictMsg)
	}
	var b, base *bundle.Bundle
	status := http.StatusUnprocessableEntity
	if upErr == nil {
		b, upErr = bundle.ReadTarGz(bytes.NewReader(data), p.s.limits)
	}
	if upErr == nil {
		base = b.Clone()
		if upErr = sess.Admit(b, base); upErr != nil {
			status = memoryStatus(upErr)
		}
	}
	if upErr != nil {
		return p.renderOverview(c, sess, status,
			"The upload was refused and your working copy is unchanged: "+upErr.Error()+".")
	}
	sess.Work, sess.Base = b, base
	sess.Changed()
	sess.resetValidation()
	sess.Flash = fmt.Sprintf("Loaded the uploaded bundle: config.yaml and %d file(s). Changes are now shown against it.", len(b.FileNames()))
	return p.redirect(c, "/")
}
