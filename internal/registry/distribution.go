package registry

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/distribution/distribution/v3/configuration"
	"github.com/distribution/distribution/v3/registry/handlers"
	"github.com/quay-tools/config-editor/internal/problem"
)

func init() {
	// distribution's tracing exports spans to localhost:4318 unless told
	// otherwise; registry mode sends nothing anywhere it was not asked to.
	for _, k := range []string{"OTEL_TRACES_EXPORTER", "OTEL_METRICS_EXPORTER", "OTEL_LOGS_EXPORTER"} {
		if os.Getenv(k) == "" {
			_ = os.Setenv(k, "none")
		}
	}
	if os.Getenv("OTEL_SDK_DISABLED") == "" {
		_ = os.Setenv("OTEL_SDK_DISABLED", "true")
	}
}

// nonDistributableURLs lets manifests reference layers by URL (OCI
// non-distributable layers); distribution refuses every URL otherwise.
var nonDistributableURLs = []string{"^https?://"}

// distributionConfig is the runtime configuration handed to distribution.
// storageInstance and authInstance name the driver and access controller
// the runtime prepared; caFile holds the trusted roots for the Redis cache.
func (c *Config) distributionConfig(storageInstance, authInstance, caFile string) *configuration.Configuration {
	dc := &configuration.Configuration{Version: "0.1"}
	dc.Log.AccessLog.Disabled = true
	dc.Log.Level = "info"
	dc.HTTP.Host = c.BaseURL()
	dc.HTTP.Secret = c.HTTPSecret.Reveal()
	cache := "inmemory"
	if c.Redis != nil {
		cache = "redis"
		dc.Redis.Options.Addrs = []string{c.Redis.Addr}
		dc.Redis.Options.Username = c.Redis.Username
		dc.Redis.Options.Password = c.Redis.Password.Reveal()
		dc.Redis.Options.DB = c.Redis.DB
		if c.Redis.TLS {
			dc.Redis.TLS.RootCAs = []string{caFile}
		}
	}
	dc.Storage = configuration.Storage{
		handoffDriver: configuration.Parameters{"instance": storageInstance},
		"delete":      configuration.Parameters{"enabled": c.Delete},
		"redirect":    configuration.Parameters{"disable": c.RedirectDisabled},
		"cache":       configuration.Parameters{"blobdescriptor": cache},
	}
	dc.Auth = configuration.Auth{accessControllerName: configuration.Parameters{"instance": authInstance}}
	dc.Validation.Manifests.URLs.Allow = append([]string(nil), nonDistributableURLs...)
	return dc
}

// StartError is a configuration the runtime refused, with the config key
// it concerns.
type StartError struct {
	Key string // e.g. SERVER_HOSTNAME, BUILDLOGS_REDIS, DISTRIBUTED_STORAGE_CONFIG.local
	Msg string
}

func (e *StartError) Error() string {
	return fmt.Sprintf("%s: the registry runtime refused this setting: %s", e.Key, e.Msg)
}

// newApp builds distribution's application. handlers.NewApp panics on a
// configuration it cannot use; the panic becomes a StartError naming the
// config.yaml key behind the refused setting.
func (c *Config) newApp(ctx context.Context, dc *configuration.Configuration) (app *handlers.App, err error) {
	defer func() {
		if r := recover(); r != nil {
			msg := fmt.Sprint(r)
			err = &StartError{Key: c.keyFor(msg), Msg: msg}
		}
	}()
	return handlers.NewApp(ctx, dc), nil
}

// keyFor maps a message of distribution's to the config key behind it.
func (c *Config) keyFor(msg string) string {
	m := strings.ToLower(msg)
	switch {
	case strings.Contains(m, `"host"`) || strings.Contains(m, "http host"):
		return "SERVER_HOSTNAME"
	case strings.Contains(m, "redis"):
		if c.Redis != nil {
			return c.Redis.Key
		}
		return "BUILDLOGS_REDIS"
	case strings.Contains(m, "authorization") || strings.Contains(m, "access controller"):
		return "AUTHENTICATION_TYPE"
	case strings.Contains(m, "secret"):
		return "SECRET_KEY"
	case strings.Contains(m, "storage") || strings.Contains(m, "driver") || strings.Contains(m, "registry"):
		if p := c.Storage.Preferred(); p.Name != "" {
			return problem.NewPath("DISTRIBUTED_STORAGE_CONFIG").Key(p.Name).String()
		}
		return "DISTRIBUTED_STORAGE_CONFIG"
	}
	return "config.yaml"
}
