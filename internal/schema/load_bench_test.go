package schema

import (
	"hash/crc32"
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

// BenchmarkEmbedded is what Get pays at start-up since the catalogue is
// generated: checking that catalogue_gen.go was generated from the
// embedded schema (length and CRC-32), then loading its tables. (Loading
// again sets the same pointers in the package's tables, so it can repeat.)
func BenchmarkEmbedded(b *testing.B) {
	if generated == nil {
		b.Fatal("no generated catalogue")
	}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if generated.schemaLen != len(schemas.QuayConfig) || generated.schemaCRC != crc32.ChecksumIEEE(schemas.QuayConfig) {
			b.Fatal("catalogue_gen.go is stale")
		}
		if _, err := generated.load(); err != nil {
			b.Fatal(err)
		}
	}
}
