package editor

// The user's working copy as a whole: discard it (start again from the
// source), save it into a setup directory, and the warning on logout
// while it has changes that never left the editor.

import (
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"
)

// discardCopy starts the copy again from the source (caller holds the
// lock); the revision goes on, so pages and If-Match of before fail.
func (s *Server) discardCopy(cp *Session) error {
	if cp.pristine() {
		return nil
	}
	cp.loadedRev = -1 // not pristine: load reads the source again
	if err := s.load(cp.Copy); err != nil {
		return err
	}
	cp.resetValidation()
	cp.state.save(cp.Copy)
	return nil
}

func (p *pages) discard(c echo.Context) error {
	sess, err := p.session(c)
	if err != nil {
		return err
	}
	sess.Lock()
	defer sess.Unlock()
	if c.FormValue("confirm") != "1" {
		return echo.NewHTTPError(http.StatusBadRequest, "Discarding needs confirm=1.")
	}
	if err := p.s.discardCopy(sess); err != nil {
		return fmt.Errorf("discard: %w", err)
	}
	sess.Flash = "Your changes were discarded: the working copy is the " + p.s.sourceName() + " again."
	if c.FormValue("then") == "logout" {
		return p.s.endLogin(c)
	}
	return p.redirect(c, "/")
}

// sourceName names where a fresh copy comes from, for messages.
func (s *Server) sourceName() string {
	if s.sourcePath() != "" {
		return "mounted bundle"
	}
	return "defaults"
}

func (s *Server) discardAPI(c echo.Context) error {
	sess := s.sessionOf(c)
	sess.Lock()
	defer sess.Unlock()
	if im := c.Request().Header.Get("If-Match"); im != "" && im != "*" && im != etag(sess.Rev) {
		return echo.NewHTTPError(http.StatusPreconditionFailed,
			fmt.Sprintf("The working copy changed (now revision %d, you sent %s).", sess.Rev, im))
	}
	if err := s.discardCopy(sess); err != nil {
		return fmt.Errorf("discard: %w", err)
	}
	c.Response().Header().Set("ETag", etag(sess.Rev))
	return c.JSON(http.StatusOK, map[string]any{"message": "discarded", "revision": sess.Rev})
}

// saveCopy writes the working copy into the setup directory (caller
// holds the lock); afterwards it is the copy's base.
func (s *Server) saveCopy(cp *Copy) error {
	if s.setupDir == "" {
		return echo.NewHTTPError(http.StatusConflict,
			"Nothing to save into: the editor writes only into a mounted directory that had no config.yaml (a new setup). Download the bundle instead.")
	}
	if err := saveBundleDir(s.setupDir, cp.Work); err != nil {
		s.log.Error("cannot save into the setup directory", "dir", s.setupDir, "err", err.Error())
		return echo.NewHTTPError(http.StatusInternalServerError,
			"The configuration could not be written into "+s.setupDir+": "+err.Error()+". Your working copy is unchanged.")
	}
	base := cp.Work.Clone()
	cp.Base, cp.Mounted = base, true
	cp.Changed()
	cp.loadedRev = cp.Rev
	cp.Exported()
	s.log.Info("configuration saved", "dir", s.setupDir, "revision", cp.Rev)
	return nil
}

func (p *pages) save(c echo.Context) error {
	sess, err := p.session(c)
	if err != nil {
		return err
	}
	sess.Lock()
	defer sess.Unlock()
	if err := p.s.saveCopy(sess.Copy); err != nil {
		return err
	}
	sess.Flash = "Saved config.yaml and the bundle's files into " + p.s.setupDir + "."
	return p.redirect(c, "/")
}

func (s *Server) saveAPI(c echo.Context) error {
	sess := s.sessionOf(c)
	sess.Lock()
	defer sess.Unlock()
	if im := c.Request().Header.Get("If-Match"); im != "" && im != "*" && im != etag(sess.Rev) {
		return echo.NewHTTPError(http.StatusPreconditionFailed,
			fmt.Sprintf("The working copy changed (now revision %d, you sent %s).", sess.Rev, im))
	}
	if err := s.saveCopy(sess.Copy); err != nil {
		return err
	}
	c.Response().Header().Set("ETag", etag(sess.Rev))
	return c.JSON(http.StatusOK, map[string]any{"message": "saved into " + s.setupDir, "revision": sess.Rev})
}

// logoutData is the data of templates/pages/logout.html.
type logoutData struct {
	layoutData
	StateKept bool
}
