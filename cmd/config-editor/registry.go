package main

import (
	"context"
	"flag"
	"fmt"
	"io"
)

func init() {
	register("registry", "registry mode: validate the mounted bundle, then run the registry runtime", runRegistry)
}

// runRegistry is the start-up gate of registry mode. The embedded registry
// runtime is not part of this build; rather than pretend to serve, it says
// so and exits non-zero after the bundle has been checked.
func runRegistry(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("registry", flag.ContinueOnError)
	path := bundleFlag(fs)
	if parseFlags(fs, args, stderr) != nil {
		return exitUsage
	}
	if _, ok := loadBundle(*path, stderr); !ok {
		return exitUsage
	}
	fmt.Fprintln(stderr, "registry mode: the embedded registry runtime is not included in this build of config-editor; only the validation gate (config-editor validate --mode online) is available.")
	return exitUsage
}
