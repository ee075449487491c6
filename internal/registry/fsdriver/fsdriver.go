// Package fsdriver is the registry runtime's storage driver for
// LocalStorage: a distribution StorageDriver over a local directory.
//
// It exists so that the binary does not link distribution's own drivers,
// whose shared base package pulls in the OpenTelemetry SDK, its exporters
// and gRPC at every start of every command. It has no init and registers
// nothing: internal/registry opens it directly.
package fsdriver

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"syscall"

	storagedriver "github.com/distribution/distribution/v3/registry/storage/driver"

	"github.com/quay-tools/config-editor/internal/registry/internal/storagepath"
)

// Name is the driver's name in errors.
const Name = "filesystem"

// Driver stores every path under one root directory.
type Driver struct {
	root string
}

var _ storagedriver.StorageDriver = (*Driver)(nil)

// New returns a driver rooted at root, which need not exist yet.
func New(root string) (*Driver, error) {
	if root == "" {
		return nil, errors.New("filesystem driver: no root directory")
	}
	if !filepath.IsAbs(root) {
		return nil, fmt.Errorf("filesystem driver: root directory %q is not an absolute path", root)
	}
	return &Driver{root: filepath.Clean(root)}, nil
}

// FromParameters reads {"rootdirectory": "/path"}.
func FromParameters(params map[string]any) (*Driver, error) {
	root, _ := params["rootdirectory"].(string)
	return New(root)
}

// Name implements StorageDriver.
func (d *Driver) Name() string { return Name }

func (d *Driver) full(p string) string { return filepath.Join(d.root, filepath.FromSlash(p)) }

// notFound turns "no such file" and "a parent is a file, not a
// directory" into distribution's PathNotFoundError.
func notFound(p string, err error) error {
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return storagedriver.PathNotFoundError{Path: p, DriverName: Name}
	}
	return err
}

// GetContent implements StorageDriver.
func (d *Driver) GetContent(_ context.Context, p string) ([]byte, error) {
	if err := storagepath.Check(Name, p, false); err != nil {
		return nil, err
	}
	b, err := os.ReadFile(d.full(p))
	if err != nil {
		return nil, notFound(p, err)
	}
	return b, nil
}

// PutContent implements StorageDriver: the content replaces the file at
// once (written beside it, then renamed), so a reader never sees half.
func (d *Driver) PutContent(_ context.Context, p string, content []byte) error {
	if err := storagepath.Check(Name, p, false); err != nil {
		return err
	}
	full := d.full(p)
	if err := os.MkdirAll(filepath.Dir(full), 0o777); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(full), ".put-*")
	if err != nil {
		return err
	}
	_, werr := tmp.Write(content)
	if werr == nil {
		werr = tmp.Sync()
	}
	if cerr := tmp.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Chmod(tmp.Name(), 0o666)
	}
	if werr == nil {
		werr = os.Rename(tmp.Name(), full)
	}
	if werr != nil {
		os.Remove(tmp.Name())
	}
	return werr
}

