package registry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path"
	"sort"
	"strings"
	"sync"

	storagedriver "github.com/distribution/distribution/v3/registry/storage/driver"
	"github.com/opencontainers/go-digest"
)

// Geo-replication: one storage driver over every location.
//
// Quay's model (reference §4): one config.yaml for every region, one
// storage location per region, each cluster writes to its preferred
// location and reads from the first location that holds the object; blob
// data is copied to the default locations in the background; everything
// else lives in the shared database, so it is visible everywhere at once.
//
// The embedded runtime keeps its metadata (repository layer links,
// manifest revision links, tags, the referrers index, upload state) in the
// storage itself, so geoDriver splits the tree in two:
//
//   - blob data (under /docker/registry/v2/blobs/) and the data file of an
//     upload in progress are written to the preferred location only; a new
//     blob is handed to the replicator, which copies it to the default
//     locations in the background;
//   - everything else is metadata: written to every location at once, and
//     the write succeeds only when every location took it, so when a push
//     returns its tags and links are readable from every region.
//
// Reads try the preferred location first and fall back to the others, in
// preference order, when the object is not there.

// blobsPrefix is distribution's content-addressed blob store.
const blobsPrefix = "/docker/registry/v2/blobs/"

// geoLocation is one opened location.
type geoLocation struct {
	name string
	d    storagedriver.StorageDriver
}

// geoDriver implements storagedriver.StorageDriver over several locations.
type geoDriver struct {
	locs []geoLocation // preference order; locs[0] is where this process writes
	// bulk reports whether a path is bulk data (preferred location only).
	bulk func(p string) bool
	// onBlob is told about blob data committed to the preferred location.
	// It runs before the write returns; an error fails the write.
	onBlob func(ctx context.Context, p string) error
	// onDelete is told about bulk data deleted from the preferred location,
	// and about metadata a location failed to delete; it takes over the
	// deletion from the others (the replication queue). When nil, deletes
	// go to every location synchronously.
	onDelete func(ctx context.Context, p string, locations []string) error
}

// newGeoDriver builds the driver; locs are in preference order.
func newGeoDriver(locs []geoLocation) *geoDriver {
	return &geoDriver{locs: locs, bulk: isBulkPath}
}

// isBulkPath: blob data and the data file of an upload in progress.
func isBulkPath(p string) bool {
	if strings.HasPrefix(p, blobsPrefix) {
		return true
	}
	return strings.Contains(p, "/_uploads/") && path.Base(p) == "data"
}

// blobDigestOf returns the digest of a blob data path
// (/docker/registry/v2/blobs/<alg>/<2 hex>/<hex>/data), else "".
func blobDigestOf(p string) digest.Digest {
	if !strings.HasPrefix(p, blobsPrefix) || path.Base(p) != "data" {
		return ""
	}
	parts := strings.Split(strings.TrimPrefix(p, blobsPrefix), "/")
	if len(parts) != 4 {
		return ""
	}
	d := digest.NewDigestFromEncoded(digest.Algorithm(parts[0]), parts[2])
	if d.Validate() != nil {
		return ""
	}
	return d
}

func (g *geoDriver) preferred() storagedriver.StorageDriver { return g.locs[0].d }

// Name is the driver's name.
func (g *geoDriver) Name() string { return "config-editor-geo" }

func isNotFound(err error) bool {
	var nf storagedriver.PathNotFoundError
	return errors.As(err, &nf)
}

// firstHolding runs f on each location in preference order until one does
// not answer "not found". Other errors are remembered and returned only if
// no location has the object.
func firstHolding[T any](g *geoDriver, p string, f func(storagedriver.StorageDriver) (T, error)) (T, error) {
	var zero T
	var firstErr error
	for _, l := range g.locs {
		v, err := f(l.d)
		if err == nil {
			return v, nil
		}
		if len(g.locs) == 1 {
			return v, g.own(err)
		}
		if !isNotFound(err) && firstErr == nil {
			firstErr = g.own(err)
		}
	}
	if firstErr != nil {
		return zero, firstErr
	}
	return zero, storagedriver.PathNotFoundError{Path: p, DriverName: g.Name()}
}

// everywhere runs f on every location at once; the error names each
// location that failed.
func (g *geoDriver) everywhere(f func(storagedriver.StorageDriver) error) []error {
	errs := make([]error, len(g.locs))
	var wg sync.WaitGroup
	for i, l := range g.locs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = f(l.d)
		}()
	}
	wg.Wait()
	return errs
}

// own gives distribution's typed errors this driver's name, as callers
// and distribution's driver suite expect.
func (g *geoDriver) own(err error) error {
	switch e := err.(type) {
	case storagedriver.PathNotFoundError:
		e.DriverName = g.Name()
		return e
	case storagedriver.InvalidPathError:
		e.DriverName = g.Name()
		return e
	case storagedriver.InvalidOffsetError:
		e.DriverName = g.Name()
		return e
	}
	return err
}

