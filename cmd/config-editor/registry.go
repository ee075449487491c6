package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/quay-tools/config-editor/internal/problem"
	"github.com/quay-tools/config-editor/internal/registry"
	"github.com/quay-tools/config-editor/internal/validators"
)

func init() {
	register("registry", "registry mode: validate the mounted bundle online, then serve the registry from it", runRegistry)
}

// runRegistry is Quay's `registry` mode: trust the bundle's CAs, validate
// it online (IGNORE_VALIDATION=true skips, loudly), translate it into the
// runtime's configuration, serve until SIGTERM, then drain.
func runRegistry(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "backfill" {
		return runBackfill(ctx, args[1:], stdout, stderr)
	}
	fs := flag.NewFlagSet("registry", flag.ContinueOnError)
	path := bundleFlag(fs)
	addr := fs.String("addr", "", "listen address (default :8443 when serving TLS, :8080 otherwise)")
	timeout := fs.Duration("timeout", validators.DefaultTimeout, "deadline of each online probe of the start-up validation")
	drain := fs.Duration("shutdown-timeout", 30*time.Second, "on SIGTERM, how long running requests (uploads) may take to finish")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	var repl registry.ReplicationOptions
	fs.IntVar(&repl.Workers, "replication-workers", 2, "with FEATURE_STORAGE_REPLICATION: copy workers in this process (0: none, this process only queues)")
	fs.DurationVar(&repl.Lease, "replication-lease", time.Minute, "how long a replication claim lasts without renewal (a killed worker's copy is taken again after it)")
	fs.Int64Var(&repl.Bandwidth, "replication-bandwidth", 0, "bytes per second each copy may use between locations (0: unlimited)")
	fs.Int64Var(&repl.YieldBandwidth, "replication-yield-bandwidth", 4<<20, "bytes per second all copies of this process share while it serves a blob upload (copies yield to pushes; -1: never yield)")
	fs.DurationVar(&repl.Retention, "replication-retention", 24*time.Hour, "how long done replication rows stay in the queue table before they are pruned (negative: never)")
	if parseFlags(fs, args, stderr) != nil {
		return exitUsage
	}
	if repl.Workers == 0 {
		repl.Workers = -1
	}
	b, ok := loadBundle(*path, stderr)
	if !ok {
		return exitUsage
	}
	tmp, err := os.MkdirTemp("", "config-editor-registry-")
	if err != nil {
		fmt.Fprintln(stderr, "registry:", err)
		return exitInvalid
	}
	defer os.RemoveAll(tmp)
	caFile, err := registry.TrustBundleCAs(b, tmp)
	if err != nil {
		fmt.Fprintf(stderr, "registry: cannot trust the bundle's extra CAs: %v\n", err)
		return exitInvalid
	}

	if ignoreValidation() {
		fmt.Fprintln(stderr, strings.Repeat("!", 78))
		fmt.Fprintf(stderr, "WARNING: IGNORE_VALIDATION=%s: starting WITHOUT validating %s.\n", os.Getenv("IGNORE_VALIDATION"), *path)
		fmt.Fprintln(stderr, "WARNING: services the bundle names (database, Redis, storage, LDAP) were not checked.")
		fmt.Fprintln(stderr, strings.Repeat("!", 78))
	} else {
		fmt.Fprintf(stderr, "registry: validating %s online before starting...\n", *path)
		start := time.Now()
		ps := validators.Validate(ctx, b, validators.Options{Mode: validators.Online, Timeout: *timeout})
		if ctx.Err() != nil {
			return exitInvalid
		}
		if len(ps) > 0 {
			writeTable(stderr, ps, nil, validators.Online, time.Since(start))
		}
		if problem.HasErrors(ps) {
			fmt.Fprintf(stderr, "registry: config bundle %s failed validation; not starting. Fix the errors above, or set IGNORE_VALIDATION=true to start anyway.\n", *path)
			return exitInvalid
		}
		fmt.Fprintf(stderr, "registry: bundle valid (%s)\n", time.Since(start).Round(time.Millisecond))
	}

	cfg, ps := registry.Translate(b, registry.Env{StoragePreference: os.Getenv("QUAY_DISTRIBUTED_STORAGE_PREFERENCE")})
	if len(ps) > 0 {
		fmt.Fprintln(stderr, "registry: what the bundle means for the registry runtime:")
		writeProblems(stderr, ps)
	}
	if problem.HasErrors(ps) {
		fmt.Fprintln(stderr, "registry: the registry runtime cannot serve this bundle; not starting.")
		return exitInvalid
	}
	srv, err := registry.New(ctx, cfg, registry.Options{
		Addr: *addr, CAFile: caFile, Log: stderr, LogLevel: *logLevel, ShutdownTimeout: *drain, Replication: repl,
	})
	if err != nil {
		var se *registry.StartError
		if errors.As(err, &se) {
			fmt.Fprintf(stderr, "registry: not starting: %v\n", se)
		} else {
			fmt.Fprintf(stderr, "registry: not starting: %v\n", err)
		}
		return exitInvalid
	}
	if err := srv.Listen(); err != nil {
		fmt.Fprintf(stderr, "registry: not starting: %v\n", err)
		return exitInvalid
	}
	fmt.Fprintf(stdout, "registry: listening on %s (%s)\n", srv.Addr(), cfg.BaseURL())
	if err := srv.Run(ctx); err != nil {
		fmt.Fprintf(stderr, "registry: %v\n", err)
		return exitInvalid
	}
	return exitOK
}

// ignoreValidation reads IGNORE_VALIDATION as Quay's container does: any
// true-ish value skips the gate.
func ignoreValidation() bool {
	switch strings.ToLower(strings.TrimSpace(os.Getenv("IGNORE_VALIDATION"))) {
	case "true", "1", "yes", "on":
		return true
	}
	return false
}

// writeProblems prints the problem table without the validation verdict.
func writeProblems(w io.Writer, ps []problem.Problem) {
	var buf strings.Builder
	writeTable(&buf, ps, nil, validators.Offline, 0)
	out := strings.TrimRight(buf.String(), "\n")
	if i := strings.LastIndexByte(out, '\n'); i >= 0 {
		out = out[:i] // the verdict line
	}
	fmt.Fprintln(w, strings.TrimRight(out, "\n"))
}
