package editor

import (
	"strings"
	"testing"

	"github.com/quay-tools/config-editor/internal/schema"
)

// advancedBlock returns the HTML of a page's Advanced block ("" if none)
// and whether it is drawn open.
func advancedBlock(page string) (string, bool) {
	i := strings.Index(page, `<details class="advanced"`)
	if i < 0 {
		return "", false
	}
	j := strings.Index(page[i:], "</details>")
	head := page[i : i+strings.Index(page[i:], ">")]
	return page[i : i+j], strings.Contains(head, " open")
}

// Every section puts its required and common fields (by the catalogue)
// before an Advanced block holding exactly the others.
func TestPagesCommonFieldsFirst(t *testing.T) {
	e := newPagesEnv(t, pagesConfig)
	cat := schema.Get()
	withBlock := 0
	for _, g := range cat.Groups() {
		page := e.get("/group/" + g.Name)
		adv, _ := advancedBlock(page)
		var common, rare int
		for _, f := range g.Fields {
			if f.Pattern != nil || (g.Name == groupStorage) {
				continue
			}
			isCommon := f.Required || (f.Spec != nil && (f.Spec.Common || f.Spec.Required))
			if isCommon {
				common++
			} else {
				rare++
			}
			id := `id="` + fieldID(f.Key) + `"`
			if !strings.Contains(page, id) {
				continue // drawn in another way (a nested block's id differs)
			}
			inAdv := strings.Contains(adv, id)
			if isCommon && inAdv {
				t.Errorf("%s: the common field %s is under Advanced", g.Name, f.Key)
			}
			if !isCommon && common > 0 && !inAdv {
				t.Errorf("%s: the rarely used field %s is not under Advanced", g.Name, f.Key)
			}
		}
		if rare > 0 && common > 0 && g.Name != groupStorage {
			if adv == "" {
				t.Errorf("%s: %d rarely used fields and no Advanced block", g.Name, rare)
			}
			withBlock++
		}
		if adv != "" && common == 0 {
			t.Errorf("%s: an Advanced block in a section without common fields", g.Name)
		}
	}
	if withBlock < 10 {
		t.Errorf("only %d sections have an Advanced block", withBlock)
	}
	// AccessSettings: the authentication type comes before the rarely
	// used FEATURE_USER_RENAME, which is in a closed block.
	page := e.get("/group/AccessSettings")
	a, r := strings.Index(page, `id="f-AUTHENTICATION_TYPE"`), strings.Index(page, `id="f-FEATURE_USER_RENAME"`)
	if a < 0 || r < 0 || a > r {
		t.Fatalf("AUTHENTICATION_TYPE at %d, FEATURE_USER_RENAME at %d", a, r)
	}
	if adv, open := advancedBlock(page); !strings.Contains(adv, `id="f-FEATURE_USER_RENAME"`) || open {
		t.Errorf("FEATURE_USER_RENAME is not in a closed Advanced block (open=%v)", open)
	}
	// DB_URI, a single required value, before the block of connection
	// arguments
	db := e.get("/group/Database")
	if u, a := strings.Index(db, `id="f-DB_URI"`), strings.Index(db, `id="f-DB_CONNECTION_ARGS`); u < 0 || a < 0 || u > a {
		t.Errorf("DB_URI at %d, DB_CONNECTION_ARGS at %d", u, a)
	}
	// asked for by the search: drawn open
	if _, open := advancedBlock(e.get("/group/AccessSettings?field=FEATURE_USER_RENAME")); !open {
		t.Error("?field=FEATURE_USER_RENAME does not open the Advanced block")
	}
}

// An advanced field with a problem is never hidden in a closed block.
func TestPagesAdvancedOpensOnProblem(t *testing.T) {
	e := newPagesEnv(t, pagesConfig+"FEATURE_USER_RENAME: maybe\n")
	page := e.get("/group/AccessSettings")
	adv, open := advancedBlock(page)
	if !strings.Contains(adv, `id="f-FEATURE_USER_RENAME"`) || !open {
		t.Fatalf("an invalid advanced field in a closed block (open=%v)", open)
	}
}
