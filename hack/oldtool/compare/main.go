// Command compare times `validate --mode online` of a small healthy bundle,
// a new process each time, for Quay's own config-tool (built by
// hack/oldtool/build.sh) and for config-editor, alternating the two so both
// see the same machine load. The bundle is the one of
// validators.BenchmarkOnlineHealthy: the machine's PostgreSQL (sslmode left
// to prefer), BUILDLOGS_REDIS and USER_EVENTS_REDIS on its Redis, and a
// LocalStorage folder. Every run of either tool must exit 0 (the bundle is
// valid for both), or the comparison stops: a tool that fails fast proves
// nothing.
//
//	go run ./hack/oldtool/compare -new bin/config-editor [-old ~/.cache/config-editor-bench/config-tool] [-runs 30]
//
// It prints the load average (before and after) and the core count next to
// the medians and means. Without the old tool it says so and exits 0: the
// baseline is optional for `make bench`.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/quay-tools/config-editor/internal/benchenv"
)

const (
	machinePG = "127.0.0.1:5432"
	benchDB   = "config_editor_bench"
)

func main() {
	cache := os.Getenv("XDG_CACHE_HOME")
	if cache == "" {
		home, _ := os.UserHomeDir()
		cache = filepath.Join(home, ".cache")
	}
	oldBin := flag.String("old", filepath.Join(cache, "config-editor-bench", "config-tool"), "Quay's config-tool (hack/oldtool/build.sh)")
	newBin := flag.String("new", "bin/config-editor", "config-editor binary; several, comma-separated, to compare builds too")
	runs := flag.Int("runs", 30, "runs of each tool")
	flag.Parse()

	if _, err := os.Stat(*oldBin); err != nil {
		fmt.Printf("oldtool compare: no baseline (%v); build it with hack/oldtool/build.sh\n", err)
		return
	}
	if err := run(*oldBin, strings.Split(*newBin, ","), *runs); err != nil {
		fmt.Fprintln(os.Stderr, "oldtool compare:", err)
		os.Exit(1)
	}
}

type tool struct {
	name string
	argv []string
}

func run(oldBin string, newBins []string, runs int) error {
	if err := ensureDB(); err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "oldtool-compare-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if err := writeBundle(dir); err != nil {
		return err
	}
	tools := []tool{{"config-tool (old)", []string{oldBin, "validate", "-c", dir, "--mode", "online"}}}
	for _, nb := range newBins {
		name := "config-editor"
		if len(newBins) > 1 {
			name = nb
		}
		tools = append(tools, tool{name, []string{nb, "validate", "-c", dir, "--mode", "online"}})
	}
	// One untimed run each: the page cache holds both binaries, and a
	// failing bundle is caught before anything is timed.
	for _, t := range tools {
		if _, _, _, err := once(t.argv); err != nil {
			return fmt.Errorf("%s does not validate the bundle: %w", t.name, err)
		}
	}
	before := benchenv.LoadAverage()
	times := make([][]time.Duration, len(tools))
	cpus := make([][]time.Duration, len(tools))
	rss := make([][]int64, len(tools))
	for i := 0; i < runs; i++ {
		for k := range tools {
			idx := (i + k) % len(tools) // rotate which goes first
			d, cpu, peak, err := once(tools[idx].argv)
			if err != nil {
				return fmt.Errorf("%s, run %d: %w", tools[idx].name, i+1, err)
			}
			times[idx] = append(times[idx], d)
			cpus[idx] = append(cpus[idx], cpu)
			rss[idx] = append(rss[idx], peak)
		}
	}
	// The floor of the peak RSS figures: a child is started with vfork, and
	// its ru_maxrss includes what this process had mapped at the time.
	_, _, floor, err := once([]string{"true"})
	if err != nil {
		return err
	}
	after := benchenv.LoadAverage()
	fmt.Printf("validate --mode online, small healthy bundle, new process each time, %d runs each, alternated\n", runs)
	fmt.Printf("load average %s before, %s after; %d cores\n", before, after, runtime.NumCPU())
	var medians []time.Duration
	for k, t := range tools {
		ts := times[k]
		sort.Slice(ts, func(a, b int) bool { return ts[a] < ts[b] })
		var sum time.Duration
		for _, d := range ts {
			sum += d
		}
		med := ts[len(ts)/2]
		medians = append(medians, med)
		cs := cpus[k]
		sort.Slice(cs, func(a, b int) bool { return cs[a] < cs[b] })
		rs := rss[k]
		sort.Slice(rs, func(a, b int) bool { return rs[a] < rs[b] })
		fmt.Printf("%-24s median %6.1f ms  mean %6.1f ms  min %6.1f ms  max %6.1f ms  CPU (user+sys) median %5.1f ms  peak RSS median %5.1f MiB\n",
			t.name, ms(med), ms(sum/time.Duration(len(ts))), ms(ts[0]), ms(ts[len(ts)-1]), ms(cs[len(cs)/2]), float64(rs[len(rs)/2])/1024)
	}
	fmt.Printf("peak RSS floor (true(1) started the same way): %.1f MiB\n", float64(floor)/1024)
	for k := 1; k < len(tools); k++ {
		fmt.Printf("ratio %s / config-tool (medians): %.2f\n", tools[k].name, float64(medians[k])/float64(medians[0]))
	}
	return nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// once runs argv to completion and returns its wall time, CPU time (user +
