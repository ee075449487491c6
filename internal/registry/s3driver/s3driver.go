// Package s3driver is the registry runtime's storage driver for
// S3-compatible object storage (AWS S3, RadosGW, NooBaa, IBM COS, MinIO,
// versitygw): a distribution StorageDriver on minio-go.
//
// Like fsdriver it exists so that the binary does not link distribution's
// own S3 driver, which brings aws-sdk-go v1 (whose endpoint tables cost
// milliseconds and megabytes at every start of every command) and
// distribution's driver base with the OpenTelemetry SDK and gRPC. It has
// no init and registers nothing: internal/registry opens it directly.
//
// Paths map to keys below the root directory. Streams are multipart
// uploads: an object appears, whole, only when its writer commits, which
// the replication queue relies on. A writer that is closed without commit
// leaves its upload open, and a later writer in append mode continues it.
package s3driver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	storagedriver "github.com/distribution/distribution/v3/registry/storage/driver"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/quay-tools/config-editor/internal/registry/internal/storagepath"
)

// Name is the driver's name in errors (distribution's name for its S3
// driver, which the runtime's configuration has always used).
const Name = "s3aws"

const (
	// partSize is the size of the parts a writer uploads.
	partSize = 10 << 20
	// minPartSize is S3's smallest part that is not the last one.
	minPartSize = 5 << 20
	// maxCopyPart is S3's largest part copied from an object.
	maxCopyPart = 5 << 30
	// copyChunk is the range of an object copied into one part when the
	// object is larger than maxCopyPart.
	copyChunk = 1 << 30
	// redirectExpiry is how long a presigned URL stays valid.
	redirectExpiry = 20 * time.Minute
)

// Params are the driver's settings.
type Params struct {
	Bucket         string
	Region         string
	Endpoint       string // scheme://host[:port]; "" is AWS
	ForcePathStyle bool
	V4Auth         bool
	AccessKey      string
	SecretKey      string // empty with AccessKey: the IAM role or environment
	RootDirectory  string
	// Transport replaces minio-go's default transport (tests).
	Transport http.RoundTripper
}

// Driver stores paths as objects of one bucket.
type Driver struct {
	client *minio.Client
	core   minio.Core
	bucket string
	keys   storagepath.Keys
}

var _ storagedriver.StorageDriver = (*Driver)(nil)

// New returns a driver for p. It does not contact the server.
func New(p Params) (*Driver, error) {
	if p.Bucket == "" {
		return nil, errors.New("s3 driver: no bucket")
	}
	if p.Region == "" {
		return nil, errors.New("s3 driver: no region")
	}
	host, secure := "s3.amazonaws.com", true
	lookup := minio.BucketLookupAuto
	if p.Endpoint != "" {
		u, err := url.Parse(p.Endpoint)
		if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
			return nil, fmt.Errorf("s3 driver: endpoint %q is not an http(s) URL", p.Endpoint)
		}
		host, secure = u.Host, u.Scheme == "https"
		if p.ForcePathStyle {
			lookup = minio.BucketLookupPath
		}
	}
	var creds *credentials.Credentials
	switch {
	case p.AccessKey == "":
		creds = credentials.NewChainCredentials([]credentials.Provider{
			&credentials.EnvAWS{}, &credentials.FileAWSCredentials{}, &credentials.IAM{},
		})
	case p.V4Auth:
		creds = credentials.NewStaticV4(p.AccessKey, p.SecretKey, "")
	default:
		creds = credentials.NewStaticV2(p.AccessKey, p.SecretKey, "")
	}
	c, err := minio.New(host, &minio.Options{
		Creds: creds, Secure: secure, Region: p.Region, BucketLookup: lookup, Transport: p.Transport,
	})
	if err != nil {
		return nil, fmt.Errorf("s3 driver: %w", err)
	}
	return &Driver{client: c, core: minio.Core{Client: c}, bucket: p.Bucket, keys: storagepath.NewKeys(p.RootDirectory)}, nil
}

