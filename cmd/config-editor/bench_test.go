package main

import (
	"os"
	"os/exec"
	"testing"
)

// BenchmarkCLIColdRun measures a whole `config-editor validate` process:
// start, schema compilation, bundle read, offline validation, output.
func BenchmarkCLIColdRun(b *testing.B) {
	bin := buildBinaryB(b)
	dir := writeBundle(b, validConfig)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		out, err := exec.Command(bin, "validate", "-c", dir, "--mode", "offline").CombinedOutput()
		if err != nil {
			b.Fatalf("validate: %v\n%s", err, out)
		}
	}
}

// buildBinaryB builds the command; CONFIG_EDITOR_BENCH_BIN names a binary
// to run instead (e.g. a build of main, to alternate with this tree's).
func buildBinaryB(b *testing.B) string {
	b.Helper()
	if bin := os.Getenv("CONFIG_EDITOR_BENCH_BIN"); bin != "" {
		return bin
	}
	bin := b.TempDir() + "/config-editor"
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}
