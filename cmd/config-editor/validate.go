package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/quay-tools/config-editor/internal/bundle"
	"github.com/quay-tools/config-editor/internal/problem"
	"github.com/quay-tools/config-editor/internal/schema"
	"github.com/quay-tools/config-editor/internal/validators"
)

func init() {
	register("validate", "validate a bundle (directory, quay-config.tar.gz or config.yaml)", runValidate)
	register("print", "print the config with defaults filled in and secrets redacted", runPrint)
	register("schema", "print the JSON Schema of config.yaml", func(_ context.Context, _ []string, stdout, _ io.Writer) int {
		_, _ = stdout.Write(schema.Raw())
		return exitOK
	})
}

// bundleFlag is the -c/--config flag every bundle command takes.
func bundleFlag(fs *flag.FlagSet) *string {
	p := new(string)
	def := os.Getenv("CONFIG_EDITOR_BUNDLE")
	fs.StringVar(p, "c", def, "bundle: a directory (e.g. /conf/stack), a quay-config.tar.gz or a config.yaml")
	fs.StringVar(p, "config", def, "same as -c")
	return p
}

func parseFlags(fs *flag.FlagSet, args []string, stderr io.Writer) error {
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "%s: unexpected argument %q\n", fs.Name(), fs.Arg(0))
		return errUsage
	}
	return nil
}

func loadBundle(path string, stderr io.Writer) (*bundle.Bundle, bool) {
	if path == "" {
		fmt.Fprintln(stderr, "no bundle given: use -c DIR, -c quay-config.tar.gz or -c config.yaml")
		return nil, false
	}
	b, err := bundle.Read(path, bundle.Limits{})
	if err != nil {
		fmt.Fprintf(stderr, "cannot read bundle %s: %v\n", path, err)
		return nil, false
	}
	return b, true
}

func runValidate(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("validate", flag.ContinueOnError)
	path := bundleFlag(fs)
	mode := fs.String("mode", "offline", "offline (no network access at all) or online (connect to every service)")
	output := fs.String("o", "table", "output format: table or json")
	timeout := fs.Duration("timeout", validators.DefaultTimeout, "deadline of each online probe")
	groups := fs.String("groups", "", "comma-separated field groups to validate (default: all)")
	if parseFlags(fs, args, stderr) != nil {
		return exitUsage
	}
	m, err := validators.ParseMode(*mode)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitUsage
	}
	if *output != "table" && *output != "json" {
		fmt.Fprintf(stderr, "unknown output format %q (want table or json)\n", *output)
		return exitUsage
	}
	b, ok := loadBundle(*path, stderr)
	if !ok {
		return exitUsage
	}
	opts := validators.Options{Mode: m, Timeout: *timeout}
	if *groups != "" {
		for _, g := range strings.Split(*groups, ",") {
			g = strings.TrimSpace(g)
			if schema.Get().Group(g) == nil && g != "CustomCertificates" {
				fmt.Fprintf(stderr, "unknown field group %q\n", g)
				return exitUsage
			}
			opts.Groups = append(opts.Groups, g)
		}
	}
	var passed []problem.Problem
	if *output == "table" {
		opts.OnPassed = func(p problem.Problem) { passed = append(passed, p) }
	}
	start := time.Now()
	ps := validators.Validate(ctx, b, opts)
	if ctx.Err() != nil {
		// interrupted: the probes were cut short, their verdicts mean nothing
		return exitUsage
	}
	if *output == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if ps == nil {
			ps = []problem.Problem{}
		}
		_ = enc.Encode(ps)
	} else {
		writeTable(stdout, ps, passed, m, time.Since(start))
	}
	if problem.HasErrors(ps) {
		return exitInvalid
	}
	return exitOK
}

func writeTable(w io.Writer, ps, passed []problem.Problem, m validators.Mode, took time.Duration) {
	errs, warns := 0, 0
	for _, p := range ps {
		if p.Severity == problem.Error {
			errs++
		} else {
			warns++
		}
	}
	if len(ps) > 0 {
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "SEVERITY\tGROUP\tFIELD\tLINE\tMESSAGE")
		for _, p := range ps {
			field := p.Path.String()
			if field == "" {
				field = strings.Join(p.Tags, ",")
			}
			if field == "" {
				field = "-"
			}
			line := "-"
			if p.Line > 0 {
				line = fmt.Sprint(p.Line)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", p.Severity, p.FieldGroup, field, line, p.Message)
		}
		_ = tw.Flush()
		fmt.Fprintln(w)
	}
	if len(passed) > 0 {
		// what the online probes proved, so a clean run says what it checked
		problem.Sort(passed)
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "PASSED\tGROUP\tFIELD\tWHAT WAS PROVED")
		for _, p := range passed {
			fmt.Fprintf(tw, "ok\t%s\t%s\t%s\n", p.FieldGroup, p.Path, p.Message)
		}
		_ = tw.Flush()
		fmt.Fprintln(w)
	}
	verdict := "valid"
	if errs > 0 {
		verdict = "invalid"
	}
	fmt.Fprintf(w, "%s: %d error(s), %d warning(s) (%s validation, %s)\n", verdict, errs, warns, m, took.Round(time.Millisecond))
}

func runPrint(_ context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("print", flag.ContinueOnError)
	path := bundleFlag(fs)
	noDefaults := fs.Bool("no-defaults", false, "print only the keys the file sets")
	if parseFlags(fs, args, stderr) != nil {
		return exitUsage
	}
	b, ok := loadBundle(*path, stderr)
	if !ok {
		return exitUsage
	}
	cat := schema.Get()
	cfg := b.Config().Value()
	if !*noDefaults {
		cfg = cat.WithDefaults(cfg)
	}
	out, err := yaml.Marshal(cat.Redact(cfg))
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitUsage
	}
	_, _ = stdout.Write(out)
	return exitOK
}
