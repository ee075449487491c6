package editor

import (
	"bytes"
	"fmt"
	"html/template"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/quay-tools/config-editor/internal/schema"
	"github.com/quay-tools/config-editor/web"
)

// parseTemplates parses the templates once. Each page gets its own set:
// layout.html + partials/*.html + the page file, so every page can define
// its own "content" block. Page names: "login" (templates/login.html) and
// "<name>" for templates/pages/<name>.html. A name that is no page but a
// template defined in the partials is rendered alone (a fragment).
func (s *Server) parseTemplates() error {
	funcs := template.FuncMap{}
	for k, v := range s.pageFuncs() {
		funcs[k] = v
	}
	base := template.New("layout.html").Funcs(funcs)
	layout, err := fs.ReadFile(web.FS, "templates/layout.html")
	if err != nil {
		return fmt.Errorf("templates: %w", err)
	}
	if _, err := base.Parse(string(layout)); err != nil {
		return fmt.Errorf("templates/layout.html: %w", err)
	}
	partials, _ := fs.Glob(web.FS, "templates/partials/*.html")
	for _, p := range partials {
		if err := parseInto(base, p); err != nil {
			return err
		}
	}
	s.partials = base
	s.tmpl = map[string]*template.Template{}
	pages, _ := fs.Glob(web.FS, "templates/pages/*.html")
	pages = append(pages, "templates/login.html")
	for _, p := range pages {
		set, err := base.Clone()
		if err != nil {
			return err
		}
		if err := parseInto(set, p); err != nil {
			return err
		}
		s.tmpl[strings.TrimSuffix(path.Base(p), ".html")] = set
	}
	return nil
}

func parseInto(t *template.Template, name string) error {
	src, err := fs.ReadFile(web.FS, name)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if _, err := t.New(path.Base(name)).Parse(string(src)); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// render writes a page: the full layout, or for an htmx request (HX-Request
// without HX-Boosted) only the page's "content" block. A partial's name
// renders that fragment alone. data gains CSRF, User, Rev, Catalogue,
// ReadOnlyGroups and Version.
func (s *Server) render(c echo.Context, status int, page string, data map[string]any) error {
	if data == nil {
		data = map[string]any{}
	}
	data["Catalogue"] = schema.Get()
	data["ReadOnlyGroups"] = s.readOnly
	data["ReadOnlyReasons"] = s.readOnlyReasons()
	data["OperatorMode"] = s.cfg.Operator != nil
	data["Version"] = s.cfg.Version
	if sess := s.sessionOf(c); sess != nil {
		data["CSRF"] = sess.CSRF
		data["User"] = sess.User
		if _, ok := data["Rev"]; !ok {
			sess.Lock()
			data["Rev"] = sess.Rev
			sess.Unlock()
		}
	}
	h := c.Response().Header()
	h.Add("Vary", "HX-Request")
	h.Set("Cache-Control", "no-store")
	var set *template.Template
	name := "layout.html"
	if t, ok := s.tmpl[page]; ok {
		set = t
		r := c.Request().Header
		if r.Get("HX-Request") == "true" && r.Get("HX-Boosted") != "true" {
			name = "content"
		}
	} else if s.partials.Lookup(page) != nil {
		set, name = s.partials, page
	} else {
		return fmt.Errorf("no template %q", page)
	}
	var buf bytes.Buffer
	if err := set.ExecuteTemplate(&buf, name, data); err != nil {
		return fmt.Errorf("template %s: %w", page, err)
	}
	return c.HTMLBlob(status, buf.Bytes())
}

// static serves web/static with a type from the extension.
func (s *Server) static(c echo.Context) error {
	name := strings.TrimPrefix(c.Request().URL.Path, "/static/")
	if name == "" || strings.Contains(name, "..") {
		return echo.NewHTTPError(http.StatusNotFound, "Not found.")
	}
	data, err := fs.ReadFile(web.FS, "static/"+name)
	if err != nil {
		return echo.NewHTTPError(http.StatusNotFound, "Not found.")
	}
	typ := mime.TypeByExtension(path.Ext(name))
	if typ == "" {
		typ = "application/octet-stream"
	}
	c.Response().Header().Set("Cache-Control", "no-cache")
	return c.Blob(http.StatusOK, typ, data)
}
