package schema

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/quay-tools/config-editor/internal/bundle"
)

// unknownKeysDoc is testdata/valid.yaml followed by n top-level keys Quay
// does not know, half of them close enough to a known key to get a "did you
// mean" suggestion.
func unknownKeysDoc(tb testing.TB, n int) *bundle.Document {
	tb.Helper()
	base, err := os.ReadFile(filepath.Join("testdata", "valid.yaml"))
	if err != nil {
		tb.Fatal(err)
	}
	var b strings.Builder
	b.Write(base)
	for i := 0; i < n; i++ {
		if i%2 == 0 {
			fmt.Fprintf(&b, "UNKNOWN_SETTING_%d: %d\n", i, i)
		} else {
			fmt.Fprintf(&b, "FEATURE_MAILNG_%d: true\n", i)
		}
	}
	doc, err := bundle.ParseDocument([]byte(b.String()), bundle.Limits{MaxNodes: 4*n + 10_000})
	if err != nil {
		tb.Fatal(err)
	}
	return doc
}

// BenchmarkUnknownKeys is the offline schema check of a config with 1k,
// 10k and 100k unknown top-level keys (each one gets a warning with its
// line). ns/key must stay flat: the cost grows linearly with the keys.
func BenchmarkUnknownKeys(b *testing.B) {
	cat := Get()
	for _, n := range []int{1_000, 10_000, 100_000} {
		b.Run(fmt.Sprintf("keys=%d", n), func(b *testing.B) {
			doc := unknownKeysDoc(b, n)
			doc.Value()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if ps := cat.Validate(doc); len(ps) != n {
					b.Fatalf("%d problems, want %d", len(ps), n)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/key")
		})
	}
}
