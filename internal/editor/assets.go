package editor

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/quay-tools/config-editor/web"
)

// asset is one file of web/static, read, hashed and compressed once at
// start-up.
type asset struct {
	name   string // "app.css"
	hashed string // "app.0123456789ab.css": served immutable
	typ    string
	data   []byte
	gz     []byte // nil when gzip does not make it smaller
	etag   string // strong ETag of data; the gzip variant adds "-gz"
}

// assets maps both the plain and the hashed file names to their asset.
type assets struct {
	plain  map[string]*asset
	hashed map[string]*asset
}

// loadAssets reads every file under static/ of fsys (web.FS in the
// server), hashing (SHA-256) and gzipping each once.
func loadAssets(fsys fs.FS) (*assets, error) {
	a := &assets{plain: map[string]*asset{}, hashed: map[string]*asset{}}
	names, err := fs.Glob(fsys, "static/*")
	if err != nil {
		return nil, err
	}
	for _, p := range names {
		name := path.Base(p)
		if strings.HasSuffix(name, ".md") {
			continue
		}
		data, err := fs.ReadFile(fsys, p)
		if err != nil {
			return nil, fmt.Errorf("static asset %s: %w", name, err)
		}
		sum := sha256.Sum256(data)
		h := hex.EncodeToString(sum[:])[:12]
		ext := path.Ext(name)
		typ := mime.TypeByExtension(ext)
		if typ == "" {
			typ = "application/octet-stream"
		}
		as := &asset{
			name:   name,
			hashed: strings.TrimSuffix(name, ext) + "." + h + ext,
			typ:    typ,
			data:   data,
			etag:   `"` + h + `"`,
		}
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		_, _ = zw.Write(data)
		if err := zw.Close(); err != nil {
			return nil, err
		}
		if buf.Len() < len(data) {
			as.gz = buf.Bytes()
		}
		a.plain[name] = as
		a.hashed[as.hashed] = as
	}
	return a, nil
}

// url is the content-hashed URL of a static file ("/static/app.<hash>.css"),
// the template function "asset". An unknown name keeps its plain URL.
func (a *assets) url(name string) string {
	if as, ok := a.plain[name]; ok {
		return "/static/" + as.hashed
	}
	return "/static/" + name
}

// static serves web/static: a hashed name is immutable for a year, a plain
// name must be revalidated (no-cache) against its ETag. Both answer
// If-None-Match with 304 and send the precompressed gzip body to a client
// that accepts it.
func (s *Server) static(c echo.Context) error {
	name := strings.TrimPrefix(c.Request().URL.Path, "/static/")
	h := c.Response().Header()
	as, immutable := s.assets.hashed[name]
	if !immutable {
		as = s.assets.plain[name]
	}
	if as == nil {
		return echo.NewHTTPError(http.StatusNotFound, "Not found.")
	}
	if immutable {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "no-cache")
	}
	body, etag := as.data, as.etag
	if as.gz != nil {
		h.Add("Vary", "Accept-Encoding")
		if acceptsGzip(c.Request().Header.Get("Accept-Encoding")) {
			body, etag = as.gz, strings.TrimSuffix(as.etag, `"`)+`-gz"`
			h.Set("Content-Encoding", "gzip")
		}
	}
	h.Set("ETag", etag)
	if etagMatches(c.Request().Header.Get("If-None-Match"), etag) {
		h.Del("Content-Encoding")
		return c.NoContent(http.StatusNotModified)
	}
	return c.Blob(http.StatusOK, as.typ, body)
}

// acceptsGzip reports whether an Accept-Encoding header admits gzip
// (a "gzip;q=0" refuses it).
func acceptsGzip(header string) bool {
	for _, part := range strings.Split(header, ",") {
		enc, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(enc), "gzip") && strings.TrimSpace(enc) != "*" {
			continue
		}
		q := strings.ReplaceAll(strings.TrimSpace(params), " ", "")
		if q == "q=0" || q == "q=0.0" || q == "q=0.00" || q == "q=0.000" {
			return false
		}
		return true
	}
	return false
}

// etagMatches is the weak comparison of If-None-Match with etag.
func etagMatches(header, etag string) bool {
	if header == "" {
		return false
	}
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == "*" || t == etag {
			return true
		}
	}
	return false
}

// webFS is the tree assets are loaded from (a variable for tests).
var webFS fs.FS = web.FS
