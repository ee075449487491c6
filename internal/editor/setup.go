package editor

// A mounted directory without config.yaml (a freshly mounted empty
// volume) starts setup sessions with defaults instead of failing; the
// editor writes the working copy into it only when the admin asks ("Save
// to <dir>" on the overview, POST /api/v1/config/save).

import (
	"os"
	"path/filepath"

	"github.com/quay-tools/config-editor/internal/bundle"
)

// emptyBundleDir reports whether p is a directory without config.yaml.
func emptyBundleDir(p string) bool {
	info, err := os.Stat(p)
	if err != nil || !info.IsDir() {
		return false
	}
	_, err = os.Stat(filepath.Join(p, bundle.ConfigFile))
	return os.IsNotExist(err)
}

// saveBundleDir writes the bundle into dir, each file atomically
// (temporary file, fsync, rename); key files get 0600, others 0644.
// Files of dir that the bundle does not name are left alone.
func saveBundleDir(dir string, b *bundle.Bundle) error {
	if err := writeFileAtomic(filepath.Join(dir, bundle.ConfigFile), b.Config().Bytes(), 0o644); err != nil {
		return err
	}
	for _, name := range b.FileNames() {
		data, _ := b.File(name)
		mode := os.FileMode(0o644)
		if bundle.IsKeyFile(name) {
			mode = 0o600
		}
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := writeFileAtomic(p, data, mode); err != nil {
			return err
		}
	}
	return nil
}
