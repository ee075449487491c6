// Package storagepath is what the registry runtime's storage drivers
// (fsdriver, s3driver, azuredriver) share about distribution's storage
// paths: which ones a driver accepts, and how an object store names them
// below a root directory.
package storagepath

import (
	"path"
	"strings"

	storagedriver "github.com/distribution/distribution/v3/registry/storage/driver"
)

// Check refuses the paths distribution does not allow, and "." and ".."
// segments, which its pattern lets through but which would name something
// outside the root; the root "/" is accepted only where allowRoot. The
// error names the driver.
func Check(driver, p string, allowRoot bool) error {
	if allowRoot && p == "/" {
		return nil
	}
	if !storagedriver.PathRegexp.MatchString(p) || path.Clean(p) != p {
		return storagedriver.InvalidPathError{Path: p, DriverName: driver}
	}
	return nil
}

// Keys maps paths to the object names of a store below a root directory:
// with the root "dir/sub", "/a/b" is "dir/sub/a/b"; without one, "a/b".
type Keys struct {
	root string // "" or "dir/sub/" (with the slash)
}

// NewKeys returns the mapping below rootDirectory (leading and trailing
// slashes do not matter).
func NewKeys(rootDirectory string) Keys {
	root := strings.Trim(rootDirectory, "/")
	if root != "" {
		root += "/"
	}
	return Keys{root: root}
}

// Root is the prefix of every name: "" or "dir/sub/".
func (k Keys) Root() string { return k.root }

// Key is the object name of a path.
func (k Keys) Key(p string) string { return k.root + strings.TrimPrefix(p, "/") }

// Dir is the prefix of the names below a path.
func (k Keys) Dir(p string) string {
	if p == "/" {
		return k.root
	}
	return k.Key(p) + "/"
}

// Path is the path of an object name below the root (the inverse of Key).
func (k Keys) Path(key string) string { return "/" + strings.TrimPrefix(key, k.root) }
