// Package azuredriver is the registry runtime's storage driver for Azure
// Blob Storage: a distribution StorageDriver on the Azure SDK's azblob,
// authenticated with the storage account's shared key only.
//
// Like fsdriver and s3driver it exists so that the binary does not link
// distribution's own Azure driver, which brings distribution's driver base
// with the OpenTelemetry SDK, its exporters and gRPC, and azidentity with
// MSAL. It has no init and registers nothing: internal/registry opens it
// directly.
//
// Paths map to blob names below the root directory in one container;
// directories are name prefixes. PutContent writes a block blob in one
// request, so it appears whole. Streams are append blobs: a writer creates
// its blob when it opens and appends 4 MiB blocks as it fills them, so
// what it has written is visible at the path before Commit (Commit only
// appends the rest). A writer closed without commit leaves the blob as it
// is, and a later writer in append mode continues it; Cancel deletes it.
// A caller that must not show a partial object at its final path (the
// replication queue) writes to a side path and moves it into place.
//
// Append blobs hold at most 50,000 blocks, so a stream can grow to about
// 195 GiB.
package azuredriver

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
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"
	storagedriver "github.com/distribution/distribution/v3/registry/storage/driver"

	"github.com/quay-tools/config-editor/internal/registry/internal/storagepath"
)

// Name is the driver's name in errors (distribution's name for its Azure
// driver, which the runtime's configuration has always used).
const Name = "azure"

const (
	// blockSize is the size of the blocks a writer appends (the largest
	// append block every service version accepts).
	blockSize = 4 << 20
	// redirectExpiry is how long a signed URL stays valid.
	redirectExpiry = 20 * time.Minute
	// maxConvert is the largest block blob a writer in append mode turns
	// into an append blob (it reads the blob into memory to do so).
	maxConvert = 64 << 20
	// deleteWorkers is how many blobs Delete removes at once.
	deleteWorkers = 8
)

// Config is the driver's settings.
type Config struct {
	AccountName   string
	AccountKey    string // base64, as the portal shows it
	Container     string
	ServiceURL    string // scheme://host[:port][/account]; "" is https://<account>.blob.core.windows.net
	RootDirectory string
	// Transport replaces the SDK's default HTTP transport (tests).
	Transport http.RoundTripper
}

// Driver stores paths as blobs of one container.
type Driver struct {
	cc      *container.Client
	cred    *container.SharedKeyCredential
	service string // the service URL, without a trailing slash
	name    string // the container
	https   bool
	keys    storagepath.Keys
}

var _ storagedriver.StorageDriver = (*Driver)(nil)

// New returns a driver for c. It does not contact the server.
func New(c Config) (*Driver, error) {
	switch {
	case c.AccountName == "":
		return nil, errors.New("azure driver: no account name")
	case c.AccountKey == "":
		return nil, errors.New("azure driver: no account key")
	case c.Container == "":
		return nil, errors.New("azure driver: no container")
	}
	svc := strings.TrimRight(c.ServiceURL, "/")
	if svc == "" {
		svc = "https://" + c.AccountName + ".blob.core.windows.net"
	}
	u, err := url.Parse(svc)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") || u.RawQuery != "" {
		return nil, fmt.Errorf("azure driver: service URL %q is not an http(s) URL", c.ServiceURL)
	}
	cred, err := container.NewSharedKeyCredential(c.AccountName, c.AccountKey)
	if err != nil {
		return nil, fmt.Errorf("azure driver: account key: %w", err)
	}
	var opts container.ClientOptions
	if c.Transport != nil {
		opts.ClientOptions = azcore.ClientOptions{Transport: &http.Client{Transport: c.Transport}}
	}
	cc, err := container.NewClientWithSharedKeyCredential(svc+"/"+url.PathEscape(c.Container), cred, &opts)
	if err != nil {
		return nil, fmt.Errorf("azure driver: %w", err)
	}
	return &Driver{cc: cc, cred: cred, service: svc, name: c.Container, https: u.Scheme == "https", keys: storagepath.NewKeys(c.RootDirectory)}, nil
}

// FromParameters reads the parameters internal/registry's translation
// builds (distribution's names): accountname, accountkey, container,
// serviceurl, rootdirectory. The account key is the only credential.
func FromParameters(params map[string]any) (*Driver, error) {
	str := func(k string) string { s, _ := params[k].(string); return s }
	return New(Config{
		AccountName: str("accountname"), AccountKey: str("accountkey"), Container: str("container"),
		ServiceURL: str("serviceurl"), RootDirectory: str("rootdirectory"),
	})
}

// Name implements StorageDriver.
func (d *Driver) Name() string { return Name }

func (d *Driver) blob(p string) *blob.Client { return d.cc.NewBlobClient(d.keys.Key(p)) }

