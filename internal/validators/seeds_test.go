package validators

import (
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/quay-tools/config-editor/internal/bundle"
)

// The example configs of the seed documents (the product documentation)
// must validate as the docs intend. Each testdata/seeds file says which
// section it comes from and what was added or corrected.
func TestSeedExamples(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("testdata", "seeds", "*.yaml"))
	if len(files) < 9 {
		t.Fatalf("expected the seed examples in testdata/seeds, found %d", len(files))
	}
	pki := newTestPKI(t, "Seed DB CA")
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(string(src), "# Seed ") {
				t.Errorf("%s does not say which seed section it comes from", f)
			}
			b, err := bundle.New(src, bundle.Limits{})
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(src), "conf/stack/database.pem") {
				if err := b.SetFile("database.pem", pki.caPEM); err != nil {
					t.Fatal(err)
				}
			}
			for _, p := range validateOffline(b) {
				t.Errorf("%s", p)
			}
		})
	}
}

// As printed, two seed storage examples are wrong; the validator must say
// exactly where.
func TestSeedExamplesAsPrinted(t *testing.T) {
	cases := []struct {
		file, from, to string
		want           []string
	}{
		// §3.2.1.4 prefers "default", which it never defines.
		{"radosgw_004.yaml", "- radosGWStorage\n", "- default\n", []string{
			"error DistributedStorage DISTRIBUTED_STORAGE_PREFERENCE[0]",
			// the one location is then in no preference list: nothing else
		}},
		// §3.2.1.6 misspells the driver.
		{"noobaa_004.yaml", "- RHOCSStorage", "- RHOCSSStorage", []string{
			"error DistributedStorage DISTRIBUTED_STORAGE_CONFIG.default[0]",
		}},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			src, err := os.ReadFile(filepath.Join("testdata", "seeds", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(src), tc.from) {
				t.Fatalf("%s does not contain %q", tc.file, tc.from)
			}
			b := mustBundle(t, strings.Replace(string(src), tc.from, tc.to, 1))
			got := keys(validateOffline(b))
			want := append([]string{}, tc.want...)
			sort.Strings(want)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got %q\nwant %q", got, want)
				for _, p := range validateOffline(b) {
					t.Logf("  %s", p)
				}
			}
		})
	}
}
