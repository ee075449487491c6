package editor

import (
	"html"
	"net/url"
	"strings"
	"testing"

	"github.com/quay-tools/config-editor/internal/schema"
)

// The search finds a setting by key, by label and by help text, across
// sections, and links to the field's element on its section page.
func TestPagesSearch(t *testing.T) {
	e := newPagesEnv(t, pagesConfig)
	cat := schema.Get()
	db := cat.Field("DB_URI")
	if db == nil || db.Title == "" || db.Description == "" {
		t.Fatal("the catalogue has no titled, described DB_URI")
	}
	words := strings.Fields(db.Description)
	for _, q := range []string{"DB_URI", "db_uri", db.Title, strings.Join(words[:min(3, len(words))], " ")} {
		page := html.UnescapeString(e.get("/search?q=" + url.QueryEscape(q)))
		if !strings.Contains(page, `href="/group/Database?field=DB_URI#f-DB_URI"`) {
			t.Errorf("q=%q: no link to DB_URI", q)
		}
	}
	// the exact key comes first
	page := e.get("/search?q=SERVER_HOSTNAME")
	first := strings.Index(page, `<ol class="results"`)
	if first < 0 || !strings.Contains(page[first:first+300], "#f-SERVER_HOSTNAME") {
		t.Errorf("SERVER_HOSTNAME is not the first result")
	}
	// a nested key links to its element, the section page has that element
	page = html.UnescapeString(e.get("/search?q=" + url.QueryEscape("BUILDLOGS_REDIS.port")))
	if !strings.Contains(page, "/group/Redis?field=BUILDLOGS_REDIS#f-BUILDLOGS_REDIS-port") {
		t.Errorf("no link to BUILDLOGS_REDIS.port")
	}
	if !strings.Contains(e.get("/group/Redis?field=BUILDLOGS_REDIS"), `id="f-BUILDLOGS_REDIS-port"`) {
		t.Errorf("the Redis page has no f-BUILDLOGS_REDIS-port")
	}
	// every result's anchor exists on the page it links to
	checked := 0
	for _, r := range searchCatalogue(cat, "timeout") {
		u, _ := url.Parse(r.Href)
		if u.Fragment == "" || u.Fragment == "storage" {
			continue
		}
		if !strings.Contains(e.get(u.RequestURI()), `id="`+u.Fragment+`"`) {
			t.Errorf("%s: no element %s", r.Href, u.Fragment)
		}
		checked++
	}
	if checked < 3 {
		t.Errorf("only %d results for timeout", checked)
	}
	// nothing found, an empty query, markup in the query
	if p := e.get("/search?q=zzqqxxnothing"); !strings.Contains(p, "0 settings found") {
		t.Error("no 'nothing found' message")
	}
	if p := e.get("/search"); strings.Contains(p, "found for") {
		t.Error("an empty query reports results")
	}
	if p := e.get("/search?q=" + url.QueryEscape(`<script>x</script>`)); strings.Contains(p, "<script>x") {
		t.Error("the query is not escaped")
	}
	if p := e.get("/search?q=" + strings.Repeat("a", 5000)); !strings.Contains(p, "Search") {
		t.Error("a long query breaks the page")
	}
}