// joinErrs names each location that failed; when every location failed
// alike (an invalid path), the first error is returned as it is.
func (g *geoDriver) joinErrs(errs []error, skipNotFound bool) error {
	alike := true
	for _, err := range errs {
		if err == nil || fmt.Sprintf("%T", err) != fmt.Sprintf("%T", errs[0]) {
			alike = false
		}
	}
	if alike {
		return g.own(errs[0])
	}
	var out []error
	for i, err := range errs {
		if err == nil || (skipNotFound && isNotFound(err)) {
			continue
		}
		out = append(out, fmt.Errorf("storage location %q: %w", g.locs[i].name, err))
	}
	return errors.Join(out...)
}

// GetContent reads from the first location holding the object.
func (g *geoDriver) GetContent(ctx context.Context, p string) ([]byte, error) {
	return firstHolding(g, p, func(d storagedriver.StorageDriver) ([]byte, error) { return d.GetContent(ctx, p) })
}

// PutContent writes bulk data to the preferred location, metadata to every
// location.
func (g *geoDriver) PutContent(ctx context.Context, p string, content []byte) error {
	if g.bulk(p) {
		if err := g.preferred().PutContent(ctx, p, content); err != nil {
			return g.own(err)
		}
		return g.committed(ctx, p)
	}
	return g.joinErrs(g.everywhere(func(d storagedriver.StorageDriver) error { return d.PutContent(ctx, p, content) }), false)
}

// committed tells the replicator about new blob data.
func (g *geoDriver) committed(ctx context.Context, p string) error {
	if g.onBlob == nil || blobDigestOf(p) == "" {
		return nil
	}
	return g.onBlob(ctx, p)
}

// Reader reads from the first location holding the object.
func (g *geoDriver) Reader(ctx context.Context, p string, offset int64) (io.ReadCloser, error) {
	return firstHolding(g, p, func(d storagedriver.StorageDriver) (io.ReadCloser, error) { return d.Reader(ctx, p, offset) })
}

// Writer writes bulk data to the preferred location and metadata to every
// location.
func (g *geoDriver) Writer(ctx context.Context, p string, appendTo bool) (storagedriver.FileWriter, error) {
	if g.bulk(p) {
		w, err := g.preferred().Writer(ctx, p, appendTo)
		if err != nil {
			return nil, g.own(err)
		}
		return &notifyWriter{FileWriter: w, g: g, p: p}, nil
	}
	ws := make([]storagedriver.FileWriter, 0, len(g.locs))
	for _, l := range g.locs {
		w, err := l.d.Writer(ctx, p, appendTo)
		if err != nil {
			for _, o := range ws {
				_ = o.Cancel(ctx)
				_ = o.Close()
			}
			return nil, fmt.Errorf("storage location %q: %w", l.name, err)
		}
		ws = append(ws, w)
	}
	return &fanoutWriter{ws: ws, g: g}, nil
}

// notifyWriter reports committed blob data.
type notifyWriter struct {
	storagedriver.FileWriter
	g *geoDriver
	p string
}

func (w *notifyWriter) Commit(ctx context.Context) error {
	if err := w.FileWriter.Commit(ctx); err != nil {
		return err
	}
	return w.g.committed(ctx, w.p)
}

// fanoutWriter writes the same bytes to one writer per location.
type fanoutWriter struct {
	ws []storagedriver.FileWriter
	g  *geoDriver
}

func (f *fanoutWriter) each(op func(storagedriver.FileWriter) error) error {
	errs := make([]error, len(f.ws))
	for i, w := range f.ws {
		errs[i] = op(w)
	}
	return f.g.joinErrs(errs, false)
}

func (f *fanoutWriter) Write(b []byte) (int, error) {
	for i, w := range f.ws {
		if _, err := w.Write(b); err != nil {
			return 0, fmt.Errorf("storage location %q: %w", f.g.locs[i].name, err)
		}
	}
	return len(b), nil
}

func (f *fanoutWriter) Size() int64 { return f.ws[0].Size() }
func (f *fanoutWriter) Close() error {
	return f.each(func(w storagedriver.FileWriter) error { return w.Close() })
}
func (f *fanoutWriter) Cancel(ctx context.Context) error {
	return f.each(func(w storagedriver.FileWriter) error { return w.Cancel(ctx) })
}
func (f *fanoutWriter) Commit(ctx context.Context) error {
	return f.each(func(w storagedriver.FileWriter) error { return w.Commit(ctx) })
}

// Stat answers from the first location holding the object.
func (g *geoDriver) Stat(ctx context.Context, p string) (storagedriver.FileInfo, error) {
	return firstHolding(g, p, func(d storagedriver.StorageDriver) (storagedriver.FileInfo, error) { return d.Stat(ctx, p) })
}

