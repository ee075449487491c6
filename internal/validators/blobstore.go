package validators

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"path"
	"strings"

	"github.com/quay-tools/config-editor/internal/problem"
)

// The storage round trip, the online proof of DistributedStorage: for every
// location, write a small object under storage_path, read it back, compare,
// delete it. Each step that fails is reported on its own, with what the
// server answered, so a user can tell a wrong key from a missing bucket from
// a missing delete permission. The drivers are in blobstore_*.go.

// blobStore is the three operations a probe needs from a driver.
type blobStore interface {
	put(ctx context.Context, key string, data []byte) error
	get(ctx context.Context, key string) ([]byte, error)
	del(ctx context.Context, key string) error
	// explain turns a driver error into words and the argument it points
	// at ("" for the location itself).
	explain(op string, err error) (arg, msg string)
}

// storeSetupError is a configuration problem found before any request.
type storeSetupError struct{ arg, msg string }

func (e *storeSetupError) Error() string { return e.msg }

func argPathOrLoc(loc, arg string) *problem.Path {
	if arg == "" {
		return at("DISTRIBUTED_STORAGE_CONFIG").Key(loc)
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
		l.ErrorTags(groupStorage, at("DISTRIBUTED_STORAGE_CONFIG").Key(loc.Name), []string{"DISTRIBUTED_STORAGE_CONFIG"},
			"%s: the test object %q read back from %s differs from what was written (%d bytes instead of %d).", what, key, where, len(got), len(payload))
	}
	if err := st.del(ctx, key); err != nil {
		fail("delete", err, "the test object %q could not be deleted from %s (remove it by hand; Quay needs delete permission to garbage-collect)", key, where)
		return
	}
	if !problem.HasErrors(*l) {
		l.Passedf(groupStorage, at("DISTRIBUTED_STORAGE_CONFIG").Key(loc.Name), "%s: wrote, read back and deleted a test object in %s.", what, where)
	}
}