// isNotFound reports Azure's "no such blob/container" answers.
func isNotFound(err error) bool {
	if err == nil {
		return false
	}
	if bloberror.HasCode(err, bloberror.BlobNotFound, bloberror.ContainerNotFound, bloberror.ResourceNotFound) {
		return true
	}
	var re *azcore.ResponseError
	return errors.As(err, &re) && re.StatusCode == http.StatusNotFound
}

// wrap turns Azure's "not found" into distribution's PathNotFoundError.
func wrap(p string, err error) error {
	if isNotFound(err) {
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

// PutContent implements StorageDriver: one Put Blob of a block blob,
// which Azure shows whole. An append blob at the path (a stream's) is
// deleted first where Azure refuses to change a blob's type in place.
func (d *Driver) PutContent(ctx context.Context, p string, content []byte) error {
	if err := storagepath.Check(Name, p, false); err != nil {
		return err
	}
	bb := d.cc.NewBlockBlobClient(d.keys.Key(p))
	put := func() error {
		_, err := bb.Upload(ctx, streaming.NopCloser(bytes.NewReader(content)), nil)
		return err
	}
	err := put()
	if bloberror.HasCode(err, bloberror.InvalidBlobType) {
		if _, err := bb.Delete(ctx, nil); err != nil && !isNotFound(err) {
			return err
		}
		err = put()
	}
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
	res, err := d.blob(p).DownloadStream(ctx, &blob.DownloadStreamOptions{Range: blob.HTTPRange{Offset: offset}})
	if err != nil {
		if bloberror.HasCode(err, bloberror.InvalidRange) {
			return io.NopCloser(bytes.NewReader(nil)), nil
		}
		return nil, wrap(p, err)
	}
	return res.Body, nil
}

// Stat implements StorageDriver: a blob is a file; a name prefix with
// blobs below it is a directory.
func (d *Driver) Stat(ctx context.Context, p string) (storagedriver.FileInfo, error) {
	if err := storagepath.Check(Name, p, true); err != nil {
		return nil, err
	}
	if p != "/" {
		props, err := d.blob(p).GetProperties(ctx, nil)
		if err == nil {
			fi := storagedriver.FileInfoFields{Path: p, Size: deref(props.ContentLength, 0)}
			if props.LastModified != nil {
				fi.ModTime = *props.LastModified
			}
			return storagedriver.FileInfoInternal{FileInfoFields: fi}, nil
		}
		if !isNotFound(err) {
			return nil, err
		}
	}
	page, err := d.cc.NewListBlobsFlatPager(&container.ListBlobsFlatOptions{
		Prefix: to.Ptr(d.keys.Dir(p)), MaxResults: to.Ptr[int32](1),
	}).NextPage(ctx)
	if err != nil {
		return nil, wrap(p, err)
	}
	if page.Segment == nil || len(page.Segment.BlobItems) == 0 {
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
	pager := d.cc.NewListBlobsHierarchyPager("/", &container.ListBlobsHierarchyOptions{Prefix: &prefix})
	var out []string
	add := func(name string) {
		name = strings.TrimSuffix(name, "/")
		if name+"/" != prefix && name != "" {
			out = append(out, d.keys.Path(name))
		}
	}
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return nil, wrap(p, err)
		}
		if page.Segment == nil {
			continue
		}
		for _, b := range page.Segment.BlobItems {
			add(deref(b.Name, ""))
		}
		for _, bp := range page.Segment.BlobPrefixes {
			add(deref(bp.Name, ""))
		}
	}
	if len(out) == 0 && p != "/" {
		return nil, storagedriver.PathNotFoundError{Path: p, DriverName: Name}
	}
	sort.Strings(out)
	return out, nil
}

// Move implements StorageDriver: a server-side copy, waited for until
// Azure reports it done (copies are asynchronous), then the source is
// deleted.
func (d *Driver) Move(ctx context.Context, src, dst string) error {
	if err := storagepath.Check(Name, src, false); err != nil {
		return err
	}
	if err := storagepath.Check(Name, dst, false); err != nil {
		return err
	}
	if _, err := d.blob(src).GetProperties(ctx, nil); err != nil {
		return wrap(src, err)
	}
	dstBlob := d.blob(dst)
	res, err := dstBlob.StartCopyFromURL(ctx, d.blob(src).URL(), nil)
	if bloberror.HasCode(err, bloberror.InvalidBlobType) {
		// a destination of another blob type than the source's
		if _, err := dstBlob.Delete(ctx, nil); err != nil && !isNotFound(err) {
			return err
		}
		res, err = dstBlob.StartCopyFromURL(ctx, d.blob(src).URL(), nil)
	}
	if err != nil {
		return wrap(src, err)
	}
	if err := waitForCopy(ctx, dstBlob, res); err != nil {
		return fmt.Errorf("azure driver: copy %s to %s: %w", src, dst, err)
	}
	_, err = d.blob(src).Delete(ctx, nil)
	return wrap(src, err)
}

// waitForCopy polls the destination of a copy until its status is no
// longer pending, at most as long as ctx allows; a copy abandoned because
// ctx ended is aborted.
func waitForCopy(ctx context.Context, b *blob.Client, res blob.StartCopyFromURLResponse) error {
	status, id := deref(res.CopyStatus, blob.CopyStatusTypeSuccess), deref(res.CopyID, "")
	desc := ""
	for delay := 20 * time.Millisecond; status == blob.CopyStatusTypePending; delay = min(2*delay, time.Second) {
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			_, _ = b.AbortCopyFromURL(context.WithoutCancel(ctx), id, nil)
			return ctx.Err()
		case <-t.C:
		}
		props, err := b.GetProperties(ctx, nil)
		if err != nil {
			return err
		}
		if got := deref(props.CopyID, ""); got != id {
			return fmt.Errorf("another copy (%s) replaced this one (%s)", got, id)
		}
		status, desc = deref(props.CopyStatus, ""), deref(props.CopyStatusDescription, "")
	}
	if status != blob.CopyStatusTypeSuccess {
		return fmt.Errorf("copy status %s: %s", status, desc)
	}
	return nil
}

