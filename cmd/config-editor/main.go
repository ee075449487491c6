// Command config-editor edits, validates and ships Red Hat Quay config
// bundles. Subcommands: editor, validate, print, schema, registry, push,
// version. This file only parses flags and wires packages together.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"syscall"
	"time"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// Exit codes shared by every subcommand.
const (
	exitOK      = 0
	exitInvalid = 1
	exitUsage   = 2
)

type command struct {
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) int
}

// commands is filled by the files of this package, one per subcommand.
var commands = map[string]command{}

func register(name, summary string, run func(ctx context.Context, args []string, stdout, stderr io.Writer) int) {
	commands[name] = command{summary: summary, run: run}
}

func main() {
	os.Exit(runMain(os.Args[1:], os.Stdout, os.Stderr))
}

// How long a command may take to finish after SIGINT or SIGTERM before the
// process exits anyway: commands pass the signal on through their context
// and return at once; the editor drains its requests first
// (editor.Config.ShutdownTimeout, 15 s).
//
// registry mode bounds its own drain (--shutdown-timeout) and must not be
// cut off before it, so its grace only guards against a hang.
var (
	stopGrace         = time.Second
	editorStopGrace   = 20 * time.Second
	registryStopGrace = 10 * time.Minute
)

// signalCause is the cause of a context cancelled by a signal.
type signalCause struct{ sig os.Signal }

func (c *signalCause) Error() string { return signalName(c.sig) + " received" }

// notifyContext is signal.NotifyContext for SIGINT and SIGTERM whose
// cause (context.Cause) carries the signal, for the exit code. stop
// restores the default action, so a second signal ends the process.
func notifyContext(parent context.Context) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(parent)
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	go func() {
		select {
		case sig := <-ch:
			cancel(&signalCause{sig})
		case <-ctx.Done():
		}
	}()
	return ctx, func() {
		signal.Stop(ch)
		cancel(nil)
	}
}

func signalName(sig os.Signal) string {
	switch sig {
	case os.Interrupt:
		return "SIGINT"
	case syscall.SIGTERM:
		return "SIGTERM"
	}
	return sig.String()
}

// runMain runs a command until it returns or a signal stops it. On SIGINT
// or SIGTERM the command's context is cancelled; a command that does not
// return within its grace period is abandoned. The exit code is then
// 128 + the signal number (130 for SIGINT, 143 for SIGTERM), as a shell
// reports a process killed by it; only the servers (editor, webhook,
// registry), which shut down gracefully, keep their own code.
func runMain(args []string, stdout, stderr io.Writer) int {
	ctx, stop := notifyContext(context.Background())
	defer stop()
	done := make(chan int, 1)
	go func() { done <- run(ctx, args, stdout, stderr) }()
	select {
	case code := <-done:
		return code
	case <-ctx.Done():
	}
	var sc *signalCause
	if !errors.As(context.Cause(ctx), &sc) {
		return <-done // not a signal: cannot happen, the parent never ends
	}
	stop()
	command := ""
	if len(args) > 0 {
		command = args[0]
	}
	grace := stopGrace
	server := true
	switch command {
	case "editor", "config", "webhook":
		grace = editorStopGrace
	case "registry":
		grace = registryStopGrace
	default:
		server = false
	}
	timer := time.NewTimer(grace)
	defer timer.Stop()
	select {
	case code := <-done:
		if server {
			return code
		}
	case <-timer.C:
		fmt.Fprintf(stderr, "config-editor: still busy %s after %s; exiting anyway\n", grace, signalName(sc.sig))
	}
	code := 128 + 15
	if n, ok := sc.sig.(syscall.Signal); ok {
		code = 128 + int(n)
	}
	fmt.Fprintf(stderr, "config-editor: interrupted by %s (exit %d)\n", signalName(sc.sig), code)
	return code
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	switch args[0] {
	case "-v", "--version":
		args[0] = "version"
	case "config":
		// the container form of Quay's image: config <password>
		args[0] = "editor"
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "config-editor: unknown command %q\n\n", args[0])
		usage(stderr)
		return exitUsage
	}
	return cmd.run(ctx, args[1:], stdout, stderr)
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: config-editor <command> [flags]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "commands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-9s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run 'config-editor <command> -h' for a command's flags.")
}

func init() {
	register("version", "print the version", func(_ context.Context, _ []string, stdout, _ io.Writer) int {
		fmt.Fprintf(stdout, "config-editor %s\n", version)
		return exitOK
	})
}

// errUsage marks flag errors that were already printed.
var errUsage = errors.New("usage")