// Reader implements StorageDriver.
func (d *Driver) Reader(_ context.Context, p string, offset int64) (io.ReadCloser, error) {
	if err := storagepath.Check(Name, p, false); err != nil {
		return nil, err
	}
	if offset < 0 {
		return nil, storagedriver.InvalidOffsetError{Path: p, Offset: offset, DriverName: Name}
	}
	f, err := os.Open(d.full(p))
	if err != nil {
		return nil, notFound(p, err)
	}
	fi, err := f.Stat()
	if err == nil && fi.IsDir() {
		err = storagedriver.PathNotFoundError{Path: p, DriverName: Name}
	}
	if err == nil && offset > fi.Size() {
		err = storagedriver.InvalidOffsetError{Path: p, Offset: offset, DriverName: Name}
	}
	if err == nil {
		_, err = f.Seek(offset, io.SeekStart)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// Writer implements StorageDriver. The file is written in place; append
// continues a file left by an earlier writer.
func (d *Driver) Writer(_ context.Context, p string, appendTo bool) (storagedriver.FileWriter, error) {
	if err := storagepath.Check(Name, p, false); err != nil {
		return nil, err
	}
	full := d.full(p)
	if err := os.MkdirAll(filepath.Dir(full), 0o777); err != nil {
		return nil, err
	}
	flags := os.O_WRONLY | os.O_CREATE
	if !appendTo {
		flags |= os.O_TRUNC
	}
	f, err := os.OpenFile(full, flags, 0o666)
	if err != nil {
		return nil, err
	}
	size, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		f.Close()
		return nil, err
	}
	return &writer{f: f, bw: bufio.NewWriter(f), size: size}, nil
}

// Stat implements StorageDriver.
func (d *Driver) Stat(_ context.Context, p string) (storagedriver.FileInfo, error) {
	if err := storagepath.Check(Name, p, true); err != nil {
		return nil, err
	}
	fi, err := os.Stat(d.full(p))
	if err != nil {
		return nil, notFound(p, err)
	}
	f := storagedriver.FileInfoFields{Path: p, IsDir: fi.IsDir(), ModTime: fi.ModTime()}
	if !fi.IsDir() {
		f.Size = fi.Size()
	}
	return storagedriver.FileInfoInternal{FileInfoFields: f}, nil
}

// List implements StorageDriver: the direct children of a directory.
func (d *Driver) List(_ context.Context, p string) ([]string, error) {
	if err := storagepath.Check(Name, p, true); err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(d.full(p)) // sorted by name
	if err != nil {
		return nil, notFound(p, err) // a file is not a directory: not found
	}
	out := make([]string, 0, len(entries))
	for _, e := range entries {
		out = append(out, path.Join(p, e.Name()))
	}
	return out, nil
}

// Move implements StorageDriver.
func (d *Driver) Move(_ context.Context, src, dst string) error {
	if err := storagepath.Check(Name, src, false); err != nil {
		return err
	}
	if err := storagepath.Check(Name, dst, false); err != nil {
		return err
	}
	from, to := d.full(src), d.full(dst)
	if _, err := os.Stat(from); err != nil {
		return notFound(src, err)
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o777); err != nil {
		return err
	}
	return os.Rename(from, to)
}

// Delete implements StorageDriver: a file, or a directory with everything
// in it.
func (d *Driver) Delete(_ context.Context, p string) error {
	if err := storagepath.Check(Name, p, false); err != nil {
		return err
	}
	full := d.full(p)
	if _, err := os.Lstat(full); err != nil {
		return notFound(p, err)
	}
	return os.RemoveAll(full)
}

// RedirectURL implements StorageDriver: local files are never redirected.
func (d *Driver) RedirectURL(*http.Request, string) (string, error) { return "", nil }

// Walk implements StorageDriver.
func (d *Driver) Walk(ctx context.Context, p string, f storagedriver.WalkFn, options ...func(*storagedriver.WalkOptions)) error {
	if err := storagepath.Check(Name, p, true); err != nil {
		return err
	}
	return storagedriver.WalkFallback(ctx, d, p, f, options...)
}

// writer is a FileWriter on one open file.
type writer struct {
	f         *os.File
	bw        *bufio.Writer
	size      int64
	closed    bool
	committed bool
	cancelled bool
}

func (w *writer) state() error {
	switch {
	case w.closed:
		return errors.New("filesystem driver: writer already closed")
	case w.committed:
		return errors.New("filesystem driver: writer already committed")
	case w.cancelled:
		return errors.New("filesystem driver: writer already cancelled")
	}
	return nil
}

func (w *writer) Write(p []byte) (int, error) {
	if err := w.state(); err != nil {
		return 0, err
	}
	n, err := w.bw.Write(p)
	w.size += int64(n)
	return n, err
}

func (w *writer) Size() int64 { return w.size }

func (w *writer) Close() error {
	if w.closed {
		return errors.New("filesystem driver: writer already closed")
	}
	w.closed = true
	err := w.bw.Flush()
	if cerr := w.f.Close(); err == nil {
		err = cerr
	}
	return err
}

func (w *writer) Cancel(context.Context) error {
	if w.closed {
		return errors.New("filesystem driver: writer already closed")
	}
	w.cancelled = true
	w.f.Close()
	return os.Remove(w.f.Name())
}

func (w *writer) Commit(context.Context) error {
	if err := w.state(); err != nil {
		return err
	}
	if err := w.bw.Flush(); err != nil {
		return err
	}
	if err := w.f.Sync(); err != nil {
		return err
	}
	w.committed = true
	return nil
}
