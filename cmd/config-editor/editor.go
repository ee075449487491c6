package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/quay-tools/config-editor/internal/editor"
	"github.com/quay-tools/config-editor/internal/operator"
	"github.com/quay-tools/config-editor/internal/secret"
)

func init() {
	register("editor", "run the web editor and the /api/v1/config API (alias: config <password>)", runEditor)
}

// runEditor starts the editor. The password comes from -p, from
// CONFIG_EDITOR_PASSWORD, or (the historical container form
// "config <password>") from the single positional argument.
func runEditor(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("editor", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := bundleFlag(fs)
	password := fs.String("p", "", "password of the user quayconfig (or env CONFIG_EDITOR_PASSWORD)")
	fs.StringVar(password, "password", "", "same as -p")
	addr := fs.String("addr", ":8080", "address to listen on")
	cert := fs.String("tls-cert", os.Getenv("CONFIG_TOOL_PUBLIC_KEY"), "TLS certificate PEM file (or env CONFIG_TOOL_PUBLIC_KEY)")
	key := fs.String("tls-key", os.Getenv("CONFIG_TOOL_PRIVATE_KEY"), "TLS private key PEM file (or env CONFIG_TOOL_PRIVATE_KEY)")
	readOnly := fs.String("r", "", "comma-separated field groups shown read-only (e.g. those the Operator manages)")
	logFormat := fs.String("log-format", "text", "log format: text or json")
	logLevel := fs.String("log-level", "info", "log level: debug, info, warn or error")
	opMode := fs.Bool("operator", false, "Operator mode: load the bundle from a QuayRegistry's configBundleSecret and push to it (see the cluster flags)")
	keep := fs.Int("keep", operator.DefaultKeep, "Operator mode: bundle Secrets a push keeps (-1: never delete)")
	cf := addClusterFlags(fs)
	proxies := fs.String("trusted-proxies", os.Getenv("CONFIG_EDITOR_TRUSTED_PROXIES"),
		"comma-separated CIDRs of reverse proxies whose X-Forwarded-For names the client (or env CONFIG_EDITOR_TRUSTED_PROXIES)")
	stateDir := fs.String("state-dir", os.Getenv("CONFIG_EDITOR_STATE_DIR"),
		"directory keeping each user's working copy across logouts and restarts (or env CONFIG_EDITOR_STATE_DIR; default: next to the bundle, .<name>.config-editor-state; a temp dir when not writable)")
	generate := fs.Bool("generate-password", false, "when no password is given, generate a random one for this start and print it once on stdout")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	// The historical form passes the password as the one positional
	// argument, before or after the flags.
	positional := false
	if fs.NArg() > 0 && *password == "" {
		positional = true
		*password = fs.Arg(0)
		if err := fs.Parse(fs.Args()[1:]); err != nil {
			return exitUsage
		}
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "editor: unexpected argument %q\n", fs.Arg(0))
		return exitUsage
	}
	if *password == "" {
		*password = os.Getenv("CONFIG_EDITOR_PASSWORD")
	}
	if *password == "" && *generate {
		*password = randomPassword()
		fmt.Fprintf(stdout, "config-editor: no password given, so one was generated for this start (it is not stored or logged):\n\n    user: %s\n    password: %s\n\n", editor.User, *password)
	}
	if *password == "" {
		fmt.Fprintln(stderr, "editor: no password: give -p PASSWORD or set CONFIG_EDITOR_PASSWORD (the editor never runs without authentication)")
		return exitUsage
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(*logLevel)); err != nil {
		fmt.Fprintf(stderr, "editor: unknown log level %q\n", *logLevel)
		return exitUsage
	}
	hopts := &slog.HandlerOptions{Level: lvl}
	var h slog.Handler
	switch *logFormat {
	case "text":
		h = slog.NewTextHandler(stderr, hopts)
	case "json":
		h = slog.NewJSONHandler(stderr, hopts)
	default:
		fmt.Fprintf(stderr, "editor: unknown log format %q (want text or json)\n", *logFormat)
		return exitUsage
	}
	var groups []string
	for _, g := range strings.Split(*readOnly, ",") {
		if g = strings.TrimSpace(g); g != "" {
			groups = append(groups, g)
		}
	}
	var op *editor.Operator
	if *opMode {
		if *path != "" {
			fmt.Fprintln(stderr, "editor: --operator loads the bundle from the cluster; do not give -c as well")
			return exitUsage
		}
		c, ok := cf.connect(stderr)
		if !ok {
			return exitCluster
		}
		var err error
		if op, err = editor.NewOperator(ctx, c, *keep); err != nil {
			fmt.Fprintf(stderr, "editor: %v\n", err)
			return exitCluster
		}
		defer op.Close()
		*path = op.Dir()
		groups = append(groups, op.ReadOnlyGroups()...)
	}
	srv, err := editor.New(editor.Config{
		Operator:       op,
		BundlePath:     *path,
		StateDir:       *stateDir,
		Password:       secret.New(*password),
		Addr:           *addr,
		TLSCert:        *cert,
		TLSKey:         *key,
		ReadOnlyGroups: groups,
		TrustedProxies: strings.Split(*proxies, ","),
		Version:        version,
		Logger:         slog.New(h),
	})
	if err != nil {
		fmt.Fprintf(stderr, "editor: %v\n", err)
		return exitUsage
	}
	if positional {
		slog.New(h).Warn("the password was given as a command-line argument, which ps shows to every local user for the life of this process; " +
			"pass it in CONFIG_EDITOR_PASSWORD instead (the container entry point does)")
	}
	if err := srv.Run(ctx); err != nil {
		fmt.Fprintf(stderr, "editor: %v\n", err)
		return exitInvalid
	}
	return exitOK
}

// randomPassword is 144 random bits, URL-safe.
func randomPassword() string {
	var b [18]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}
