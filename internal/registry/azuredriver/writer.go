package azuredriver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/appendblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	storagedriver "github.com/distribution/distribution/v3/registry/storage/driver"

	"github.com/quay-tools/config-editor/internal/registry/internal/storagepath"
)

// Writer implements StorageDriver. Without append it creates an empty
// append blob at the path (replacing what was there), which is visible
// at once. With append it continues the append blob at the path; a block
// blob there (PutContent's) is first rewritten as an append blob with
// the same bytes.
func (d *Driver) Writer(ctx context.Context, p string, appendTo bool) (storagedriver.FileWriter, error) {
	if err := storagepath.Check(Name, p, false); err != nil {
		return nil, err
	}
	w := &writer{ctx: ctx, ab: d.cc.NewAppendBlobClient(d.keys.Key(p))}
	if !appendTo {
		return w, w.create(ctx)
	}
	props, err := w.ab.GetProperties(ctx, nil)
	if err != nil {
		return nil, wrap(p, err)
	}
	size := deref(props.ContentLength, 0)
	if deref(props.BlobType, "") == blob.BlobTypeAppendBlob {
		w.size, w.appended = size, size
		return w, nil
	}
	if size > maxConvert {
		return nil, fmt.Errorf("azure driver: %s is a %d-byte %s, too large to continue as an append blob", p, size, deref(props.BlobType, ""))
	}
	res, err := w.ab.DownloadStream(ctx, &blob.DownloadStreamOptions{
		AccessConditions: &blob.AccessConditions{ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfMatch: props.ETag}},
	})
	if err != nil {
		return nil, wrap(p, err)
	}
	old, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		return nil, err
	}
	if err := w.create(ctx); err != nil {
		return nil, err
	}
	if _, err := w.Write(old); err != nil {
		return nil, err
	}
	if err := w.flush(ctx); err != nil {
		return nil, err
	}
	return w, nil
}

// writer appends to one append blob.
type writer struct {
	ctx      context.Context
	ab       *appendblob.Client
	buf      []byte // not yet appended
	appended int64  // bytes in the blob
	size     int64  // appended + buffered

	closed, committed, cancelled bool
}

func (w *writer) state() error {
	switch {
	case w.closed:
		return errors.New("azure driver: writer already closed")
	case w.committed:
		return errors.New("azure driver: writer already committed")
	case w.cancelled:
		return errors.New("azure driver: writer already cancelled")
	}
	return nil
}

// create makes the blob an empty append blob. Azure refuses to change a
// blob's type in place, so a block blob there is deleted first.
func (w *writer) create(ctx context.Context) error {
	_, err := w.ab.Create(ctx, nil)
	if bloberror.HasCode(err, bloberror.InvalidBlobType) {
		if _, err := w.ab.Delete(ctx, nil); err != nil && !isNotFound(err) {
			return err
		}
		_, err = w.ab.Create(ctx, nil)
	}
	return err
}

func (w *writer) Write(p []byte) (int, error) {
	if err := w.state(); err != nil {
		return 0, err
	}
	w.buf = append(w.buf, p...)
	w.size += int64(len(p))
	for len(w.buf) >= blockSize {
		if err := w.appendBlock(w.ctx, blockSize); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

// appendBlock appends the first n buffered bytes, at the position the
// writer expects the blob to end: a retry of a block the server had
// already taken fails that condition instead of storing the bytes twice,
// and is recognised by the blob's size.
func (w *writer) appendBlock(ctx context.Context, n int) error {
	_, err := w.ab.AppendBlock(ctx, streaming.NopCloser(bytes.NewReader(w.buf[:n])), &appendblob.AppendBlockOptions{
		AppendPositionAccessConditions: &appendblob.AppendPositionAccessConditions{AppendPosition: to.Ptr(w.appended)},
	})
	if bloberror.HasCode(err, bloberror.AppendPositionConditionNotMet) {
		props, perr := w.ab.GetProperties(ctx, nil)
		if perr == nil && deref(props.ContentLength, -1) == w.appended+int64(n) {
			err = nil
		}
	}
	if err != nil {
		return fmt.Errorf("azure driver: append to %s at %d: %w", w.ab.URL(), w.appended, err)
	}
	w.appended += int64(n)
	w.buf = append(w.buf[:0], w.buf[n:]...)
	return nil
}

// flush appends whatever is buffered.
func (w *writer) flush(ctx context.Context) error {
	for len(w.buf) > 0 {
		if err := w.appendBlock(ctx, min(len(w.buf), blockSize)); err != nil {
			return err
		}
	}
	return nil
}

func (w *writer) Size() int64 { return w.size }

// Close appends what is buffered and leaves the blob for a writer in
// append mode.
func (w *writer) Close() error {
	if w.closed {
		return errors.New("azure driver: writer already closed")
	}
	w.closed = true
	if w.committed || w.cancelled {
		return nil
	}
	return w.flush(w.ctx)
}

// Cancel deletes the blob.
func (w *writer) Cancel(ctx context.Context) error {
	if err := w.state(); err != nil {
		return err
	}
	w.cancelled = true
	if _, err := w.ab.Delete(ctx, nil); err != nil && !isNotFound(err) {
		return err
	}
	return nil
}

// Commit appends what is buffered: the blob then holds every byte
// written (it has held each block since it was appended).
func (w *writer) Commit(ctx context.Context) error {
	if err := w.state(); err != nil {
		return err
	}
	if err := w.flush(ctx); err != nil {
		return err
	}
	w.committed = true
	return nil
}
