package editor

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/quay-tools/config-editor/internal/schema"
)

// Enter in "Add a location" submits the form's default button (op=save):
// the typed location is added, not lost.
func TestStorageEnterAddsLocation(t *testing.T) {
	e := newPagesEnv(t, pagesConfig)
	form := formOf(t, e.get("/group/DistributedStorage"), "/storage")
	form.Set("op", "save") // the first submit button, which Enter uses
	form.Set("new.name", "eu-west")
	form.Set("new.driver", "S3Storage")
	if w := e.post("/storage", form); w.Code != http.StatusSeeOther {
		t.Fatalf("enter: %d %s", w.Code, w.Body)
	}
	dsc := e.sess.Work.Config().Value()[keyStorageConfig].(map[string]any)
	if _, ok := dsc["eu-west"]; !ok {
		t.Fatalf("Enter did not add the location: %v", dsc)
	}
	// a save with the name empty adds nothing
	rev := e.rev()
	form = formOf(t, e.get("/group/DistributedStorage"), "/storage")
	form.Set("op", "save")
	if w := e.post("/storage", form); w.Code != http.StatusSeeOther || e.rev() != rev {
		t.Fatalf("plain save: %d, rev %d→%d", w.Code, rev, e.rev())
	}
}

// Changing a driver shows its arguments at once (htmx posts op=refresh;
// without JavaScript a button does), and saves nothing.
func TestStorageDriverChangeShowsArguments(t *testing.T) {
	e := newPagesEnv(t, pagesConfig)
	page := e.get("/group/DistributedStorage")
	if !strings.Contains(page, `hx-vals='{"op": "refresh"}'`) || !strings.Contains(page, `<noscript><button type="submit" name="op" value="refresh"`) {
		t.Fatal("the driver select neither refreshes with htmx nor has a no-JS button")
	}
	if strings.Contains(page, `id="f-loc-0-bucket_name"`) {
		t.Fatal("S3 location shows GCS arguments")
	}
	before, rev := string(e.work()), e.rev()
	form := formOf(t, page, "/storage")
	form.Set("loc.0.driver", "GoogleCloudStorage")
	form.Set("op", "refresh")
	for _, hx := range []map[string]string{nil, {"HX-Request": "true"}} {
		w := e.send("POST", "/storage", "application/x-www-form-urlencoded", strings.NewReader(withCSRF(e, form).Encode()), hx)
		if w.Code != http.StatusOK {
			t.Fatalf("refresh (htmx %v): %d %s", hx != nil, w.Code, w.Body)
		}
		body := w.Body.String()
		if !strings.Contains(body, `id="f-loc-0-bucket_name"`) || !strings.Contains(body, `<option value="GoogleCloudStorage" selected>`) {
			t.Errorf("refresh (htmx %v) does not show the GCS arguments", hx != nil)
		}
		if hx != nil && (strings.Contains(body, "<html") || !strings.Contains(body, `id="storage"`)) {
			t.Error("htmx refresh is not the content with the storage form")
		}
		if m := markerRE.FindAllString(body, -1); len(m) > 0 {
			t.Errorf("refresh shows secrets %v", m)
		}
	}
	if string(e.work()) != before || e.rev() != rev {
		t.Fatal("refresh saved")
	}
}

func withCSRF(e *pagesEnv, form url.Values) url.Values {
	out := url.Values{}
	for k, v := range form {
		out[k] = v
	}
	out.Set("_csrf", e.sess.CSRF)
	return out
}