// system, less sensitive than wall time to the other work of a shared
// machine) and peak RSS in KiB; a non-zero exit is an error carrying the
// tool's output.
func once(argv []string) (time.Duration, time.Duration, int64, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	d := time.Since(start)
	if err != nil {
		return 0, 0, 0, fmt.Errorf("%v\n%s", err, out.String())
	}
	var peak int64
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		peak = ru.Maxrss // KiB on Linux
	}
	return d, cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime(), peak, nil
}

// ensureDB makes sure the machine's PostgreSQL has the bench database with
// pg_trgm, as validators.BenchmarkOnlineHealthy does.
func ensureDB() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, "postgres://postgres@"+machinePG+"/postgres?sslmode=disable")
	if err != nil {
		return fmt.Errorf("the machine's PostgreSQL at %s is not usable: %w", machinePG, err)
	}
	defer conn.Close(ctx)
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", benchDB).Scan(&exists); err != nil {
		return err
	}
	if !exists {
		if _, err := conn.Exec(ctx, "CREATE DATABASE "+benchDB); err != nil && !strings.Contains(err.Error(), "already exists") {
			return err
		}
	}
	db, err := pgx.Connect(ctx, "postgres://postgres@"+machinePG+"/"+benchDB+"?sslmode=disable")
	if err != nil {
		return err
	}
	defer db.Close(ctx)
	_, err = db.Exec(ctx, "CREATE EXTENSION IF NOT EXISTS pg_trgm")
	return err
}

func writeBundle(dir string) error {
	storage := filepath.Join(dir, "storage")
	if err := os.Mkdir(storage, 0o755); err != nil {
		return err
	}
	if strings.ContainsAny(storage, "'\n") {
		return errors.New("temporary directory name not usable in YAML: " + storage)
	}
	config := `SERVER_HOSTNAME: localhost:8080
PREFERRED_URL_SCHEME: http
AUTHENTICATION_TYPE: Database
DB_URI: postgresql://postgres@` + machinePG + `/` + benchDB + `
BUILDLOGS_REDIS: {host: 127.0.0.1, port: 6379}
USER_EVENTS_REDIS: {host: 127.0.0.1, port: 6379}
DISTRIBUTED_STORAGE_CONFIG:
  local: [LocalStorage, {storage_path: '` + storage + `'}]
DISTRIBUTED_STORAGE_PREFERENCE: [local]
DISTRIBUTED_STORAGE_DEFAULT_LOCATIONS: []
SECRET_KEY: 2c5d6c1e-9d1f-4a4e-8b0e-0f3c3b7b6a11
DATABASE_SECRET_KEY: 7c0a3c7e-2f3b-4f6b-9a8e-3d1c2b5a4e90
`
	return os.WriteFile(filepath.Join(dir, "config.yaml"), []byte(config), 0o600)
}
