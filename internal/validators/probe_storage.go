package validators

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"path"
	"strings"

	"github.com/quay-tools/config-editor/internal/problem"
)

// The online proof of DistributedStorage: for every location, write a small
// object under storage_path, read it back, compare, delete it. Each step
// that fails is reported on its own, with what the server answered, so a
// user can tell a wrong key from a missing bucket from a missing delete
// permission. One probe per location, named after it.

func init() { probes[groupStorage] = storageProbes }

// blobStore is the three operations a probe needs from a driver.
type blobStore interface {
	put(ctx context.Context, key string, data []byte) error
	get(ctx context.Context, key string) ([]byte, error)
	del(ctx context.Context, key string) error
	// explain turns a driver error into words and the argument it points
	// at ("" for the location itself).
	explain(op string, err error) (arg, msg string)
}

func storageProbes(c *Context) []Probe {
	var out []Probe
	for _, loc := range c.StorageLocations() {
		d := c.Cat.Driver(loc.Driver)
		if d == nil || missingRequired(loc, d.Required) {
			continue // the schema or the offline rules already said why
		}
		loc := loc
		out = append(out, Probe{
			Name: fmt.Sprintf("storage location %q", loc.Name),
			Run:  func(ctx context.Context, l *problem.List) { c.probeLocation(ctx, l, loc) },
		})
	}
	return out
}

func missingRequired(loc StorageLocation, required []string) bool {
	for _, r := range required {
		if argMissing(loc.Args, r) {
			return true
		}
	}
	return false
}

// argMissing reports whether a required driver argument is absent, null or
// an empty string (false, 0, mappings and lists are values).
func argMissing(args map[string]any, name string) bool {
	v, ok := args[name]
	if !ok || v == nil {
		return true
	}
	s, isStr := v.(string)
	return isStr && s == ""
}

func (c *Context) probeLocation(ctx context.Context, l *problem.List, loc StorageLocation) {
	what := fmt.Sprintf("Storage location %q (%s)", loc.Name, loc.Driver)
	var (
		st    blobStore
		where string
		err   error
	)
	switch loc.Driver {
	case "LocalStorage":
		c.probeLocal(l, loc)
		return
	case "S3Storage", "CloudFrontedS3Storage", "CloudFlareStorage", "AkamaiS3Storage":
		st, where, err = c.s3Store(ctx, loc.Args, s3Names)
	case "MultiCDNStorage":
		inner, _ := loc.Args["storage_config"].(map[string]any)
		st, where, err = c.s3Store(ctx, inner, s3Names)
	case "RadosGWStorage", "RHOCSStorage", "IBMCloudStorage":
		st, where, err = c.s3Store(ctx, loc.Args, gatewayNames)
	case "GoogleCloudStorage":
		st, where, err = c.s3Store(ctx, loc.Args, gcsNames)
	case "STSS3Storage":
		st, where, err = c.stsStore(ctx, loc)
	case "AzureStorage":
		st, where, err = c.azureStore(ctx, loc)
	case "SwiftStorage":
		st, where, err = c.swiftStore(ctx, loc)
	default:
		l.WarnTags(groupStorage, at("DISTRIBUTED_STORAGE_CONFIG", loc.Name).Index(0), []string{"DISTRIBUTED_STORAGE_CONFIG"},
			"%s: no online check exists for this driver; only the offline rules were applied.", what)
		return
	}
	if err != nil {
		var se *storeSetupError
		if errors.As(err, &se) {
			l.ErrorTags(groupStorage, argPathOrLoc(loc.Name, se.arg), []string{"DISTRIBUTED_STORAGE_CONFIG"}, "%s: %s.", what, se.msg)
			return
		}
		l.ErrorTags(groupStorage, at("DISTRIBUTED_STORAGE_CONFIG", loc.Name), []string{"DISTRIBUTED_STORAGE_CONFIG"},
			"%s: could not set up a client for %s: %s.", what, where, netWords(err))
		return
	}
	runStoreProbe(ctx, l, loc, what, where, probePrefix(loc), st)
}

// storeSetupError is a configuration problem found before any request.
type storeSetupError struct{ arg, msg string }

func (e *storeSetupError) Error() string { return e.msg }

func argPathOrLoc(loc, arg string) *problem.Path {
	if arg == "" {
		return at("DISTRIBUTED_STORAGE_CONFIG", loc)
	}
	return locationArgPath(loc, arg)
}

// probePrefix is storage_path without its leading slash: object stores
// have no root, and Quay strips it the same way.
func probePrefix(loc StorageLocation) string {
	p := loc.Arg("storage_path")
	if loc.Driver == "MultiCDNStorage" {
		if inner, ok := loc.Args["storage_config"].(map[string]any); ok {
			p = AsString(inner["storage_path"])
		}
	}
	return strings.Trim(p, "/")
}

// probeObjectName is a fresh, recognisable name so that a left-over object
// is obviously ours.
func probeObjectName() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return ".config-editor-probe-" + hex.EncodeToString(b[:])
}

func runStoreProbe(ctx context.Context, l *problem.List, loc StorageLocation, what, where, prefix string, st blobStore) {
	key := path.Join(prefix, probeObjectName())
	payload := []byte("config-editor storage probe " + key + "\n")
	fail := func(op string, err error, format string, args ...any) {
		arg, msg := st.explain(op, err)
		l.ErrorTags(groupStorage, argPathOrLoc(loc.Name, arg), []string{"DISTRIBUTED_STORAGE_CONFIG"},
			"%s: "+format+": %s.", append(append([]any{what}, args...), msg)...)
	}
	if err := st.put(ctx, key, payload); err != nil {
		fail("write", err, "writing a test object %q to %s failed", key, where)
		return
	}
	got, err := st.get(ctx, key)
	switch {
	case err != nil:
		fail("read", err, "the test object %q was written to %s, but reading it back failed", key, where)
	case !bytes.Equal(got, payload):
		l.ErrorTags(groupStorage, at("DISTRIBUTED_STORAGE_CONFIG", loc.Name), []string{"DISTRIBUTED_STORAGE_CONFIG"},
			"%s: the test object %q read back from %s differs from what was written (%d bytes instead of %d).", what, key, where, len(got), len(payload))
	}
	if err := st.del(ctx, key); err != nil {
		fail("delete", err, "the test object %q could not be deleted from %s (remove it by hand; Quay needs delete permission to garbage-collect)", key, where)
		return
	}
	if !problem.HasErrors(*l) {
		l.Passedf(groupStorage, at("DISTRIBUTED_STORAGE_CONFIG", loc.Name), "%s: wrote, read back and deleted a test object in %s.", what, where)
	}
}

// netWords describes a transport error without the request URL (which may
// carry a SAS token or other credentials in its query).
func netWords(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	if strings.Contains(err.Error(), "server gave HTTP response to HTTPS client") {
		return "TLS: the server did not answer with TLS but with plain HTTP (is TLS enabled on that port, or should the URL be http?)"
	}
	return describeErr(err)
}

// argBool reads a boolean argument written as a YAML bool or a string.
func argBool(v any) (val, ok bool) {
	switch x := v.(type) {
	case bool:
		return x, true
	case string:
		switch strings.ToLower(strings.TrimSpace(x)) {
		case "true", "yes", "1":
			return true, true
		case "false", "no", "0":
			return false, true
		}
	}
	return false, false
}
