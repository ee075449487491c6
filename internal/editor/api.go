package editor

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/quay-tools/config-editor/internal/bundle"
	"github.com/quay-tools/config-editor/internal/problem"
	"github.com/quay-tools/config-editor/internal/schema"
	"github.com/quay-tools/config-editor/internal/validators"
)

// registerAPI adds the historical /api/v1 routes and the extras for
// scripts. g is behind auth and CSRF (basic-auth clients are exempt from
// the token).
func (s *Server) registerAPI(g *echo.Group) {
	getHead(g, "/config", s.getConfig)
	g.PUT("/config", s.putConfig)
	getHead(g, "/config/bundle", s.getBundle)
	g.POST("/config/validate", s.validate)
	g.POST("/config/download", s.download)
	g.POST("/config/operator", s.operator)
	g.POST("/config/save", s.saveAPI)
	g.POST("/config/discard", s.discardAPI)
	getHead(g, "/openapi.json", s.openAPI)
}

// configResponse is the historical answer of GET /api/v1/config.
type configResponse struct {
	Config map[string]any    `json:"config.yaml"`
	Certs  map[string]string `json:"certs"`
}

func etag(rev int) string { return `"` + strconv.Itoa(rev) + `"` }

// getConfig answers the working copy with defaults overlaid (the defaults
// are in the answer only, never in the file): 200 for a mounted bundle,
// 202 for a setup session. As the historical editor did, it returns the
// real values including secrets: it is for authenticated automation.
func (s *Server) getConfig(c echo.Context) error {
	sess := s.sessionOf(c)
	sess.Lock()
	if viaBasic(c) && sess.pristine() {
		// Scripts see the files as they are now unless they changed the copy.
		if err := s.load(sess.Copy); err != nil {
			sess.Unlock()
			return fmt.Errorf("reload bundle: %w", err)
		}
	}
	resp := configResponse{
		Config: schema.Get().WithDefaults(sess.Work.Config().Value()),
		Certs:  map[string]string{},
	}
	for _, name := range sess.Work.FileNames() {
		if name == bundle.ConfigFile {
			continue
		}
		data, _ := sess.Work.File(name)
		resp.Certs[name] = base64.StdEncoding.EncodeToString(data)
	}
	rev, mounted := sess.Rev, sess.Mounted
	sess.Unlock()
	tag := etag(rev)
	c.Response().Header().Set("ETag", tag)
	c.Response().Header().Set("Cache-Control", "no-store")
	if c.Request().Header.Get("If-None-Match") == tag {
		return c.NoContent(http.StatusNotModified)
	}
	status := http.StatusOK
	if !mounted {
		status = http.StatusAccepted
	}
	return c.JSON(status, resp)
}

// putConfig replaces the working copy from a ConfigBundle. With If-Match
// the revision must be current (412 otherwise). A config.yaml object is
// applied as minimal edits (comments of untouched keys survive, "<secret>"
// keeps the current value); a YAML string replaces the text. Basic-auth
// clients share one working copy, so every answer carries the ETag of the
// working copy as the request left it.
func (s *Server) putConfig(c echo.Context) error {
	sess := s.sessionOf(c)
	data, err := readBody(c)
	if err != nil {
		return s.withETag(c, sess, err)
	}
	d, err := bundle.DecodeConfigBundle(data, s.limits)
	if err != nil {
		return s.withETag(c, sess, badBundle(err))
	}
	managed, isText := d.Managed, d.IsText()
	var next *bundle.Bundle
	if isText {
		if next, err = d.Bundle(s.limits); err != nil {
			return badBundle(err)
		}
	}

	sess.Lock()
	defer sess.Unlock()
	c.Response().Header().Set("ETag", etag(sess.Rev))
	if im := c.Request().Header.Get("If-Match"); im != "" && im != "*" && im != etag(sess.Rev) {
		return echo.NewHTTPError(http.StatusPreconditionFailed,
			fmt.Sprintf("The working copy changed (now revision %d, you sent %s): GET it again, reapply your change and retry.", sess.Rev, im))
	}
	cat := schema.Get()
	cur := sess.Work.Config().Value()
	if !isText {
		v, _ := d.Config.(map[string]any)
		if v == nil {
			v = map[string]any{}
		}
		next = sess.Work.Clone()
		if err := next.Config().Apply(cat.RestoreSecrets(v, cur)); err != nil {
			return badBundle(err)
		}
		for _, name := range next.FileNames() {
			next.RemoveFile(name)
		}
		if err := d.AddFilesTo(next); err != nil {
			return badBundle(err)
		}
	}
	if g := s.readOnlyChanged(cur, next.Config().Value()); g != "" {
		return echo.NewHTTPError(http.StatusForbidden,
			fmt.Sprintf("Field group %s is read-only in this editor; its keys cannot be changed.", g))
	}
	if err := sess.Admit(next, sess.Base); err != nil {
		return memoryRefusal(err)
	}
	sess.Work = next
	if managed != nil {
		sess.Managed = managed
	}
	sess.Changed()
	c.Response().Header().Set("ETag", etag(sess.Rev))
	return c.JSON(http.StatusOK, map[string]int{"rev": sess.Rev})
}

