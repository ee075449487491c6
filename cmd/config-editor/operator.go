package main

// Operator mode on the command line: push, history (diff, rollback) and
// manifests. Flags and printing only; internal/operator does the work.

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/quay-tools/config-editor/internal/bundle"
	"github.com/quay-tools/config-editor/internal/operator"
	"github.com/quay-tools/config-editor/internal/problem"
	"github.com/quay-tools/config-editor/internal/schema"
	"github.com/quay-tools/config-editor/internal/validators"
)

// exitCluster: the cluster could not be reached or refused the request
// (connection, credentials, RBAC, missing CRD or registry, conflict).
const exitCluster = 3

func init() {
	register("push", "push a bundle to a QuayRegistry's configBundleSecret (Operator mode)", runPush)
	register("history", "list, diff or roll back a QuayRegistry's bundle Secrets", runHistory)
	register("manifests", "print QuayRegistry manifests for a bundle (one per cluster when geo-replicated)", runManifests)
}

// clusterFlags are the flags of every Operator-mode command.
type clusterFlags struct {
	kubeconfig, context, namespace, registry *string
	timeout                                  *time.Duration
}

func addClusterFlags(fs *flag.FlagSet) *clusterFlags {
	f := &clusterFlags{
		kubeconfig: fs.String("kubeconfig", "", "kubeconfig file (default $KUBECONFIG, then ~/.kube/config; in a pod: the in-cluster config)"),
		context:    fs.String("context", "", "kubeconfig context (default: the current one)"),
		namespace:  fs.String("namespace", "", "namespace of the QuayRegistry (default: the context's, or MY_POD_NAMESPACE)"),
		registry:   fs.String("registry", "", "name of the QuayRegistry (default: from MY_POD_NAME, <registry>-quay-config-editor-…)"),
		timeout:    fs.Duration("timeout", operator.DefaultTimeout, "bound of each Kubernetes API call"),
	}
	fs.StringVar(f.namespace, "n", "", "same as --namespace")
	return f
}

func (f *clusterFlags) connect(stderr io.Writer) (*operator.Client, bool) {
	c, err := operator.Connect(operator.Options{
		Kubeconfig: *f.kubeconfig, Context: *f.context, Namespace: *f.namespace, Registry: *f.registry,
		Timeout: *f.timeout, UserAgent: "config-editor/" + version,
	})
	if err != nil {
		fmt.Fprintf(stderr, "%v\n", err)
		return nil, false
	}
	return c, true
}

func clusterExit(stderr io.Writer, err error) int {
	fmt.Fprintf(stderr, "%v\n", err)
	switch operator.KindOf(err) {
	case operator.ErrRefused, operator.ErrInvalid:
		return exitInvalid
	}
	return exitCluster
}

