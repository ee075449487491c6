package schema

import (
	"testing"

	"github.com/quay-tools/config-editor/schemas"
)

// BenchmarkLoad is the start-up cost of the catalogue: JSON parse plus
// schema compilation, paid once per process.
func BenchmarkLoad(b *testing.B) {
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := Load(schemas.QuayConfig); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCatalogue is what start-up pays before serving: the catalogue
// without the compiled validator.
func BenchmarkCatalogue(b *testing.B) {
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := build(schemas.QuayConfig); err != nil {
			b.Fatal(err)
		}
	}
}
