package validators

import (
	"context"
	"os"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/quay-tools/config-editor/internal/benchenv"
	"github.com/quay-tools/config-editor/internal/problem"
)

// The machine's own servers (RULES: PostgreSQL 127.0.0.1:5432 with trust,
// Redis 127.0.0.1:6379), as a small healthy bundle points at them: the
// case a container start-up gate or a pipeline runs on every start.
const (
	machinePG    = "127.0.0.1:5432"
	machineRedis = "127.0.0.1:6379"
	benchDB      = "config_editor_bench"
)

// machineBundleConfig is a small healthy bundle: PostgreSQL (sslmode left to
// its default, prefer, as most bundles do), two Redis keys on the same
// server, and a local storage folder.
func machineBundleConfig(storage string) map[string]any {
	return map[string]any{
		"SERVER_HOSTNAME":      "localhost:8080",
		"PREFERRED_URL_SCHEME": "http",
		"AUTHENTICATION_TYPE":  "Database",
		"DB_URI":               "postgresql://postgres@" + machinePG + "/" + benchDB,
		"BUILDLOGS_REDIS":      map[string]any{"host": "127.0.0.1", "port": 6379},
		"USER_EVENTS_REDIS":    map[string]any{"host": "127.0.0.1", "port": 6379},
		"DISTRIBUTED_STORAGE_CONFIG": map[string]any{"local": []any{"LocalStorage",
			map[string]any{"storage_path": storage}}},
		"DISTRIBUTED_STORAGE_PREFERENCE":        []any{"local"},
		"DISTRIBUTED_STORAGE_DEFAULT_LOCATIONS": []any{},
		"SECRET_KEY":                            "2c5d6c1e-9d1f-4a4e-8b0e-0f3c3b7b6a11",
		"DATABASE_SECRET_KEY":                   "7c0a3c7e-2f3b-4f6b-9a8e-3d1c2b5a4e90",
	}
}

// machineServers makes sure the machine's PostgreSQL has the bench database
// with pg_trgm and that its Redis answers. Outside CI a machine without them
// skips (with the reason); in CI it fails.
func machineServers(tb testing.TB) {
	tb.Helper()
	unavailable := func(format string, args ...any) {
		tb.Helper()
		if os.Getenv("CI") == "true" {
			tb.Fatalf(format, args...)
		}
		tb.Skipf(format, args...)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, "postgres://postgres@"+machinePG+"/postgres?sslmode=disable")
	if err != nil {
		unavailable("the machine's PostgreSQL at %s is not usable: %v", machinePG, err)
	}
	defer conn.Close(ctx)
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", benchDB).Scan(&exists); err != nil {
		tb.Fatal(err)
	}
	if !exists {
		if _, err := conn.Exec(ctx, "CREATE DATABASE "+benchDB); err != nil && !strings.Contains(err.Error(), "already exists") {
			tb.Fatal(err)
		}
	}
	db, err := pgx.Connect(ctx, "postgres://postgres@"+machinePG+"/"+benchDB+"?sslmode=disable")
	if err != nil {
		tb.Fatal(err)
	}
	defer db.Close(ctx)
	if _, err := db.Exec(ctx, "CREATE EXTENSION IF NOT EXISTS pg_trgm"); err != nil {
		tb.Fatal(err)
	}
	rc, err := dialContext(ctx, "tcp", machineRedis)
	if err != nil {
		unavailable("the machine's Redis at %s is not usable: %v", machineRedis, err)
	}
	_ = rc.Close()
}

// machineLoad is "load average 1.02 0.88 0.61, 2 cores" for the figures.
func machineLoad() string {
	return "load average " + benchenv.LoadAverage() + ", " + itoa(runtime.NumCPU()) + " cores"
}

func itoa(n int) string { return AsString(n) }

// processCPU is the user and system time this process has used: less
// sensitive than wall time to the other work of a shared machine.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkOnlineHealthy is `validate --mode online` of a small healthy
// bundle (the machine's PostgreSQL and two Redis keys on its Redis, a local
// storage folder) without the CLI's start-up: every group's offline rules
// plus the probes, which must all pass.
func BenchmarkOnlineHealthy(b *testing.B) {
	machineServers(b)
	bun := onlineBundle(b, machineBundleConfig(b.TempDir()), nil)
	opts := Options{Mode: Online, Timeout: 5 * time.Second}
	var passed int
	opts.OnPassed = func(problem.Problem) { passed++ }
	ps := Validate(context.Background(), bun, opts)
	if problem.HasErrors(ps) || passed < 4 {
		b.Fatalf("the bundle is not healthy (%d passed):\n%s", passed, dump(ps))
	}
	b.Logf("%s", machineLoad())
	b.ResetTimer()
	start, cpu0 := time.Now(), processCPU()
	for i := 0; i < b.N; i++ {
		passed = 0
		ps := Validate(context.Background(), bun, opts)
		if problem.HasErrors(ps) || passed < 4 {
			b.Fatalf("the bundle is not healthy (%d passed):\n%s", passed, dump(ps))
		}
	}
	b.ReportMetric(float64(time.Since(start).Microseconds())/1000/float64(b.N), "ms/validation")
	b.ReportMetric(float64((processCPU()-cpu0).Microseconds())/1000/float64(b.N), "cpu-ms/validation")
}