// FromParameters reads the parameters internal/registry's translation
// builds (distribution's names): bucket, region, regionendpoint,
// forcepathstyle, secure, v4auth, accesskey, secretkey, rootdirectory.
func FromParameters(params map[string]any) (*Driver, error) {
	str := func(k string) string { s, _ := params[k].(string); return s }
	flag := func(k string, def bool) bool {
		switch v := params[k].(type) {
		case bool:
			return v
		case string:
			return v == "true"
		}
		return def
	}
	p := Params{
		Bucket: str("bucket"), Region: str("region"), Endpoint: str("regionendpoint"),
		ForcePathStyle: flag("forcepathstyle", false), V4Auth: flag("v4auth", true),
		AccessKey: str("accesskey"), SecretKey: str("secretkey"), RootDirectory: str("rootdirectory"),
	}
	if p.Endpoint != "" && !strings.Contains(p.Endpoint, "://") {
		scheme := "https://"
		if !flag("secure", true) {
			scheme = "http://"
		}
		p.Endpoint = scheme + p.Endpoint
	}
	return New(p)
}

// Name implements StorageDriver.
func (d *Driver) Name() string { return Name }

// isNotFound reports S3's "no such key/upload" answers.
func isNotFound(err error) bool {
	r := minio.ToErrorResponse(err)
	return r.StatusCode == http.StatusNotFound || r.Code == "NoSuchKey" || r.Code == "NoSuchUpload"
}

// wrap turns S3's "not found" into distribution's PathNotFoundError.
func wrap(p string, err error) error {
	if err != nil && isNotFound(err) {
		return storagedriver.PathNotFoundError{Path: p, DriverName: Name}
	}
	return err
}

// GetContent implements StorageDriver.
func (d *Driver) GetContent(ctx context.Context, p string) ([]byte, error) {
	rc, err := d.Reader(ctx, p, 0)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	return b, wrap(p, err)
}

// PutContent implements StorageDriver: one PUT, which S3 makes visible
// whole.
func (d *Driver) PutContent(ctx context.Context, p string, content []byte) error {
	if err := storagepath.Check(Name, p, false); err != nil {
		return err
	}
	_, err := d.core.PutObject(ctx, d.bucket, d.keys.Key(p), bytes.NewReader(content), int64(len(content)), "", "", minio.PutObjectOptions{ContentType: "application/octet-stream"})
	return err
}

// Reader implements StorageDriver. Reading at or past the end gives an
// empty stream.
func (d *Driver) Reader(ctx context.Context, p string, offset int64) (io.ReadCloser, error) {
	if err := storagepath.Check(Name, p, false); err != nil {
		return nil, err
	}
	if offset < 0 {
		return nil, storagedriver.InvalidOffsetError{Path: p, Offset: offset, DriverName: Name}
	}
	opts := minio.GetObjectOptions{}
	if offset > 0 {
		if err := opts.SetRange(offset, 0); err != nil {
			return nil, err
		}
	}
	rc, _, _, err := d.core.GetObject(ctx, d.bucket, d.keys.Key(p), opts)
	if err != nil {
		if minio.ToErrorResponse(err).Code == "InvalidRange" {
			return io.NopCloser(bytes.NewReader(nil)), nil
		}
		return nil, wrap(p, err)
	}
	return rc, nil
}

// Stat implements StorageDriver: an object is a file; a key prefix with
// objects below it is a directory.
func (d *Driver) Stat(ctx context.Context, p string) (storagedriver.FileInfo, error) {
	if err := storagepath.Check(Name, p, true); err != nil {
		return nil, err
	}
	if p != "/" {
		oi, err := d.client.StatObject(ctx, d.bucket, d.keys.Key(p), minio.StatObjectOptions{})
		if err == nil {
			return storagedriver.FileInfoInternal{FileInfoFields: storagedriver.FileInfoFields{
				Path: p, Size: oi.Size, ModTime: oi.LastModified,
			}}, nil
		}
		if !isNotFound(err) {
			return nil, err
		}
	}
	res, err := d.core.ListObjectsV2(d.bucket, d.keys.Dir(p), "", "", "/", 1)
	if err != nil {
		return nil, wrap(p, err)
	}
	if len(res.Contents) == 0 && len(res.CommonPrefixes) == 0 {
		return nil, storagedriver.PathNotFoundError{Path: p, DriverName: Name}
	}
	return storagedriver.FileInfoInternal{FileInfoFields: storagedriver.FileInfoFields{Path: p, IsDir: true}}, nil
}