// withETag sets the ETag of the session's current revision on an error
// answer that changed nothing.
func (s *Server) withETag(c echo.Context, sess *Session, err error) error {
	sess.Lock()
	c.Response().Header().Set("ETag", etag(sess.Rev))
	sess.Unlock()
	return err
}

// readOnlyChanged names a read-only field group whose keys differ.
func (s *Server) readOnlyChanged(old, cur map[string]any) string {
	if len(s.readOnly) == 0 {
		return ""
	}
	cat := schema.Get()
	keys := map[string]bool{}
	for k := range old {
		keys[k] = true
	}
	for k := range cur {
		keys[k] = true
	}
	for k := range keys {
		g := cat.GroupOf(k)
		if !s.readOnly[g] {
			continue
		}
		if !bundle.EqualValues(old[k], cur[k]) {
			return g
		}
	}
	return ""
}

// getBundle downloads the session's working copy as quay-config.tar.gz.
func (s *Server) getBundle(c echo.Context) error {
	sess := s.sessionOf(c)
	sess.Lock()
	if viaBasic(c) && sess.pristine() {
		if err := s.load(sess.Copy); err != nil {
			sess.Unlock()
			return fmt.Errorf("reload bundle: %w", err)
		}
	}
	data, err := sess.Work.TarGz()
	rev := sess.Rev
	if err == nil {
		sess.Exported()
	}
	sess.Unlock()
	if err != nil {
		return err
	}
	c.Response().Header().Set("ETag", etag(rev))
	return sendTarball(c, data)
}

func sendTarball(c echo.Context, data []byte) error {
	h := c.Response().Header()
	h.Set("Content-Disposition", `attachment; filename="`+bundle.TarballName+`"`)
	h.Set("Cache-Control", "no-store")
	return c.Blob(http.StatusOK, bundle.TarballType, data)
}

// apiMode reads the validate route's ?mode=. Absent or empty is online, as
// in the historical editor (`if mode == "" { mode = "online" }`), whose
// scripts call without a mode and expect the probes; this is the API's
// own default: the CLI's --mode and the pages' Mode select keep offline.
func apiMode(q string) (mode validators.Mode, defaulted bool, err error) {
	if q == "" {
		return validators.Online, true, nil
	}
	mode, err = validators.ParseMode(q)
	return mode, false, err
}

// validate checks a posted ConfigBundle and answers the problems ([] when
// valid). Online unless ?mode=offline (see apiMode). Field groups listed in
// managedFieldGroups are skipped (the Operator supplies them). An online
// validation is refused with 409 while the same session runs one, and with
// 503 while the process runs its maximum (both with Retry-After); a request
// that named no mode is told how to validate without the probes.
func (s *Server) validate(c echo.Context) error {
	mode, defaulted, err := apiMode(c.QueryParam("mode"))
	if err != nil {
		return echo.NewHTTPError(http.StatusBadRequest, "Unknown mode: use mode=offline or mode=online.")
	}
	if mode == validators.Online {
		release, refused := s.online.start(s.sessionOf(c).ID, s.cfg.Now())
		if refused != nil {
			s.retryAfter(c)
			msg := refused.msg
			if defaulted {
				msg += " This request named no mode, so it validates online (as the historical editor did); add ?mode=offline to validate without connecting to any service."
			}
			return c.JSON(refused.status, apiError{Message: msg})
		}
		defer release()
	}
	data, err := readBody(c)
	if err != nil {
		return err
	}
	b, managed, err := s.readForValidation(data)
	if err != nil {
		return badBundle(err)
	}
	ps := s.runValidation(c.Request().Context(), b, mode, managed)
	return c.JSON(http.StatusOK, ps)
}