// Delete implements StorageDriver: a blob, or every blob below a
// directory (never a sibling that only shares the name's prefix).
func (d *Driver) Delete(ctx context.Context, p string) error {
	if err := storagepath.Check(Name, p, false); err != nil {
		return err
	}
	var names []string
	if _, err := d.blob(p).GetProperties(ctx, nil); err == nil {
		names = append(names, d.keys.Key(p))
	} else if !isNotFound(err) {
		return err
	}
	pager := d.cc.NewListBlobsFlatPager(&container.ListBlobsFlatOptions{Prefix: to.Ptr(d.keys.Dir(p))})
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return wrap(p, err)
		}
		if page.Segment == nil {
			continue
		}
		for _, b := range page.Segment.BlobItems {
			names = append(names, deref(b.Name, ""))
		}
	}
	if len(names) == 0 {
		return storagedriver.PathNotFoundError{Path: p, DriverName: Name}
	}
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
		next = make(chan string)
	)
	for range min(deleteWorkers, len(names)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for name := range next {
				_, err := d.cc.NewBlobClient(name).Delete(ctx, &blob.DeleteOptions{DeleteSnapshots: to.Ptr(blob.DeleteSnapshotsOptionTypeInclude)})
				if err != nil && !isNotFound(err) {
					mu.Lock()
					errs = append(errs, fmt.Errorf("%s: %w", d.keys.Path(name), err))
					mu.Unlock()
				}
			}
		}()
	}
	for _, name := range names {
		next <- name
	}
	close(next)
	wg.Wait()
	if len(errs) > 0 {
		return storagedriver.Errors{DriverName: Name, Errs: errs}
	}
	return nil
}

// RedirectURL implements StorageDriver: for GET and HEAD, a URL of the
// blob signed with the account key (a service SAS that allows reading
// for redirectExpiry, over https only when the service is https).
func (d *Driver) RedirectURL(r *http.Request, p string) (string, error) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return "", nil
	}
	if err := storagepath.Check(Name, p, false); err != nil {
		return "", err
	}
	proto := sas.ProtocolHTTPSandHTTP
	if d.https {
		proto = sas.ProtocolHTTPS
	}
	key := d.keys.Key(p)
	q, err := sas.BlobSignatureValues{
		Protocol:      proto,
		ExpiryTime:    time.Now().UTC().Add(redirectExpiry),
		Permissions:   (&sas.BlobPermissions{Read: true}).String(),
		ContainerName: d.name,
		BlobName:      key,
	}.SignWithSharedKey(d.cred)
	if err != nil {
		return "", fmt.Errorf("azure driver: sign %s: %w", p, err)
	}
	segs := strings.Split(key, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return d.service + "/" + url.PathEscape(d.name) + "/" + strings.Join(segs, "/") + "?" + q.Encode(), nil
}

// Walk implements StorageDriver.
func (d *Driver) Walk(ctx context.Context, p string, f storagedriver.WalkFn, options ...func(*storagedriver.WalkOptions)) error {
	if err := storagepath.Check(Name, p, true); err != nil {
		return err
	}
	return storagedriver.WalkFallback(ctx, d, p, f, options...)
}

// deref is *p, or def when p is nil (the SDK's optional fields).
func deref[T any](p *T, def T) T {
	if p == nil {
		return def
	}
	return *p
}
