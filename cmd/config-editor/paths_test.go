package main

import (
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// oddLocationsConfig has storage locations named "us.east" and "a b",
// each without its required s3_bucket; their arguments start on lines 6
// and 11.
const oddLocationsConfig = `SERVER_HOSTNAME: quay.example.com
DB_URI: postgresql://quay:pw@127.0.0.1:1/quay
DISTRIBUTED_STORAGE_CONFIG:
  us.east:
  - S3Storage
  - storage_path: /us
    host: 127.0.0.1
    port: 1
  a b:
  - S3Storage
  - storage_path: /ab
    host: 127.0.0.1
    port: 1
DISTRIBUTED_STORAGE_PREFERENCE: [us.east, a b]
BUILDLOGS_REDIS: {host: 127.0.0.1, port: 1}
USER_EVENTS_REDIS: {host: 127.0.0.1, port: 1}
DATABASE_SECRET_KEY: 0123456789abcdef
SECRET_KEY: 0123456789abcdef
`

var oddLocationWant = []struct {
	path string
	line int
}{
	{`DISTRIBUTED_STORAGE_CONFIG["us.east"][1].s3_bucket`, 6},
	{`DISTRIBUTED_STORAGE_CONFIG["a b"][1].s3_bucket`, 11},
}

// A location whose name holds a dot or a space is reported at its own
// quoted path and line, in the JSON output and in the table.
func TestValidateOddLocationNames(t *testing.T) {
	t.Setenv("CONFIG_EDITOR_BUNDLE", "")
	dir := writeBundle(t, oddLocationsConfig)

	code, out, errOut := runCLI(t, "validate", "-c", dir, "-o", "json")
	if code != exitInvalid {
		t.Fatalf("exit %d, want %d\n%s%s", code, exitInvalid, out, errOut)
	}
	var ps []struct {
		FieldGroup, Message, Path, Severity string
		Tags                                []string
		Line                                int
	}
	if err := json.Unmarshal([]byte(out), &ps); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	for _, w := range oddLocationWant {
		found := false
		for _, p := range ps {
			if p.Path == w.path {
				found = true
				if p.Line != w.line || p.Severity != "error" || p.FieldGroup != "DistributedStorage" || len(p.Tags) == 0 || p.Tags[0] != "DISTRIBUTED_STORAGE_CONFIG" {
					t.Errorf("%s: %+v, want line %d", w.path, p, w.line)
				}
			}
		}
		if !found {
			t.Errorf("no problem at %s in:\n%s", w.path, out)
		}
	}
	if strings.Contains(out, ".us.east") || strings.Contains(out, ".a b") {
		t.Errorf("an unquoted odd key in the output:\n%s", out)
	}

	code, out, errOut = runCLI(t, "validate", "-c", dir)
	if code != exitInvalid {
		t.Fatalf("table: exit %d\n%s%s", code, out, errOut)
	}
	for _, w := range oddLocationWant {
		row := regexp.MustCompile(`(?m)^error\s+DistributedStorage\s+` + regexp.QuoteMeta(w.path) + `\s+` + strconv.Itoa(w.line) + `\s+\S`)
		if !row.MatchString(out) {
			t.Errorf("the table has no row for %s at line %d:\n%s", w.path, w.line, out)
		}
	}
}