func runPush(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("push", flag.ContinueOnError)
	path := bundleFlag(fs)
	fromCluster := fs.Bool("from-cluster", false, "push the registry's current bundle again (re-checks it; writes nothing when unchanged)")
	force := fs.Bool("force", false, "push even when validation or the Operator pre-flight finds errors")
	mode := fs.String("mode", "offline", "validation before the push: offline or online")
	keep := fs.Int("keep", operator.DefaultKeep, "bundle Secrets to keep (the current and the previous one are always kept; -1: never delete)")
	wait := fs.Bool("wait", false, "follow the rollout until the registry is available, or fails")
	waitTimeout := fs.Duration("wait-timeout", 15*time.Minute, "give up waiting after this long (exit 1)")
	cf := addClusterFlags(fs)
	if parseFlags(fs, args, stderr) != nil {
		return exitUsage
	}
	m, err := validators.ParseMode(*mode)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitUsage
	}
	if (*path == "") == !*fromCluster {
		fmt.Fprintln(stderr, "push: give either -c DIR|quay-config.tar.gz|config.yaml or --from-cluster")
		return exitUsage
	}
	var b *bundle.Bundle
	if *path != "" {
		var ok bool
		if b, ok = loadBundle(*path, stderr); !ok {
			return exitUsage
		}
	}
	c, ok := cf.connect(stderr)
	if !ok {
		return exitCluster
	}
	if *fromCluster {
		l, err := c.Load(ctx)
		if err != nil {
			return clusterExit(stderr, err)
		}
		b = l.Bundle
	}
	res, err := c.Push(ctx, b, operator.PushOptions{
		Force: *force, Keep: *keep, Source: "cli",
		Validate: func(ctx context.Context, b *bundle.Bundle) []problem.Problem {
			return validators.Validate(ctx, b, validators.Options{Mode: m})
		},
	})
	if len(res.Problems) > 0 {
		writeTable(stdout, res.Problems, nil, m, 0)
	}
	for _, k := range res.Kept {
		fmt.Fprintf(stdout, "kept the cluster's %s: the Operator manages it\n", k)
	}
	if err != nil {
		return clusterExit(stderr, err)
	}
	switch {
	case res.Unchanged:
		fmt.Fprintf(stdout, "unchanged: %s already uses this content (Secret %s); nothing was written\n", c.Ref(), res.Secret)
		return exitOK
	case res.Created:
		fmt.Fprintf(stdout, "created Secret %s/%s\n", c.Namespace, res.Secret)
	default:
		fmt.Fprintf(stdout, "reused Secret %s/%s (same content pushed before)\n", c.Namespace, res.Secret)
	}
	fmt.Fprintf(stdout, "%s now uses configBundleSecret %s (was %s)\n", c.Ref(), res.Secret, orNone(res.Previous))
	if len(res.Deleted) > 0 {
		fmt.Fprintf(stdout, "deleted old bundle Secrets: %s\n", strings.Join(res.Deleted, ", "))
	}
	if *wait {
		return waitRollout(ctx, c, res.Baseline, *waitTimeout, stdout, stderr)
	}
	return exitOK
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// waitRollout prints each change of the registry's status until the
// rollout settles: exit 0 when available, 1 on failure or timeout.
func waitRollout(ctx context.Context, c *operator.Client, base operator.Baseline, timeout time.Duration, stdout, stderr io.Writer) int {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	prev := ""
	last, err := c.Watch(ctx, base, func(r operator.Rollout) bool {
		if line := r.Describe(); line != prev {
			fmt.Fprintf(stdout, "%s  %s\n", time.Now().Format("15:04:05"), line)
			prev = line
		}
		return true
	})
	if err != nil {
		fmt.Fprintf(stderr, "%v\n", err)
		return exitInvalid
	}
	if last.Phase == operator.PhaseFailed {
		fmt.Fprintf(stderr, "rollout failed: %s: %s\n", last.Reason, last.Message)
		return exitInvalid
	}
	fmt.Fprintf(stdout, "rollout done: %s available", c.Ref())
	if last.Status.RegistryEndpoint != "" {
		fmt.Fprintf(stdout, " at %s", last.Status.RegistryEndpoint)
	}
	if last.Status.CurrentVersion != "" {
		fmt.Fprintf(stdout, " (Quay %s)", last.Status.CurrentVersion)
	}
	fmt.Fprintln(stdout)
	return exitOK
}