// readForValidation reads a ConfigBundle with the same strict decoder as
// PUT, faster for the config.yaml object form: bundle.FromValue builds the
// text with one comment-preserving edit per key (a re-parse each), which is
// right for files users keep but dominates the cost of a validation. JSON
// is YAML, so here the object's own text is parsed once (its lines are the
// body's lines); the result is checked to hold the same values as the JSON
// decode, else the exact path is taken, so validation sees the same config.
func (s *Server) readForValidation(data []byte) (*bundle.Bundle, []string, error) {
	d, err := bundle.DecodeConfigBundle(data, s.limits)
	if err != nil {
		return nil, nil, err
	}
	cfg, isObject := d.Config.(map[string]any)
	if !isObject {
		b, err := d.Bundle(s.limits)
		return b, d.Managed, err
	}
	b, err := bundle.New(d.ConfigRaw, s.limits)
	if err != nil || !bundle.EqualValues(b.Config().Value(), cfg) {
		if b, err = bundle.FromValue(cfg, s.limits); err != nil {
			return nil, nil, err
		}
	}
	if err := d.AddFilesTo(b); err != nil {
		return nil, nil, err
	}
	return b, d.Managed, nil
}

// runValidation validates and counts; problems of managed groups are dropped.
func (s *Server) runValidation(ctx context.Context, b *bundle.Bundle, mode validators.Mode, managed []string) []problem.Problem {
	ps := validators.Validate(ctx, b, validators.Options{Mode: mode, Timeout: s.cfg.ValidateTimeout})
	if len(managed) > 0 {
		skip := map[string]bool{}
		for _, g := range managed {
			skip[g] = true
		}
		kept := ps[:0]
		for _, p := range ps {
			if !skip[p.FieldGroup] {
				kept = append(kept, p)
			}
		}
		ps = kept
	}
	if ps == nil {
		ps = []problem.Problem{}
	}
	result := "valid"
	if problem.HasErrors(ps) {
		result = "invalid"
	}
	s.metrics.validations.WithLabelValues(string(mode), result).Inc()
	for _, p := range ps {
		s.metrics.problems.WithLabelValues(p.FieldGroup, string(p.Severity)).Inc()
	}
	return ps
}

// download turns a posted ConfigBundle into quay-config.tar.gz.
func (s *Server) download(c echo.Context) error {
	data, err := readBody(c)
	if err != nil {
		return err
	}
	b, _, err := bundle.ReadJSON(data, s.limits)
	if err != nil {
		return badBundle(err)
	}
	tgz, err := b.TarGz()
	if err != nil {
		return badBundle(err)
	}
	return sendTarball(c, tgz)
}

// operator (the historical push route) is in operator.go.

// readBody reads the (limited) body; an oversize body is a 413.
func readBody(c echo.Context) ([]byte, error) {
	r := c.Request()
	var buf bytes.Buffer
	if r.ContentLength > 0 {
		buf.Grow(int(r.ContentLength))
	}
	if _, err := buf.ReadFrom(r.Body); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, echo.NewHTTPError(http.StatusRequestEntityTooLarge,
				"Request body is larger than the limit of "+humanBytes(mbe.Limit)+".")
		}
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, echo.NewHTTPError(http.StatusBadRequest, "Request body was cut short.")
		}
		return nil, err
	}
	if buf.Len() == 0 {
		return nil, echo.NewHTTPError(http.StatusBadRequest,
			`Empty body: send a ConfigBundle, {"config.yaml": {...}, "certs": {"name": "<base64>"}}.`)
	}
	return buf.Bytes(), nil
}

// memoryRefusal answers a change the session budget refused: 413 over the
// session's cap, 503 over the editor's total.
func memoryRefusal(err error) error {
	return echo.NewHTTPError(memoryStatus(err), "Nothing was changed: "+err.Error()+".")
}

// badBundle makes a 400 from a bundle parse error. The bundle readers name
// keys and positions, never values.
func badBundle(err error) error {
	msg := err.Error()
	if len(msg) > 500 {
		msg = msg[:500] + "..."
	}
	msg = strings.ToUpper(msg[:1]) + msg[1:]
	if !strings.HasSuffix(msg, ".") {
		msg += "."
	}
	return echo.NewHTTPError(http.StatusBadRequest, "Invalid config bundle: "+msg)
}
