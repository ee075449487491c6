package validators

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"

	"github.com/quay-tools/config-editor/internal/problem"
)

// probeLocal proves storage_path writable by creating, reading and removing
// a file. This necessarily happens on the machine running the validator,
// which is only Quay's own filesystem when the validator runs inside the
// Quay container: every message says so.
func (c *Context) probeLocal(l *problem.List, loc StorageLocation) {
	dir := loc.Arg("storage_path")
	what := "Storage location " + strconv.Quote(loc.Name) + " (LocalStorage)"
	here := " (checked on the machine running the validator, which is Quay's filesystem only when the validator runs in the Quay container)"
	path := locationArgPath(loc.Name, "storage_path")
	tags := []string{"DISTRIBUTED_STORAGE_CONFIG"}
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		l.ErrorTags(groupStorage, path, tags, "%s: storage_path %s does not exist%s.", what, strconv.Quote(dir), here)
		return
	case err != nil:
		l.ErrorTags(groupStorage, path, tags, "%s: storage_path %s cannot be read: %s%s.", what, strconv.Quote(dir), fsWords(err), here)
		return
	case !fi.IsDir():
		l.ErrorTags(groupStorage, path, tags, "%s: storage_path %s is not a directory%s.", what, strconv.Quote(dir), here)
		return
	}
	name := filepath.Join(dir, probeObjectName())
	payload := []byte("config-editor storage probe\n")
	if err := os.WriteFile(name, payload, 0o600); err != nil {
		l.ErrorTags(groupStorage, path, tags, "%s: cannot write a test file in storage_path %s: %s%s.", what, strconv.Quote(dir), fsWords(err), here)
		return
	}
	got, err := os.ReadFile(name)
	switch {
	case err != nil:
		l.ErrorTags(groupStorage, path, tags, "%s: wrote a test file in storage_path %s but cannot read it back: %s%s.", what, strconv.Quote(dir), fsWords(err), here)
	case !bytes.Equal(got, payload):
		l.ErrorTags(groupStorage, path, tags, "%s: the test file read back from storage_path %s differs from what was written%s.", what, strconv.Quote(dir), here)
	}
	if err := os.Remove(name); err != nil {
		l.ErrorTags(groupStorage, path, tags, "%s: cannot remove the test file %s: %s%s.", what, strconv.Quote(name), fsWords(err), here)
		return
	}
	if !problem.HasErrors(*l) {
		l.Passedf(groupStorage, path, "%s: wrote, read back and removed a test file in %s.", what, strconv.Quote(dir))
	}
}

func fsWords(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	if errors.Is(err, fs.ErrPermission) {
		return "permission denied"
	}
	return err.Error()
}
