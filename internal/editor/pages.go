package editor

// The htmx pages: the overview, one page per field group generated from
// the catalogue, the storage / geo-replication editor, custom CA
// certificates, bundle files (TLS pair, database CA), validation (one
// group or all, offline or online with per-group progress), the diff,
// download and upload. Every form is a real <form method=post> that works
// without JavaScript (POST-redirect-GET); htmx only makes it smoother.

import (
	"errors"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/quay-tools/config-editor/internal/schema"
)

// pages are the handlers of the htmx pages; per-session state (the working
// copy, the last validation results) lives on the Session.
type pages struct {
	s *Server
}

func (s *Server) registerPages(g *echo.Group) {
	p := &pages{s: s}
	getHead(g, "/", p.overview)
	getHead(g, "/group/:name", p.groupPage)
	g.POST("/group/:name", p.groupSave)
	g.POST("/storage", p.storageSave)
	getHead(g, "/certs", p.certsPage)
	g.POST("/certs", p.certUpload)
	g.POST("/certs/remove", p.certRemove)
	g.POST("/files", p.fileUpload)
	g.POST("/files/remove", p.fileRemove)
	g.POST("/validate", p.validate)
	getHead(g, "/validate/job", p.validateJob)
	getHead(g, "/diff", p.diffPage)
	getHead(g, "/yaml", p.yamlPage)
	g.POST("/yaml", p.yamlSave)
	g.POST("/generate", p.generateSecret)
	getHead(g, "/search", p.searchPage)
	getHead(g, "/download", p.download)
	g.POST("/upload", p.upload)
	g.POST("/discard", p.discard)
	g.POST("/save", p.save)
	p.registerOperator(g)
	p.registerUnknown(g)
}

// navSection is a heading of the left navigation.
type navSection struct {
	Title string
	Items []navItem
}

type navItem struct {
	Href, Title string
	Active      bool
	ReadOnly    bool
	Errors      int
	Warnings    int
}

var sectionTitles = map[string]string{
	"basic": "Basic", "storage": "Storage", "auth": "Authentication", "features": "Features", "advanced": "Advanced",
}

var sectionOrder = []string{"basic", "storage", "auth", "features", "advanced"}

func (p *pages) nav(active string, st *validationState) []navSection {
	cat := schema.Get()
	out := []navSection{{Title: "Bundle", Items: []navItem{
		{Href: "/", Title: "Overview", Active: active == "overview"},
		{Href: "/certs", Title: "Custom SSL certificates", Active: active == "certs", Errors: st.count(groupCerts)},
		{Href: "/diff", Title: "Changes", Active: active == "diff"},
		{Href: "/yaml", Title: "config.yaml as text", Active: active == "yaml"},
	}}}
	if len(st.Problems[schema.UnknownGroup]) > 0 || active == "unknown" {
		out[0].Items = append(out[0].Items, navItem{Href: "/unknown", Title: "Unknown keys", Active: active == "unknown",
			Errors: st.count(schema.UnknownGroup), Warnings: st.warnings(schema.UnknownGroup)})
	}
	out[0].Items[1].Warnings = st.warnings(groupCerts)
	bySection := map[string][]navItem{}
	for _, g := range cat.Groups() {
		sec := g.Section
		if sectionTitles[sec] == "" {
			sec = "advanced"
		}
		bySection[sec] = append(bySection[sec], navItem{Href: "/group/" + g.Name, Title: g.Title,
			Active: active == g.Name, ReadOnly: p.s.readOnly[g.Name], Errors: st.count(g.Name), Warnings: st.warnings(g.Name)})
	}
	for _, sec := range sectionOrder {
		if len(bySection[sec]) > 0 {
			out = append(out, navSection{Title: sectionTitles[sec], Items: bySection[sec]})
		}
	}
	return out
}

const (
	groupCerts  = "CustomCertificates"
	keyAuthType = "AUTHENTICATION_TYPE"
)

// The htmx request headers the editor reads and the response header it
// sets.
const (
	hxRequest  = "HX-Request"  // "true" on every request htmx makes
	hxBoosted  = "HX-Boosted"  // "true" when htmx boosted a plain link or form
	hxRedirect = "HX-Redirect" // tells htmx to load another page
)

