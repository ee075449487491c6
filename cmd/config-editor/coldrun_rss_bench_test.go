package main

import (
	"os/exec"
	"sort"
	"syscall"
	"testing"
)

// BenchmarkCLIColdRunRSS is BenchmarkCLIColdRun that also reports the
// process's peak resident memory (the median over the runs, from
// getrusage) next to the wall time: `validate` gates container start-up,
// so both count. Targets: ≤ 30 ms and ≤ 25 MB on the 2-core machine.
func BenchmarkCLIColdRunRSS(b *testing.B) {
	bin := buildBinaryB(b)
	dir := writeBundle(b, validConfig)
	var rss []int64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		cmd := exec.Command(bin, "validate", "-c", dir, "--mode", "offline")
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("validate: %v\n%s", err, out)
		}
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			rss = append(rss, ru.Maxrss) // KiB on Linux
		}
	}
	b.StopTimer()
	if len(rss) == 0 {
		b.Fatal("no rusage from the child process")
	}
	sort.Slice(rss, func(i, j int) bool { return rss[i] < rss[j] })
	b.ReportMetric(float64(rss[len(rss)/2])/1024, "peak-RSS-MiB")
}
