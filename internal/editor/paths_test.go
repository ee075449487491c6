package editor

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// oddLocationsYAML has three locations: "us", complete, and "us.east" and
// "a b", each without its required s3_bucket (their arguments start on
// lines 12 and 15). "us" is a prefix of "us.east" as a string, not as a
// key.
const oddLocationsYAML = `SERVER_HOSTNAME: quay.example.com
DB_URI: postgresql://quay:pw@127.0.0.1:1/quay
SECRET_KEY: k1
DATABASE_SECRET_KEY: k2
DISTRIBUTED_STORAGE_CONFIG:
  us:
  - S3Storage
  - s3_bucket: quay-us
    storage_path: /us
  us.east:
  - S3Storage
  - storage_path: /use
  a b:
  - S3Storage
  - storage_path: /ab
DISTRIBUTED_STORAGE_PREFERENCE: [us, us.east, a b]
`

// The API answers with each problem at its quoted path and the line of
// its location, under the historical wire keys.
func TestAPIValidateOddLocationNames(t *testing.T) {
	ts := newTestServer(t, false)
	body, _ := json.Marshal(map[string]any{"config.yaml": oddLocationsYAML})
	w := validateReq(ts, "?mode=offline", string(body))
	if w.Code != http.StatusOK {
		t.Fatalf("validate: %d %s", w.Code, w.Body)
	}
	var ps []map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &ps); err != nil {
		t.Fatal(err)
	}
	for _, want := range []struct {
		path string
		line float64
	}{
		{`DISTRIBUTED_STORAGE_CONFIG["us.east"][1].s3_bucket`, 12},
		{`DISTRIBUTED_STORAGE_CONFIG["a b"][1].s3_bucket`, 15},
	} {
		found := false
		for _, p := range ps {
			if p["Path"] != want.path {
				continue
			}
			found = true
			if p["Line"] != want.line || p["FieldGroup"] != "DistributedStorage" || p["Message"] == "" || p["Severity"] != "error" {
				t.Errorf("%s: %v, want line %v", want.path, p, want.line)
			}
			if tags, _ := p["Tags"].([]any); len(tags) == 0 || tags[0] != "DISTRIBUTED_STORAGE_CONFIG" {
				t.Errorf("%s: Tags %v", want.path, p["Tags"])
			}
		}
		if !found {
			t.Errorf("no problem at %s in %s", want.path, w.Body)
		}
	}
	if strings.Contains(w.Body.String(), "CONFIG.us.east") {
		t.Errorf("an unquoted dotted key on the wire: %s", w.Body)
	}
	// the typed problems read back
	for _, p := range decodeProblems(t, w) {
		if p.Path != nil && strings.Contains(p.Path.String(), "us.east") && p.Path.Segments()[1] != "us.east" {
			t.Errorf("%s read back as segments %q", p.Path, p.Path.Segments())
		}
	}
}

// In the storage editor each problem sits next to its own location's
// field: the missing bucket of "us.east" is not hung on "us", whose path
// is a string prefix of it.
func TestPagesOddLocationNames(t *testing.T) {
	e := newPagesEnv(t, oddLocationsYAML)
	form := formOf(t, e.get("/group/DistributedStorage"), "/storage")
	w := e.send("POST", "/validate?group=DistributedStorage", "application/x-www-form-urlencoded",
		strings.NewReader(form.Encode()), map[string]string{"HX-Request": "true"})
	if w.Code != http.StatusOK {
		t.Fatalf("validate: %d", w.Code)
	}
	body := w.Body.String()
	locs := regexp.MustCompile(`<li class="loc" id="loc-(\d)"`).FindAllStringSubmatchIndex(body, -1)
	if len(locs) != 3 {
		t.Fatalf("%d locations drawn, want 3:\n%s", len(locs), body)
	}
	section := func(i int) string {
		end := len(body)
		if i+1 < len(locs) {
			end = locs[i+1][0]
		}
		return body[locs[i][0]:end]
	}
	for i, name := range []string{"us", "us.east", "a b"} {
		s := section(i)
		if !strings.Contains(s, `value="`+name+`"`) {
			t.Fatalf("location %d is not %q:\n%s", i, name, s)
		}
		invalid := regexp.MustCompile(`id="f-loc-` + string(rune('0'+i)) + `-s3_bucket" [^>]*aria-invalid="true"`).MatchString(s)
		msg := strings.Contains(s, `id="f-loc-`+string(rune('0'+i))+`-s3_bucket-msg"`) && strings.Contains(s, "needs s3_bucket")
		if name == "us" {
			if invalid || strings.Contains(s, "needs s3_bucket") || strings.Contains(s, "msgline") {
				t.Errorf("a problem of another location is shown on %q:\n%s", name, s)
			}
			continue
		}
		if !invalid || !msg {
			t.Errorf("the missing bucket of %q is not shown next to its field (invalid %v, message %v):\n%s", name, invalid, msg, s)
		}
	}
}

// An input error of the storage form lands on the argument of the location
// it was typed into, without a round trip through a "loc.N.a.ARG" string.
func TestStorageInputErrorOnItsArgument(t *testing.T) {
	e := newPagesEnv(t, oddLocationsYAML)
	form := formOf(t, e.get("/group/DistributedStorage"), "/storage")
	form.Set("loc.1.a.maximum_chunk_size_gb", "not-a-number")
	w := e.post("/storage", form)
	if w.Code != http.StatusUnprocessableEntity {
		t.Fatalf("save with a bad chunk size: %d", w.Code)
	}
	body := w.Body.String()
	if !regexp.MustCompile(`id="f-loc-1-maximum_chunk_size_gb" [^>]*aria-invalid="true"`).MatchString(body) || !strings.Contains(body, `id="f-loc-1-maximum_chunk_size_gb-msg"`) {
		t.Errorf("the bad chunk size of location 1 is not marked:\n%s", body)
	}
	if regexp.MustCompile(`id="f-loc-[02]-maximum_chunk_size_gb" [^>]*aria-invalid="true"`).MatchString(body) {
		t.Error("another location's chunk size is marked invalid")
	}
	if !strings.Contains(body, `value="not-a-number"`) {
		t.Error("the input was not kept")
	}
}