// List implements StorageDriver: the direct children of a directory.
func (d *Driver) List(ctx context.Context, p string) ([]string, error) {
	if err := storagepath.Check(Name, p, true); err != nil {
		return nil, err
	}
	prefix := d.keys.Dir(p)
	var out []string
	for oi := range d.client.ListObjects(ctx, d.bucket, minio.ListObjectsOptions{Prefix: prefix}) {
		if oi.Err != nil {
			return nil, wrap(p, oi.Err)
		}
		k := strings.TrimSuffix(oi.Key, "/")
		if k+"/" == prefix || k == "" {
			continue // a directory marker of the listed directory itself
		}
		out = append(out, d.keys.Path(k))
	}
	if len(out) == 0 && p != "/" {
		return nil, storagedriver.PathNotFoundError{Path: p, DriverName: Name}
	}
	sort.Strings(out)
	return out, nil
}

// Move implements StorageDriver: a server-side copy, then the source is
// deleted.
func (d *Driver) Move(ctx context.Context, src, dst string) error {
	if err := storagepath.Check(Name, src, false); err != nil {
		return err
	}
	if err := storagepath.Check(Name, dst, false); err != nil {
		return err
	}
	oi, err := d.client.StatObject(ctx, d.bucket, d.keys.Key(src), minio.StatObjectOptions{})
	if err != nil {
		return wrap(src, err)
	}
	from := minio.CopySrcOptions{Bucket: d.bucket, Object: d.keys.Key(src)}
	to := minio.CopyDestOptions{Bucket: d.bucket, Object: d.keys.Key(dst)}
	if oi.Size > maxCopyPart {
		_, err = d.client.ComposeObject(ctx, to, from)
	} else {
		_, err = d.client.CopyObject(ctx, to, from)
	}
	if err != nil {
		return wrap(src, err)
	}
	return wrap(src, d.client.RemoveObject(ctx, d.bucket, d.keys.Key(src), minio.RemoveObjectOptions{}))
}

// Delete implements StorageDriver: an object, or every object below a
// directory (never a sibling that only shares the name's prefix).
func (d *Driver) Delete(ctx context.Context, p string) error {
	if err := storagepath.Check(Name, p, false); err != nil {
		return err
	}
	var keys []string
	if _, err := d.client.StatObject(ctx, d.bucket, d.keys.Key(p), minio.StatObjectOptions{}); err == nil {
		keys = append(keys, d.keys.Key(p))
	} else if !isNotFound(err) {
		return err
	}
	for oi := range d.client.ListObjects(ctx, d.bucket, minio.ListObjectsOptions{Prefix: d.keys.Dir(p), Recursive: true}) {
		if oi.Err != nil {
			return wrap(p, oi.Err)
		}
		keys = append(keys, oi.Key)
	}
	if len(keys) == 0 {
		return storagedriver.PathNotFoundError{Path: p, DriverName: Name}
	}
	ch := make(chan minio.ObjectInfo, len(keys))
	for _, k := range keys {
		ch <- minio.ObjectInfo{Key: k}
	}
	close(ch)
	var errs []error
	for e := range d.client.RemoveObjects(ctx, d.bucket, ch, minio.RemoveObjectsOptions{}) {
		if !isNotFound(e.Err) {
			errs = append(errs, fmt.Errorf("%s: %w", d.keys.Path(e.ObjectName), e.Err))
		}
	}
	if len(errs) > 0 {
		return storagedriver.Errors{DriverName: Name, Errs: errs}
	}
	return nil
}

// RedirectURL implements StorageDriver: a presigned URL for GET and HEAD.
func (d *Driver) RedirectURL(r *http.Request, p string) (string, error) {
	var (
		u   *url.URL
		err error
	)
	switch r.Method {
	case http.MethodGet:
		u, err = d.client.PresignedGetObject(r.Context(), d.bucket, d.keys.Key(p), redirectExpiry, nil)
	case http.MethodHead:
		u, err = d.client.PresignedHeadObject(r.Context(), d.bucket, d.keys.Key(p), redirectExpiry, nil)
	default:
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return u.String(), nil
}

// Walk implements StorageDriver.
func (d *Driver) Walk(ctx context.Context, p string, f storagedriver.WalkFn, options ...func(*storagedriver.WalkOptions)) error {
	if err := storagepath.Check(Name, p, true); err != nil {
		return err
	}
	return storagedriver.WalkFallback(ctx, d, p, f, options...)
}
