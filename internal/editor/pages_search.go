package editor

// The search page: GET /search?q= finds settings of every section by key,
// label or help text and links to the field (/group/NAME#field-id). A
// plain GET form, so it works without JavaScript.

import (
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/quay-tools/config-editor/internal/schema"
)

const (
	maxSearchQuery   = 200 // longer queries are cut
	maxSearchResults = 100
	maxSearchHelp    = 220 // characters of help text shown per result
)

// searchResult is one setting found.
type searchResult struct {
	Key, Label, Help string
	Group, GroupName string
	Href             string
	rank             int
}

// searchData is the data of templates/pages/search.html.
type searchData struct {
	layoutData
	Q         string
	Results   []searchResult
	Truncated bool
}

func (p *pages) searchPage(c echo.Context) error {
	sess, err := p.session(c)
	if err != nil {
		return err
	}
	q := strings.TrimSpace(c.QueryParam("q"))
	if len(q) > maxSearchQuery {
		q = strings.ToValidUTF8(q[:maxSearchQuery], "")
	}
	res := searchCatalogue(schema.Get(), q)
	data := &searchData{Q: q, Results: res}
	if len(res) > maxSearchResults {
		data.Results, data.Truncated = res[:maxSearchResults], true
	}
	sess.Lock()
	defer sess.Unlock()
	title := "Search"
	if q != "" {
		title = "Search: " + q
	}
	return p.page(c, sess, http.StatusOK, "search", "search", title, data)
}

// searchCatalogue returns the settings whose key, label or help text
// contain every word of q (case-insensitive): keys that equal q first,
// then keys containing it, then labels, then help texts.
func searchCatalogue(cat *schema.Catalogue, q string) []searchResult {
	words := strings.Fields(strings.ToLower(q))
	if len(words) == 0 {
		return nil
	}
	lq := strings.ToLower(q)
	var out []searchResult
	consider := func(g *schema.Group, key, path, label, help, href string) {
		lk, ll, lh := strings.ToLower(path), strings.ToLower(label), strings.ToLower(help)
		for _, w := range words {
			if !strings.Contains(lk, w) && !strings.Contains(ll, w) && !strings.Contains(lh, w) {
				return
			}
		}
		rank := 3
		switch {
		case lk == lq || strings.ToLower(key) == lq:
			rank = 0
		case strings.Contains(lk, lq):
			rank = 1
		case strings.Contains(ll, lq):
			rank = 2
		}
		out = append(out, searchResult{Key: path, Label: label, Help: shorten(help, maxSearchHelp),
			Group: g.Title, GroupName: g.Name, Href: href, rank: rank})
	}
	for _, g := range cat.Groups() {
		base := "/group/" + url.PathEscape(g.Name)
		for _, f := range g.Fields {
			label := f.Title
			if label == "" && f.Spec != nil {
				label = f.Spec.Label()
			}
			if label == "" {
				label = f.Key
			}
			switch {
			case f.Pattern != nil: // OIDC providers: the section itself
				consider(g, f.Key, f.Key, label, f.Description, base)
				continue
			case g.Name == groupStorage && slices.Contains(storageEditorKeys, f.Key):
				consider(g, f.Key, f.Key, label, f.Description, base+"#storage")
				continue
			}
			focus := base + "?field=" + url.QueryEscape(f.Key)
			consider(g, f.Key, f.Key, label, f.Description, focus+"#"+fieldID(f.Key))
			if f.Spec == nil {
				continue
			}
			for _, ch := range f.Spec.Children {
				path := f.Key + "." + ch.Name
				consider(g, ch.Name, path, ch.Label(), ch.Description, focus+"#"+fieldID(path))
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].rank < out[j].rank })
	return out
}

// shorten cuts s to about n characters at a word boundary.
func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := strings.LastIndexByte(s[:n], ' ')
	if cut < n/2 {
		cut = n
	}
	return strings.ToValidUTF8(s[:cut], "") + "…"
}