// List is the union of every location's listing, so an object written
// before a location was reachable again is still listed.
func (g *geoDriver) List(ctx context.Context, p string) ([]string, error) {
	lists := make([][]string, len(g.locs))
	errs := g.everywhere(func(d storagedriver.StorageDriver) error {
		var err error
		i := g.index(d)
		lists[i], err = d.List(ctx, p)
		return err
	})
	seen := map[string]bool{}
	var out []string
	found := false
	for i, l := range lists {
		if errs[i] != nil {
			continue
		}
		found = true
		for _, e := range l {
			if !seen[e] {
				seen[e] = true
				out = append(out, e)
			}
		}
	}
	if !found {
		if err := g.joinErrs(errs, true); err != nil {
			return nil, err
		}
		return nil, storagedriver.PathNotFoundError{Path: p, DriverName: g.Name()}
	}
	sort.Strings(out)
	return out, nil
}

func (g *geoDriver) index(d storagedriver.StorageDriver) int {
	for i, l := range g.locs {
		if l.d == d {
			return i
		}
	}
	return -1
}

// Move: bulk data moves within the preferred location (an upload becoming
// a blob); metadata moves in every location that has it.
func (g *geoDriver) Move(ctx context.Context, src, dst string) error {
	if g.bulk(src) || g.bulk(dst) {
		if err := g.preferred().Move(ctx, src, dst); err != nil {
			return g.own(err)
		}
		return g.committed(ctx, dst)
	}
	errs := g.everywhere(func(d storagedriver.StorageDriver) error { return d.Move(ctx, src, dst) })
	allMissing := true
	for _, err := range errs {
		if !isNotFound(err) {
			allMissing = false
		}
	}
	if allMissing {
		return storagedriver.PathNotFoundError{Path: src, DriverName: g.Name()}
	}
	return g.joinErrs(errs, true)
}

// Delete removes the object everywhere. Bulk data is deleted from the
// preferred location at once and from the others through onDelete (the
// replication queue) when set; a location that fails to delete metadata is
// handed to onDelete too, so the delete is retried there.
func (g *geoDriver) Delete(ctx context.Context, p string) error {
	if g.bulk(p) && g.onDelete != nil {
		err := g.preferred().Delete(ctx, p)
		if err != nil && !isNotFound(err) {
			return g.own(err)
		}
		others := make([]string, 0, len(g.locs)-1)
		for _, l := range g.locs[1:] {
			others = append(others, l.name)
		}
		if qerr := g.onDelete(ctx, p, others); qerr != nil {
			return qerr
		}
		return g.own(err) // not found in the preferred location is still "not found"
	}
	errs := g.everywhere(func(d storagedriver.StorageDriver) error { return d.Delete(ctx, p) })
	allMissing := true
	var failed []string
	for i, err := range errs {
		if !isNotFound(err) {
			allMissing = false
		}
		if err != nil && !isNotFound(err) {
			failed = append(failed, g.locs[i].name)
		}
	}
	if allMissing {
		return storagedriver.PathNotFoundError{Path: p, DriverName: g.Name()}
	}
	if len(failed) > 0 && g.onDelete != nil {
		// deleted where it could be; the queue finishes the job
		return g.onDelete(ctx, p, failed)
	}
	return g.joinErrs(errs, true)
}

// RedirectURL sends the client to the first location holding the object.
func (g *geoDriver) RedirectURL(r *http.Request, p string) (string, error) {
	return firstHolding(g, p, func(d storagedriver.StorageDriver) (string, error) {
		if _, err := d.Stat(r.Context(), p); err != nil {
			return "", err
		}
		return d.RedirectURL(r, p)
	})
}

// Walk walks the union of the locations.
func (g *geoDriver) Walk(ctx context.Context, p string, f storagedriver.WalkFn, options ...func(*storagedriver.WalkOptions)) error {
	return storagedriver.WalkFallback(ctx, g, p, f, options...)
}

// OpenGeo is the StorageOpener for several locations: every translated
// location is opened, in preference order; with one location it is
// OpenPreferred.
func OpenGeo(ctx context.Context, st StorageConfig) (storagedriver.StorageDriver, error) {
	if len(st.Locations) < 2 {
		return OpenPreferred(ctx, st)
	}
	var locs []geoLocation
	for _, name := range st.Preference {
		loc, _ := st.Location(name)
		d, err := OpenLocation(ctx, loc)
		if err != nil {
			return nil, err
		}
		locs = append(locs, geoLocation{name: name, d: d})
	}
	if len(locs) == 0 {
		return nil, fmt.Errorf("no storage location to serve")
	}
	return newGeoDriver(locs), nil
}

// location returns the driver of the named location.
func (g *geoDriver) location(name string) (storagedriver.StorageDriver, bool) {
	for _, l := range g.locs {
		if l.name == name {
			return l.d, true
		}
	}
	return nil, false
}
