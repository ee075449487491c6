package validators

import (
	"context"
	"testing"

	"github.com/quay-tools/config-editor/internal/bundle"
	"github.com/quay-tools/config-editor/internal/problem"
)

// oddNamesYAML has storage locations whose names hold a dot and a space;
// each lacks its required s3_bucket (lines 4 and 8 hold their arguments).
const oddNamesYAML = `SERVER_HOSTNAME: quay.example.com
DISTRIBUTED_STORAGE_CONFIG:
  us.east:
  - S3Storage
  - s3_access_key: AKIA
    s3_secret_key: hunter2
    storage_path: /registry
  a b:
  - S3Storage
  - s3_access_key: AKIA
    s3_secret_key: hunter2
    storage_path: /registry
DISTRIBUTED_STORAGE_PREFERENCE: [us.east, a b]
`

// A rule's problem about a location named us.east (or "a b") keeps its
// segments: the path renders quoted and finds the line of that location,
// where splitting the rendered string at dots used to find another line.
func TestOddLocationNamesPathAndLine(t *testing.T) {
	b, err := bundle.New([]byte(oddNamesYAML), bundle.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	ps := Validate(context.Background(), b, Options{Mode: Offline, Groups: []string{groupStorage}})
	for _, tc := range []struct {
		path string
		line int
	}{
		{`DISTRIBUTED_STORAGE_CONFIG["us.east"][1].s3_bucket`, 5},
		{`DISTRIBUTED_STORAGE_CONFIG["a b"][1].s3_bucket`, 10},
	} {
		var found *problem.Problem
		for i, p := range ps {
			if p.Path.String() == tc.path {
				found = &ps[i]
			}
		}
		if found == nil {
			t.Errorf("no problem at %s among:\n%s", tc.path, dump(ps))
			continue
		}
		if found.Line != tc.line {
			t.Errorf("%s: line %d, want %d", tc.path, found.Line, tc.line)
		}
		if found.Severity != problem.Error || found.FieldGroup != groupStorage {
			t.Errorf("%s: %+v", tc.path, *found)
		}
	}
}
