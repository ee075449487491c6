// Package drivertest holds the tests every storage driver of the registry
// runtime passes: distribution's conformance suite (testsuites.Driver) and
// the checks of this module's own about paths and deletes.
package drivertest

import (
	"context"
	"errors"
	"flag"
	"testing"

	storagedriver "github.com/distribution/distribution/v3/registry/storage/driver"
	"github.com/distribution/distribution/v3/registry/storage/driver/testsuites"
)

// Suite runs the conformance suite on the drivers open returns, in short
// mode: its 5 GB streams are skipped, everything else runs.
func Suite(t *testing.T, open func() storagedriver.StorageDriver) {
	t.Helper()
	if !testing.Short() {
		_ = flag.Set("test.short", "true")
		defer func() { _ = flag.Set("test.short", "false") }()
	}
	testsuites.Driver(t, func() (storagedriver.StorageDriver, error) { return open(), nil }, false)
}

// DotSegmentsRefused checks that every call taking a path refuses "." and
// ".." segments, which distribution's path pattern lets through but which
// would name something outside the driver's root, before contacting any
// storage.
func DotSegmentsRefused(t *testing.T, d storagedriver.StorageDriver) {
	t.Helper()
	ctx := context.Background()
	for _, p := range []string{"/../outside", "/a/../../outside", "/a/./b", "/a/.", "/.."} {
		calls := map[string]error{}
		calls["PutContent"] = d.PutContent(ctx, p, []byte("x"))
		_, calls["GetContent"] = d.GetContent(ctx, p)
		_, calls["Reader"] = d.Reader(ctx, p, 0)
		_, calls["Writer"] = d.Writer(ctx, p, false)
		_, calls["Stat"] = d.Stat(ctx, p)
		_, calls["List"] = d.List(ctx, p)
		calls["Move from"] = d.Move(ctx, p, "/dot-segments/target")
		calls["Move to"] = d.Move(ctx, "/dot-segments/source", p)
		calls["Delete"] = d.Delete(ctx, p)
		for call, err := range calls {
			if !errors.As(err, new(storagedriver.InvalidPathError)) {
				t.Errorf("%s(%q) = %v, want InvalidPathError", call, p, err)
			}
		}
	}
}

// DeleteKeepsSiblings checks that deleting a path removes it and all that
// is below it, and nothing that merely shares its name's prefix. Where the
// store can hold an object at the path itself beside the ones below it
// (objectAndPrefix: Azure; not a filesystem, nor versitygw's), Delete
// removes both.
func DeleteKeepsSiblings(t *testing.T, d storagedriver.StorageDriver, objectAndPrefix bool) {
	t.Helper()
	ctx := context.Background()
	paths := []string{"/a/b/x", "/a/b/y/z", "/a/bcd", "/a/bc/d", "/a/b-"}
	if objectAndPrefix {
		paths = append(paths, "/a/b")
	}
	for _, p := range paths {
		if err := d.PutContent(ctx, p, []byte(p)); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.Delete(ctx, "/a/b"); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/a/b", "/a/b/x", "/a/b/y/z"} {
		if _, err := d.GetContent(ctx, p); !errors.As(err, new(storagedriver.PathNotFoundError)) {
			t.Errorf("%s after Delete(/a/b): %v", p, err)
		}
	}
	for _, p := range []string{"/a/bcd", "/a/bc/d", "/a/b-"} {
		if got, err := d.GetContent(ctx, p); err != nil || string(got) != p {
			t.Errorf("%s after Delete(/a/b): %q, %v", p, got, err)
		}
	}
	if err := d.Delete(ctx, "/a/b"); !errors.As(err, new(storagedriver.PathNotFoundError)) {
		t.Errorf("second Delete(/a/b): %v, want PathNotFoundError", err)
	}
}