// isHTMX reports whether htmx asked for part of a page: an htmx request
// that is not a boosted link or form (those get the whole page). Such a
// request gets the page's "content" block and out-of-band updates of the
// navigation, the summary and the revision.
func isHTMX(r *http.Request) bool {
	return r.Header.Get(hxRequest) == "true" && r.Header.Get(hxBoosted) != "true"
}

// layoutData is what layout.html and the shared partials read; the data of
// every page embeds it, and page and render fill it in.
type layoutData struct {
	Catalogue       *schema.Catalogue
	ReadOnlyGroups  map[string]bool
	ReadOnlyReasons map[string]string
	OperatorMode    bool
	Version         string
	CSRF, User      string
	Rev             int
	Nav             []navSection
	Title           string
	HX              bool // only the content block is drawn (isHTMX)
	Mounted         bool
	Summary         summary
	Flash           string // the session's one-shot message
	Message         string // this answer's message (an error, a refusal)
}

func (d *layoutData) layout() *layoutData { return d }

// pageData is the typed data of a page: a struct embedding layoutData.
type pageData interface{ layout() *layoutData }

// page renders a full page (or its content for htmx) with the common data.
// data is a pageData, or (for the Operator pages) a map.
func (p *pages) page(c echo.Context, sess *Session, status int, name, active, title string, data any) error {
	p.ensureHealth(sess)
	st := sess.validationSnapshot()
	switch d := data.(type) {
	case pageData:
		l := d.layout()
		l.Nav = p.nav(active, st)
		l.Title = title
		l.HX = isHTMX(c.Request())
		l.Mounted = sess.Mounted
		l.Rev = sess.Rev // the caller holds the session lock
		l.Summary = summaryOf(st, sess.Rev)
		if l.Flash == "" {
			l.Flash = sess.Flash
		}
	case map[string]any:
		d["Nav"] = p.nav(active, st)
		d["Title"] = title
		d["HX"] = isHTMX(c.Request())
		d["Mounted"] = sess.Mounted
		d["Rev"] = sess.Rev
		if _, ok := d["Summary"]; !ok {
			d["Summary"] = summaryOf(st, sess.Rev)
		}
		if _, ok := d["Flash"]; !ok && sess.Flash != "" {
			d["Flash"] = sess.Flash
		}
	default:
		return fmt.Errorf("page %s: data of type %T", name, data)
	}
	sess.Flash = ""
	c.Response().Header().Set("Cache-Control", "no-store")
	return p.s.render(c, status, name, data)
}

func groupNames(cat *schema.Catalogue) []string {
	var out []string
	for _, g := range cat.Groups() {
		out = append(out, g.Name)
	}
	return out
}

// session returns the caller's login session or an error page.
func (p *pages) session(c echo.Context) (*Session, error) {
	sess := p.s.sessionOf(c)
	if sess == nil {
		return nil, echo.NewHTTPError(http.StatusUnauthorized, "log in first")
	}
	return sess, nil
}

// checkRev compares the submitted revision with the session's.
func checkRev(c echo.Context, sess *Session) bool {
	rev, err := strconv.Atoi(c.FormValue("rev"))
	return err == nil && rev == sess.Rev
}

const conflictMsg = "The configuration changed since this page was loaded (another tab or an upload). Nothing was saved; your input is shown below — check it against the current values and save again."

// redirect is the R of POST-redirect-GET (htmx follows it transparently).
func (p *pages) redirect(c echo.Context, to string) error {
	return c.Redirect(http.StatusSeeOther, to)
}

// readUpload reads one uploaded file, bounded.
func readUpload(c echo.Context, field string, limit int64) (string, []byte, error) {
	fh, err := c.FormFile(field)
	if err != nil {
		return "", nil, errors.New("choose a file to upload")
	}
	if fh.Size > limit {
		return "", nil, fmt.Errorf("the file is %d bytes, more than the %d allowed", fh.Size, limit)
	}
	f, err := fh.Open()
	if err != nil {
		return "", nil, errors.New("the upload could not be read")
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil || int64(len(data)) > limit {
		return "", nil, errors.New("the upload could not be read completely")
	}
	return fh.Filename, data, nil
}

// pageFuncs are extra template functions available to every template.
func (s *Server) pageFuncs() template.FuncMap {
	return template.FuncMap{
		"add":      func(a, b int) int { return a + b },
		"asset":    s.assets.url,
		"join":     strings.Join,
		"testArgs": testArgs,
		"lines": func(s string) int {
			n := strings.Count(s, "\n") + 2
			return min(max(n, 3), 16)
		},
	}
}
