package editor

import (
	"bytes"
	"fmt"
	"html/template"
	"io/fs"
	"path"
	"strings"
	"sync"

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

// render writes a page: the full layout, or for an htmx request (isHTMX)
// only the page's "content" block. A partial's name renders that fragment
// alone. data is a pageData (its layoutData gains CSRF, User, Catalogue,
// ReadOnlyGroups, ReadOnlyReasons, OperatorMode and Version) or a map,
// which gains the same keys and Rev.
func (s *Server) render(c echo.Context, status int, page string, data any) error {
	sess := s.sessionOf(c)
	if data == nil {
		data = map[string]any{}
	}
	switch d := data.(type) {
	case pageData:
		l := d.layout()
		l.Catalogue = schema.Get()
		l.ReadOnlyGroups = s.readOnly
		l.ReadOnlyReasons = s.readOnlyReasons()
		l.OperatorMode = s.cfg.Operator != nil
		l.Version = s.cfg.Version
		if sess != nil {
			l.CSRF, l.User = sess.CSRF, sess.User
		}
	case map[string]any:
		d["Catalogue"] = schema.Get()
		d["ReadOnlyGroups"] = s.readOnly
		d["ReadOnlyReasons"] = s.readOnlyReasons()
		d["OperatorMode"] = s.cfg.Operator != nil
		d["Version"] = s.cfg.Version
		if sess != nil {
			d["CSRF"] = sess.CSRF
			d["User"] = sess.User
			if _, ok := d["Rev"]; !ok {
				sess.Lock()
				d["Rev"] = sess.Rev
				sess.Unlock()
			}
		}
	default:
		return fmt.Errorf("template %s: data of type %T", page, data)
	}
	h := c.Response().Header()
	h.Add("Vary", hxRequest)
	h.Set("Cache-Control", "no-store")
	var set *template.Template
	name := "layout.html"
	if t, ok := s.tmpl[page]; ok {
		set = t
		if isHTMX(c.Request()) {
			name = "content"
		}
	} else if s.partials.Lookup(page) != nil {
		set, name = s.partials, page
	} else {
		return fmt.Errorf("no template %q", page)
	}
	buf := renderBufs.Get().(*bytes.Buffer)
	defer putRenderBuf(buf)
	if err := set.ExecuteTemplate(buf, name, data); err != nil {
		return fmt.Errorf("template %s: %w", page, err)
	}
	return c.HTMLBlob(status, buf.Bytes())
}

// renderBufs holds the buffers pages are rendered into. A page is 20–150 KB;
// growing a new buffer from nothing for each one was the largest share of the
// bytes a page allocated (BenchmarkPages). HTMLBlob copies the bytes into the
// response before render returns, so a buffer can be reused at once.
var renderBufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// maxPooledRenderBuf bounds what the pool keeps: a buffer grown by an
// unusually large page is left to the garbage collector.
const maxPooledRenderBuf = 1 << 20

func putRenderBuf(b *bytes.Buffer) {
	if b.Cap() > maxPooledRenderBuf {
		return
	}
	b.Reset()
	renderBufs.Put(b)
}
