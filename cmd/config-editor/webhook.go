package main

// The validating admission webhook: flags and wiring only; internal/webhook
// does the work.

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/quay-tools/config-editor/internal/webhook"
)

func init() {
	register("webhook", "validating admission webhook: review bundle Secrets when they are written to the cluster", runWebhook)
}

func runWebhook(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("webhook", flag.ContinueOnError)
	certFile := fs.String("tls-cert", "", "serving certificate (PEM), reloaded when it changes (required)")
	keyFile := fs.String("tls-key", "", "its private key (PEM) (required)")
	addr := fs.String("addr", ":8443", "HTTPS listen address")
	kubeconfig := fs.String("kubeconfig", "", "kubeconfig file (default $KUBECONFIG, then ~/.kube/config; in a pod: the in-cluster config)")
	kubecontext := fs.String("context", "", "kubeconfig context (default: the current one)")
	namespace := fs.String("namespace", "", "watch the QuayRegistries of this namespace only (default: all namespaces)")
	secretTimeout := fs.Duration("secret-timeout", webhook.DefaultSecretTimeout, "bound of the Get of the Secret a QuayRegistry switches to")
	logFormat := fs.String("log-format", "text", "log format: text or json")
	if parseFlags(fs, args, stderr) != nil {
		return exitUsage
	}
	if *certFile == "" || *keyFile == "" {
		fmt.Fprintln(stderr, "webhook: --tls-cert and --tls-key are required (the API server calls webhooks over HTTPS only)")
		return exitUsage
	}
	var h slog.Handler
	switch *logFormat {
	case "text":
		h = slog.NewTextHandler(stderr, nil)
	case "json":
		h = slog.NewJSONHandler(stderr, nil)
	default:
		fmt.Fprintf(stderr, "webhook: unknown --log-format %q (want text or json)\n", *logFormat)
		return exitUsage
	}
	log := slog.New(h)
	certs, err := webhook.NewCertReloader(*certFile, *keyFile)
	if err != nil {
		fmt.Fprintf(stderr, "webhook: %v\n", err)
		return exitUsage
	}
	clients, err := webhook.Connect(*kubeconfig, *kubecontext, nil)
	if err != nil {
		fmt.Fprintf(stderr, "webhook: %v\n", err)
		return exitCluster
	}
	cache := webhook.NewCache(clients.Dynamic, *namespace)
	srv := &webhook.Server{
		Reviewer: &webhook.Reviewer{Registries: cache, GetSecret: clients.SecretGetter(0), SecretTimeout: *secretTimeout},
		Log:      log,
		Ready:    cache.Synced,
	}
	l, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintf(stderr, "webhook: %v\n", err)
		return exitUsage
	}
	hs := &http.Server{
		Handler:           srv.Handler(),
		TLSConfig:         certs.TLSConfig(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(h, slog.LevelWarn),
	}
	ictx, stopInformer := context.WithCancel(ctx)
	defer stopInformer()
	go cache.Run(ictx)
	go func() {
		if cache.WaitSynced(ictx) {
			log.Info("QuayRegistry cache synced; ready", "cluster", clients.Where)
		}
	}()
	errc := make(chan error, 1)
	go func() { errc <- hs.ServeTLS(l, "", "") }()
	log.Info("webhook listening", "addr", l.Addr().String(), "cluster", clients.Where)
	fmt.Fprintf(stdout, "config-editor webhook listening on https://%s/validate\n", l.Addr())
	select {
	case err := <-errc:
		fmt.Fprintf(stderr, "webhook: %v\n", err)
		return exitCluster
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintf(stderr, "webhook: shutdown: %v\n", err)
	}
	log.Info("webhook stopped")
	return exitOK
}
