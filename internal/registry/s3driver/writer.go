package s3driver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sort"

	storagedriver "github.com/distribution/distribution/v3/registry/storage/driver"
	"github.com/minio/minio-go/v7"

	"github.com/quay-tools/config-editor/internal/registry/internal/storagepath"
)

// Writer implements StorageDriver. Without append it starts a multipart
// upload. With append it continues the open upload of the path, or, when
// there is none, an object already committed there.
func (d *Driver) Writer(ctx context.Context, p string, appendTo bool) (storagedriver.FileWriter, error) {
	if err := storagepath.Check(Name, p, false); err != nil {
		return nil, err
	}
	w := &writer{d: d, ctx: ctx, key: d.keys.Key(p)}
	if !appendTo {
		return w, w.start(ctx)
	}
	id, err := d.openUpload(ctx, w.key)
	if err != nil {
		return nil, wrap(p, err)
	}
	if id == "" {
		// No open upload: continue a committed object (the registry
		// appends to a zero-byte file it created).
		oi, err := d.client.StatObject(ctx, d.bucket, w.key, minio.StatObjectOptions{})
		if err != nil {
			return nil, wrap(p, err)
		}
		if err := w.start(ctx); err != nil {
			return nil, err
		}
		if err := w.seed(ctx, oi.Size); err != nil {
			_ = w.abort(ctx)
			return nil, err
		}
		return w, nil
	}
	w.uploadID = id
	marker := 0
	for {
		res, err := d.core.ListObjectParts(ctx, d.bucket, w.key, id, marker, 1000)
		if err != nil {
			return nil, wrap(p, err)
		}
		for _, part := range res.ObjectParts {
			w.parts = append(w.parts, minio.CompletePart{PartNumber: part.PartNumber, ETag: part.ETag})
			w.sizes = append(w.sizes, part.Size)
			w.size += part.Size
		}
		if !res.IsTruncated {
			break
		}
		marker = res.NextPartNumberMarker
	}
	return w, nil
}

// openUpload finds the newest open multipart upload of exactly key.
func (d *Driver) openUpload(ctx context.Context, key string) (string, error) {
	var (
		id        string
		newest    int64
		keyM, idM string
	)
	for {
		res, err := d.core.ListMultipartUploads(ctx, d.bucket, key, keyM, idM, "", 1000)
		if err != nil {
			return "", err
		}
		for _, u := range res.Uploads {
			if u.Key == key && (id == "" || u.Initiated.UnixNano() > newest) {
				id, newest = u.UploadID, u.Initiated.UnixNano()
			}
		}
		if !res.IsTruncated {
			return id, nil
		}
		keyM, idM = res.NextKeyMarker, res.NextUploadIDMarker
	}
}

// writer streams into one multipart upload.
type writer struct {
	d        *Driver
	ctx      context.Context
	key      string
	uploadID string
	parts    []minio.CompletePart // uploaded, in order
	sizes    []int64              // the size of each part
	buf      []byte               // not yet uploaded
	size     int64                // uploaded + buffered

	closed, committed, cancelled bool
}

func (w *writer) state() error {
	switch {
	case w.closed:
		return errors.New("s3 driver: writer already closed")
	case w.committed:
		return errors.New("s3 driver: writer already committed")
	case w.cancelled:
		return errors.New("s3 driver: writer already cancelled")
	}
	return nil
}

func (w *writer) start(ctx context.Context) error {
	id, err := w.d.core.NewMultipartUpload(ctx, w.d.bucket, w.key, minio.PutObjectOptions{ContentType: "application/octet-stream"})
	w.uploadID = id
	return err
}

func (w *writer) abort(ctx context.Context) error {
	return w.d.core.AbortMultipartUpload(ctx, w.d.bucket, w.key, w.uploadID)
}

