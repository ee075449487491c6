package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"

	"github.com/quay-tools/config-editor/internal/problem"
	"github.com/quay-tools/config-editor/internal/registry"
)

// runBackfill is `registry backfill`: queue a copy of every blob a default
// storage location lacks; the registries' replication workers copy them.
func runBackfill(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("registry backfill", flag.ContinueOnError)
	path := bundleFlag(fs)
	if parseFlags(fs, args, stderr) != nil {
		return exitUsage
	}
	b, ok := loadBundle(*path, stderr)
	if !ok {
		return exitUsage
	}
	cfg, ps := registry.Translate(b, registry.Env{StoragePreference: os.Getenv("QUAY_DISTRIBUTED_STORAGE_PREFERENCE")})
	if problem.HasErrors(ps) {
		writeProblems(stderr, ps)
		fmt.Fprintln(stderr, "registry backfill: the registry runtime cannot serve this bundle.")
		return exitInvalid
	}
	f, isFile := stderr.(*os.File)
	tty := isFile && term.IsTerminal(int(f.Fd()))
	last := ""
	report := func(p registry.BackfillProgress) {
		if p.Phase != "queueing" {
			if tty && last == "queueing" {
				fmt.Fprintln(stderr)
			}
			fmt.Fprintf(stderr, "registry backfill: %s\n", p.Phase)
			last = p.Phase
			return
		}
		if tty {
			const width = 40
			n := width * p.Done / max(p.Total, 1)
			fmt.Fprintf(stderr, "\r[%s%s] %d/%d blobs, %d copies queued", strings.Repeat("#", n), strings.Repeat(".", width-n), p.Done, p.Total, p.Queued)
		} else if p.Done == p.Total || p.Done%1000 == 0 {
			fmt.Fprintf(stderr, "registry backfill: %d/%d blobs checked, %d copies queued\n", p.Done, p.Total, p.Queued)
		}
		last = p.Phase
	}
	n, err := registry.Backfill(ctx, cfg, report)
	if tty && last == "queueing" {
		fmt.Fprintln(stderr)
	}
	if err != nil {
		fmt.Fprintf(stderr, "registry backfill: %v\n", err)
		return exitInvalid
	}
	fmt.Fprintf(stdout, "registry backfill: %d copies queued\n", n)
	return exitOK
}
