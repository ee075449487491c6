// Package drivertest runs distribution's storage driver conformance suite
// (testsuites.Driver) on the registry runtime's own drivers, for their
// tests.
package drivertest

import (
	"flag"
	"testing"

	storagedriver "github.com/distribution/distribution/v3/registry/storage/driver"
	"github.com/distribution/distribution/v3/registry/storage/driver/testsuites"
)

// Suite runs the conformance suite on the drivers open returns, in short
// mode: its 5 GB streams are skipped, everything else runs.
func Suite(t *testing.T, open func() storagedriver.StorageDriver) {
	t.Helper()
	if !testing.Short() {
		_ = flag.Set("test.short", "true")
		defer func() { _ = flag.Set("test.short", "false") }()
	}
	testsuites.Driver(t, func() (storagedriver.StorageDriver, error) { return open(), nil }, false)
}