// seed makes the committed object at the key (of size n) the start of
// the new upload: copied on the server into parts where S3 allows it
// (every part but the last at least minPartSize), read into the buffer
// where it is too small to be a part.
func (w *writer) seed(ctx context.Context, n int64) error {
	if n < minPartSize {
		rc, _, _, err := w.d.core.GetObject(ctx, w.d.bucket, w.key, minio.GetObjectOptions{})
		if err != nil {
			return err
		}
		defer rc.Close()
		b, err := io.ReadAll(rc)
		if err != nil {
			return err
		}
		if int64(len(b)) != n {
			return fmt.Errorf("s3 driver: read %d bytes of %s, which holds %d", len(b), w.key, n)
		}
		w.buf = append(b, w.buf...)
		w.size += n
		return nil
	}
	var off int64
	for off < n {
		length := int64(copyChunk)
		if n <= maxCopyPart {
			length = n
		}
		if rest := n - off - length; rest > 0 && rest < minPartSize {
			length += rest
		}
		if off+length > n {
			length = n - off
		}
		cp, err := w.d.core.CopyObjectPart(ctx, w.d.bucket, w.key, w.d.bucket, w.key, w.uploadID, len(w.parts)+1, off, length, nil)
		if err != nil {
			return err
		}
		w.parts = append(w.parts, minio.CompletePart{PartNumber: cp.PartNumber, ETag: cp.ETag})
		w.sizes = append(w.sizes, length)
		w.size += length
		off += length
	}
	return nil
}

// restart is needed when the last uploaded part (left by a writer that
// was closed) is too small to be followed by another: the upload is
// completed into an object, a new one started, and the object seeded
// into it.
func (w *writer) restart() error {
	if len(w.sizes) == 0 || w.sizes[len(w.sizes)-1] >= minPartSize {
		return nil
	}
	if err := w.complete(w.ctx); err != nil {
		return err
	}
	n := w.size - int64(len(w.buf))
	w.parts, w.sizes, w.size = nil, nil, int64(len(w.buf))
	if err := w.start(w.ctx); err != nil {
		return err
	}
	return w.seed(w.ctx, n)
}

func (w *writer) Write(p []byte) (int, error) {
	if err := w.state(); err != nil {
		return 0, err
	}
	if len(p) == 0 {
		return 0, nil
	}
	if err := w.restart(); err != nil {
		return 0, err
	}
	w.buf = append(w.buf, p...)
	w.size += int64(len(p))
	for len(w.buf) >= partSize {
		if err := w.upload(w.ctx, partSize); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

// upload sends the first n buffered bytes as the next part.
func (w *writer) upload(ctx context.Context, n int) error {
	num := len(w.parts) + 1
	part, err := w.d.core.PutObjectPart(ctx, w.d.bucket, w.key, w.uploadID, num, bytes.NewReader(w.buf[:n]), int64(n), minio.PutObjectPartOptions{})
	if err != nil {
		return fmt.Errorf("s3 driver: upload part %d of %s: %w", num, w.key, err)
	}
	w.parts = append(w.parts, minio.CompletePart{PartNumber: num, ETag: part.ETag})
	w.sizes = append(w.sizes, int64(n))
	w.buf = append(w.buf[:0], w.buf[n:]...)
	return nil
}

// flush uploads whatever is buffered as one part.
func (w *writer) flush(ctx context.Context) error {
	if len(w.buf) == 0 {
		return nil
	}
	return w.upload(ctx, len(w.buf))
}

func (w *writer) complete(ctx context.Context) error {
	parts := append([]minio.CompletePart(nil), w.parts...)
	sort.Slice(parts, func(i, j int) bool { return parts[i].PartNumber < parts[j].PartNumber })
	_, err := w.d.core.CompleteMultipartUpload(ctx, w.d.bucket, w.key, w.uploadID, parts, minio.PutObjectOptions{ContentType: "application/octet-stream"})
	return err
}

func (w *writer) Size() int64 { return w.size }

// Close uploads what is buffered and leaves the upload open for a writer
// in append mode.
func (w *writer) Close() error {
	if w.closed {
		return errors.New("s3 driver: writer already closed")
	}
	w.closed = true
	if w.committed || w.cancelled {
		return nil
	}
	return w.flush(w.ctx)
}

// Cancel aborts the upload.
func (w *writer) Cancel(ctx context.Context) error {
	if err := w.state(); err != nil {
		return err
	}
	w.cancelled = true
	return w.abort(ctx)
}

// Commit completes the upload: only now does the object exist (or change).
func (w *writer) Commit(ctx context.Context) error {
	if err := w.state(); err != nil {
		return err
	}
	if err := w.flush(ctx); err != nil {
		return err
	}
	if len(w.parts) == 0 { // S3 completes no upload without a part
		if err := w.upload(ctx, 0); err != nil {
			return err
		}
	}
	w.committed = true
	if err := w.complete(ctx); err != nil {
		if aerr := w.abort(context.WithoutCancel(ctx)); aerr != nil {
			return errors.Join(err, aerr)
		}
		return err
	}
	return nil
}
