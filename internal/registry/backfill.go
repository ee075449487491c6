package registry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"

	storagedriver "github.com/distribution/distribution/v3/registry/storage/driver"
)

// BackfillProgress is reported while a backfill runs.
type BackfillProgress struct {
	Phase  string // "listing <location>" or "queueing"
	Done   int
	Total  int
	Queued int
}

// Backfill queues a copy of every blob that a default location lacks
// (Quay's util.backfillreplication): after a location is added to
// DISTRIBUTED_STORAGE_DEFAULT_LOCATIONS, or to catch up blobs that reached
// a location without being queued. The running registries' workers do the
// copies. It returns how many copies it queued.
func Backfill(ctx context.Context, cfg *Config, progress func(BackfillProgress)) (int, error) {
	if progress == nil {
		progress = func(BackfillProgress) {}
	}
	st := cfg.Storage
	if len(st.Locations) < 2 {
		return 0, errors.New("backfill needs at least two storage locations in DISTRIBUTED_STORAGE_CONFIG")
	}
	if len(st.DefaultLocations) == 0 {
		return 0, errors.New("DISTRIBUTED_STORAGE_DEFAULT_LOCATIONS is empty: no location to backfill")
	}
	d, err := OpenGeo(ctx, st)
	if err != nil {
		return 0, err
	}
	g := d.(*geoDriver)
	pool, err := OpenQueue(ctx, cfg)
	if err != nil {
		return 0, err
	}
	r := newReplicator(pool, g, st, ReplicationOptions{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	defer r.Close()

	// which location holds which blob
	holders := map[string][]string{}
	for _, l := range g.locs {
		progress(BackfillProgress{Phase: "listing " + l.name})
		err := l.d.Walk(ctx, blobsPrefix[:len(blobsPrefix)-1], func(fi storagedriver.FileInfo) error {
			if !fi.IsDir() && blobDigestOf(fi.Path()) != "" {
				holders[fi.Path()] = append(holders[fi.Path()], l.name)
			}
			return nil
		})
		if err != nil && !isNotFound(err) {
			return 0, fmt.Errorf("listing the blobs of storage location %q: %w", l.name, err)
		}
	}
	paths := make([]string, 0, len(holders))
	for p := range holders {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	queued := 0
	for i, p := range paths {
		has := map[string]bool{}
		for _, n := range holders[p] {
			has[n] = true
		}
		var missing []string
		for _, n := range r.targets("") {
			if !has[n] {
				missing = append(missing, n)
			}
		}
		if len(missing) > 0 {
			if err := r.EnqueueCopy(ctx, p, holders[p][0], missing); err != nil {
				return queued, err
			}
			queued += len(missing)
		}
		progress(BackfillProgress{Phase: "queueing", Done: i + 1, Total: len(paths), Queued: queued})
	}
	return queued, nil
}