func runHistory(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("history", flag.ContinueOnError)
	fs.SetOutput(stderr)
	force := fs.Bool("force", false, "rollback: even when the pre-flight finds errors")
	keep := fs.Int("keep", operator.DefaultKeep, "rollback: bundle Secrets to keep (-1: never delete)")
	wait := fs.Bool("wait", false, "rollback: follow the rollout")
	waitTimeout := fs.Duration("wait-timeout", 15*time.Minute, "rollback: give up waiting after this long")
	cf := addClusterFlags(fs)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: config-editor history [flags]                 list the bundle Secrets, newest first")
		fmt.Fprintln(stderr, "       config-editor history [flags] diff FROM [TO]  what changed (TO: the current one; secrets masked)")
		fmt.Fprintln(stderr, "       config-editor history [flags] rollback NAME   point the registry back at a bundle Secret")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	rest := fs.Args()
	// flags may also follow the subcommand and its arguments
	var pos []string
	for len(rest) > 0 {
		pos = append(pos, rest[0])
		if err := fs.Parse(rest[1:]); err != nil {
			return exitUsage
		}
		rest = fs.Args()
	}
	c, ok := cf.connect(stderr)
	if !ok {
		return exitCluster
	}
	if len(pos) == 0 {
		hist, qr, err := c.History(ctx)
		if err != nil {
			return clusterExit(stderr, err)
		}
		fmt.Fprintf(stdout, "%s, configBundleSecret %s\n", c.Ref(), orNone(qr.Spec.ConfigBundleSecret))
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "CURRENT\tSECRET\tPUSHED\tBY\tSOURCE\tREPLACED")
		for _, r := range hist {
			cur := ""
			if r.Current {
				cur = "*"
			}
			by, src := r.PushedBy, r.Source
			if !r.Ours {
				src = "(not config-editor)"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", cur, r.Secret, r.PushedAt.UTC().Format(time.RFC3339), dash(by), dash(src), dash(r.Previous))
		}
		_ = tw.Flush()
		return exitOK
	}
	switch pos[0] {
	case "diff":
		if len(pos) < 2 || len(pos) > 3 {
			fs.Usage()
			return exitUsage
		}
		from, to := pos[1], ""
		if len(pos) == 3 {
			to = pos[2]
		} else {
			qr, err := c.Get(ctx)
			if err != nil {
				return clusterExit(stderr, err)
			}
			to = qr.Spec.ConfigBundleSecret
		}
		changes, err := c.DiffSecrets(ctx, from, to)
		if err != nil {
			return clusterExit(stderr, err)
		}
		fmt.Fprintf(stdout, "--- %s\n+++ %s\n", from, to)
		for _, ch := range changes {
			fmt.Fprintln(stdout, ch.String())
		}
		if len(changes) == 0 {
			fmt.Fprintln(stdout, "(no differences)")
		}
		return exitOK
	case "rollback":
		if len(pos) != 2 {
			fs.Usage()
			return exitUsage
		}
		res, err := c.Rollback(ctx, pos[1], operator.PushOptions{Force: *force, Keep: *keep, Source: "cli"})
		if len(res.Problems) > 0 {
			writeTable(stdout, res.Problems, nil, validators.Offline, 0)
		}
		if err != nil {
			return clusterExit(stderr, err)
		}
		if res.Unchanged {
			fmt.Fprintf(stdout, "unchanged: %s already uses %s\n", c.Ref(), res.Secret)
			return exitOK
		}
		fmt.Fprintf(stdout, "%s now uses configBundleSecret %s (was %s)\n", c.Ref(), res.Secret, orNone(res.Previous))
		if *wait {
			return waitRollout(ctx, c, res.Baseline, *waitTimeout, stdout, stderr)
		}
		return exitOK
	}
	fmt.Fprintf(stderr, "history: unknown subcommand %q (want diff or rollback)\n", pos[0])
	return exitUsage
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func runManifests(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("manifests", flag.ContinueOnError)
	path := bundleFlag(fs)
	name := fs.String("name", "", "QuayRegistry name (default example-registry, or --registry)")
	namespace := fs.String("ns", "", "namespace in the manifests (default quay-enterprise, or --namespace)")
	secret := fs.String("secret", "", "configBundleSecret name (default <name>-config-bundle)")
	fromCluster := fs.Bool("from-cluster", false, "use the registry's current bundle (needs --registry etc.)")
	cf := addClusterFlags(fs)
	if parseFlags(fs, args, stderr) != nil {
		return exitUsage
	}
	if (*path == "") == !*fromCluster {
		fmt.Fprintln(stderr, "manifests: give either -c DIR|quay-config.tar.gz|config.yaml or --from-cluster")
		return exitUsage
	}
	o := operator.ManifestOptions{Name: *name, Namespace: *namespace, Secret: *secret}
	var b *bundle.Bundle
	if *fromCluster {
		c, ok := cf.connect(stderr)
		if !ok {
			return exitCluster
		}
		l, err := c.Load(ctx)
		if err != nil {
			return clusterExit(stderr, err)
		}
		b = l.Bundle
		if o.Name == "" {
			o.Name = c.Registry
		}
		if o.Namespace == "" {
			o.Namespace = c.Namespace
		}
		if o.Secret == "" {
			o.Secret = l.Secret
		}
	} else {
		var ok bool
		if b, ok = loadBundle(*path, stderr); !ok {
			return exitUsage
		}
		if o.Name == "" {
			o.Name = *cf.registry
		}
		if o.Namespace == "" {
			o.Namespace = *cf.namespace
		}
	}
	ms := operator.Manifests(b, o)
	fmt.Fprintf(stdout, "# Store the bundle as the configBundleSecret first (from the bundle's directory):\n#   %s\n", operator.SecretCommand(b, o))
	if len(ms) > 1 {
		fmt.Fprintf(stdout, "# Geo-replicated bundle: one QuayRegistry per cluster, all sharing that Secret.\n")
	}
	if ps := operator.Preflight(operator.Spec{Components: ms[0].Components}, b, schema.Get(), time.Time{}); len(ps) > 0 {
		for _, p := range ps {
			fmt.Fprintf(stdout, "# pre-flight %s: %s\n", p.Severity, p.Message)
		}
	}
	_, _ = stdout.Write(operator.JoinManifests(ms))
	return exitOK
}
