package fsdriver

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	storagedriver "github.com/distribution/distribution/v3/registry/storage/driver"

	"github.com/quay-tools/config-editor/internal/registry/internal/drivertest"
)

// TestSuite runs distribution's storage driver conformance suite on a
// temporary directory (its 5 GB streams are skipped in short mode).
func TestSuite(t *testing.T) {
	drivertest.Suite(t, func() storagedriver.StorageDriver {
		d, err := New(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		return d
	})
}

func TestNewRefusesRelativeAndEmptyRoots(t *testing.T) {
	for _, root := range []string{"", "relative/dir"} {
		if _, err := New(root); err == nil {
			t.Errorf("New(%q) accepted", root)
		}
	}
	d, err := FromParameters(map[string]any{"rootdirectory": "/var/lib/x/"})
	if err != nil || d.root != "/var/lib/x" {
		t.Errorf("FromParameters: %v, root %q", err, d.root)
	}
}

// PutContent replaces a file whole: no temporary file is left beside it
// and the old content is gone.
func TestPutContentLeavesNoTemporaryFile(t *testing.T) {
	root := t.TempDir()
	d, _ := New(root)
	ctx := context.Background()
	for _, s := range []string{"first, longer content", "second"} {
		if err := d.PutContent(ctx, "/a/b", []byte(s)); err != nil {
			t.Fatal(err)
		}
	}
	got, err := d.GetContent(ctx, "/a/b")
	if err != nil || string(got) != "second" {
		t.Fatalf("GetContent = %q, %v", got, err)
	}
	entries, _ := os.ReadDir(filepath.Join(root, "a"))
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want only b", len(entries))
	}
}

// A writer resumed with append continues where the first one stopped.
func TestWriterAppendResumes(t *testing.T) {
	d, _ := New(t.TempDir())
	ctx := context.Background()
	w, _ := d.Writer(ctx, "/up", false)
	_, _ = w.Write([]byte("hello "))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	w, err := d.Writer(ctx, "/up", true)
	if err != nil || w.Size() != 6 {
		t.Fatalf("resumed writer: size %d, %v", w.Size(), err)
	}
	_, _ = w.Write([]byte("world"))
	if err := w.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte("x")); err == nil {
		t.Error("write after commit accepted")
	}
	_ = w.Close()
	got, _ := d.GetContent(ctx, "/up")
	if string(got) != "hello world" {
		t.Errorf("content %q", got)
	}
}

// Paths that would leave the root are refused, though ".." matches
// distribution's path pattern.
func TestPathsOutsideTheRootAreRefused(t *testing.T) {
	root := t.TempDir()
	d, _ := New(filepath.Join(root, "store"))
	ctx := context.Background()
	for _, p := range []string{"../etc/passwd", "/../outside", "/a/../../outside", "/a/./b", "/a/.", "/.."} {
		var inv storagedriver.InvalidPathError
		if err := d.PutContent(ctx, p, []byte("x")); !errors.As(err, &inv) {
			t.Errorf("PutContent(%q): %v, want InvalidPathError", p, err)
		}
		if _, err := d.Stat(ctx, p); !errors.As(err, &inv) {
			t.Errorf("Stat(%q): %v, want InvalidPathError", p, err)
		}
	}
	if _, err := os.Stat(filepath.Join(root, "outside")); err == nil {
		t.Error("a file was written outside the root")
	}
	// names that merely contain dots stay valid
	if err := d.PutContent(ctx, "/a/..b/c.d/...", []byte("x")); err != nil {
		t.Errorf("dotted names: %v", err)
	}
}

func TestPathsWithDotSegmentsAreRefused(t *testing.T) {
	d, err := New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	drivertest.DotSegmentsRefused(t, d)
}

func TestDeleteKeepsSiblingsWithTheSamePrefix(t *testing.T) {
	d, err := New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	drivertest.DeleteKeepsSiblings(t, d, false)
}

// Listing or reading below a file reports "not found", not an OS error.
func TestBelowAFileIsNotFound(t *testing.T) {
	d, _ := New(t.TempDir())
	ctx := context.Background()
	if err := d.PutContent(ctx, "/f", []byte("x")); err != nil {
		t.Fatal(err)
	}
	var nf storagedriver.PathNotFoundError
	if _, err := d.List(ctx, "/f"); !errors.As(err, &nf) {
		t.Errorf("List of a file: %v, want PathNotFoundError", err)
	}
	if _, err := d.GetContent(ctx, "/f/child"); !errors.As(err, &nf) {
		t.Errorf("GetContent below a file: %v, want PathNotFoundError", err)
	}
}
