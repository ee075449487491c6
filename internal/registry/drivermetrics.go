package registry

import (
	"context"
	"errors"
	"io"
	"net/http"
	"sync"
	"time"

	dmetrics "github.com/distribution/distribution/v3/metrics"
	storagedriver "github.com/distribution/distribution/v3/registry/storage/driver"
	gometrics "github.com/docker/go-metrics"
	"github.com/prometheus/client_golang/prometheus"
)

// Storage metrics. distribution keeps its storage metrics in one go-metrics
// namespace, registry_storage: the blob-descriptor cache's counters and
// timers, and registry_storage_action_seconds, the time of each storage
// driver call, which its driver base recorded and registered the
// namespace for. The runtime's drivers have no such base, so timedDriver
// records the same histogram (labels driver and action) and the first
// driver opened registers the namespace in the default Prometheus registry
// that /metrics serves.
var (
	storageMetricsOnce sync.Once
	storageAction      gometrics.LabeledTimer
)

func storageActionTimer() gometrics.LabeledTimer {
	storageMetricsOnce.Do(func() {
		// the timer is added before the namespace is registered, so that
		// the registry has its description
		storageAction = dmetrics.StorageNamespace.NewLabeledTimer("action", "The number of seconds that the storage action takes", "driver", "action")
		// Already registered only where distribution's driver base is
		// linked too (a test binary that runs plain distribution as a
		// baseline); its own timer is then the one served.
		var dup prometheus.AlreadyRegisteredError
		if err := prometheus.Register(dmetrics.StorageNamespace); err != nil && !errors.As(err, &dup) {
			panic(err) // the namespace's collectors are inconsistent: a bug
		}
	})
	return storageAction
}

// timedDriver times each call of the driver it wraps.
type timedDriver struct {
	storagedriver.StorageDriver
	timer gometrics.LabeledTimer
}

func withStorageMetrics(d storagedriver.StorageDriver) storagedriver.StorageDriver {
	return &timedDriver{StorageDriver: d, timer: storageActionTimer()}
}

func (t *timedDriver) since(action string, start time.Time) {
	t.timer.WithValues(t.Name(), action).UpdateSince(start)
}

func (t *timedDriver) GetContent(ctx context.Context, path string) ([]byte, error) {
	defer t.since("GetContent", time.Now())
	return t.StorageDriver.GetContent(ctx, path)
}

func (t *timedDriver) PutContent(ctx context.Context, path string, content []byte) error {
	defer t.since("PutContent", time.Now())
	return t.StorageDriver.PutContent(ctx, path, content)
}

func (t *timedDriver) Reader(ctx context.Context, path string, offset int64) (io.ReadCloser, error) {
	defer t.since("Reader", time.Now())
	return t.StorageDriver.Reader(ctx, path, offset)
}

func (t *timedDriver) Writer(ctx context.Context, path string, append bool) (storagedriver.FileWriter, error) {
	defer t.since("Writer", time.Now())
	return t.StorageDriver.Writer(ctx, path, append)
}

func (t *timedDriver) Stat(ctx context.Context, path string) (storagedriver.FileInfo, error) {
	defer t.since("Stat", time.Now())
	return t.StorageDriver.Stat(ctx, path)
}

func (t *timedDriver) List(ctx context.Context, path string) ([]string, error) {
	defer t.since("List", time.Now())
	return t.StorageDriver.List(ctx, path)
}

func (t *timedDriver) Move(ctx context.Context, sourcePath, destPath string) error {
	defer t.since("Move", time.Now())
	return t.StorageDriver.Move(ctx, sourcePath, destPath)
}

func (t *timedDriver) Delete(ctx context.Context, path string) error {
	defer t.since("Delete", time.Now())
	return t.StorageDriver.Delete(ctx, path)
}

func (t *timedDriver) RedirectURL(r *http.Request, path string) (string, error) {
	defer t.since("RedirectURL", time.Now())
	return t.StorageDriver.RedirectURL(r, path)
}

func (t *timedDriver) Walk(ctx context.Context, path string, f storagedriver.WalkFn, options ...func(*storagedriver.WalkOptions)) error {
	defer t.since("Walk", time.Now())
	return t.StorageDriver.Walk(ctx, path, f, options...)
}