// The storage page has one form and one Save: the other storage settings
// are saved with the locations.
func TestStorageOneSave(t *testing.T) {
	e := newPagesEnv(t, pagesConfig)
	page := e.get("/group/DistributedStorage")
	main := page[strings.Index(page, `id="main"`):strings.Index(page, "</main>")]
	if n := strings.Count(main, "<form "); n != 1 {
		t.Errorf("%d forms on the storage page, want 1", n)
	}
	if n := len(regexp.MustCompile(`<button type="submit"[^>]*class="primary"`).FindAllString(main, -1)); n != 1 {
		t.Errorf("%d primary Save buttons, want 1", n)
	}
	if !strings.Contains(page, `id="f-FEATURE_PROXY_STORAGE"`) {
		t.Fatal("the other storage settings are not on the page")
	}
	form := formOf(t, page, "/storage")
	form.Add("f.FEATURE_PROXY_STORAGE", "true")
	form.Set("op", "save")
	if w := e.post("/storage", form); w.Code != http.StatusSeeOther {
		t.Fatalf("save: %d %s", w.Code, w.Body)
	}
	if v := e.sess.Work.Config().Value(); v["FEATURE_PROXY_STORAGE"] != true {
		t.Fatalf("FEATURE_PROXY_STORAGE %v", v["FEATURE_PROXY_STORAGE"])
	}
	if !strings.Contains(string(e.work()), "s3_secret_key: Mk6s3secret") {
		t.Fatal("storage secret lost")
	}
}

const geoConfig = `SERVER_HOSTNAME: quay.example.com
PREFERRED_URL_SCHEME: http
FEATURE_STORAGE_REPLICATION: true
DISTRIBUTED_STORAGE_CONFIG:
  us:
    - S3Storage
    - {s3_bucket: quay-us, storage_path: /r, s3_access_key: a, s3_secret_key: Mk1us}
  eu:
    - S3Storage
    - {s3_bucket: quay-eu, storage_path: /r, s3_access_key: a, s3_secret_key: Mk2eu}
  asia:
    - S3Storage
    - {s3_bucket: quay-asia, storage_path: /r, s3_access_key: a, s3_secret_key: Mk3asia}
DISTRIBUTED_STORAGE_PREFERENCE: [us, eu]
DISTRIBUTED_STORAGE_DEFAULT_LOCATIONS: [us, eu]
`

// Next to the locations the page says what the runtime does with them,
// and an error owned by another section links to that section's field.
func TestStoragePlanAndForeignErrorLink(t *testing.T) {
	e := newPagesEnv(t, geoConfig)
	page := e.get("/group/DistributedStorage")
	for _, want := range []string{
		"writes new blobs to <strong>us</strong>, the first location of <code>DISTRIBUTED_STORAGE_PREFERENCE</code>",
		"copied in the background to <strong>us</strong>, <strong>eu</strong> (the default locations)",
		`local storage is <strong>eu</strong> needs <code>QUAY_DISTRIBUTED_STORAGE_PREFERENCE="eu us"</code>`,
		`local storage is <strong>asia</strong> needs <code>QUAY_DISTRIBUTED_STORAGE_PREFERENCE="asia us eu"</code>`,
		"next to <strong>us</strong> needs no override",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("storage page lacks %q", want)
		}
	}
	w := e.post("/validate?group=DistributedStorage", url.Values{"mode": {"offline"}})
	if w.Code != http.StatusOK {
		t.Fatalf("validate: %d", w.Code)
	}
	owner := schema.Get().GroupOf("PREFERRED_URL_SCHEME")
	link := fmt.Sprintf(`<a href="/group/%s#f-PREFERRED_URL_SCHEME">Fix it in its section</a>`, owner)
	if owner == "" || owner == groupStorage || !strings.Contains(w.Body.String(), "Geo-replication requires TLS") || !strings.Contains(w.Body.String(), link) {
		t.Fatalf("the PREFERRED_URL_SCHEME error does not link to %s:\n%s", link, w.Body)
	}
	if !strings.Contains(e.get("/group/"+owner), `id="f-PREFERRED_URL_SCHEME"`) {
		t.Error("the link's target does not exist")
	}
}

func TestStoragePlanOf(t *testing.T) {
	if storagePlanOf(map[string]any{}) != nil {
		t.Error("a plan without locations")
	}
	pl := storagePlanOf(map[string]any{keyStorageConfig: map[string]any{"a": nil, "b": nil}, keyStoragePref: []any{"zz"}})
	if !pl.NoPref || pl.Preferred != "" || len(pl.Overrides) != 2 || pl.Replication {
		t.Errorf("plan %+v", pl)
	}
}
