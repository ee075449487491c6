package registry

import (
	"context"
	"fmt"

	storagedriver "github.com/distribution/distribution/v3/registry/storage/driver"
	"github.com/distribution/distribution/v3/registry/storage/driver/factory"

	"github.com/quay-tools/config-editor/internal/registry/fsdriver"
	"github.com/quay-tools/config-editor/internal/registry/s3driver"

	// The distribution driver still used (Azure); LocalStorage and
	// S3-compatible storage are served by fsdriver and s3driver.
	_ "github.com/distribution/distribution/v3/registry/storage/driver/azure"
)

// openDriver opens the storage driver named by a Location's Driver with
// the parameters the translation built (a copy: drivers may keep it).
func openDriver(ctx context.Context, driver string, params map[string]any) (storagedriver.StorageDriver, error) {
	switch driver {
	case DriverFilesystem:
		return fsdriver.FromParameters(params)
	case DriverS3:
		return s3driver.FromParameters(params)
	case DriverAzure:
		return factory.Create(ctx, "azure", params)
	}
	return nil, fmt.Errorf("unknown storage driver %q", driver)
}
