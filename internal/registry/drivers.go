package registry

import (
	"context"
	"fmt"

	storagedriver "github.com/distribution/distribution/v3/registry/storage/driver"

	"github.com/quay-tools/config-editor/internal/registry/azuredriver"
	"github.com/quay-tools/config-editor/internal/registry/fsdriver"
	"github.com/quay-tools/config-editor/internal/registry/s3driver"
)

// openDriver opens the storage driver named by a Location's Driver with
// the parameters the translation built (a copy: drivers may keep it).
// Every driver is this module's own: none links distribution's driver
// base and its OpenTelemetry exporters.
func openDriver(_ context.Context, driver string, params map[string]any) (storagedriver.StorageDriver, error) {
	switch driver {
	case DriverFilesystem:
		return fsdriver.FromParameters(params)
	case DriverS3:
		return s3driver.FromParameters(params)
	case DriverAzure:
		return azuredriver.FromParameters(params)
	}
	return nil, fmt.Errorf("unknown storage driver %q", driver)
}
