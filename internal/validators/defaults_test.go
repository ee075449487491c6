package validators

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/quay-tools/config-editor/internal/bundle"
	"github.com/quay-tools/config-editor/internal/problem"
	"github.com/quay-tools/config-editor/internal/schema"
)

// GET /api/v1/config answers the config with every default filled in, and
// scripts post that answer back to /config/validate. Writing out the
// defaults must not create a single new problem.
func TestWrittenDefaultsAddNoProblems(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.good.yaml")
	if len(files) < 10 {
		t.Fatalf("only %d good testdata files", len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			plain, err := bundle.New(data, bundle.Limits{})
			if err != nil {
				t.Fatal(err)
			}
			full, err := bundle.FromValue(schema.Get().WithDefaults(plain.Config().Value()), bundle.Limits{})
			if err != nil {
				t.Fatal(err)
			}
			for _, name := range plain.FileNames() {
				data, _ := plain.File(name)
				if err := full.SetFile(name, data); err != nil {
					t.Fatal(err)
				}
			}
			key := func(p problem.Problem) string { return string(p.Severity) + " " + p.Path.String() + " " + p.Message }
			before := map[string]bool{}
			for _, p := range Validate(context.Background(), plain, Options{Mode: Offline}) {
				before[key(p)] = true
			}
			for _, p := range Validate(context.Background(), full, Options{Mode: Offline}) {
				if !before[key(p)] {
					t.Errorf("new problem once the defaults are written out: %s %s: %s", p.Severity, p.Path, p.Message)
				}
			}
		})
	}
}
