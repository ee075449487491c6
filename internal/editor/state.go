package editor

// The state directory keeps each user's working copy on disk, so it
// survives a logout, a second browser and a restart of the editor.
//
// Layout (directories 0700, files 0600):
//
//	<state dir>/
//	  <user>/working-copy.json   {"version":1,"rev":…,"loaded_rev":…,
//	                              "exported_rev":…,"mounted":…,
//	                              "work":<quay-config.tar.gz, base64>,
//	                              "base":<quay-config.tar.gz, base64>}
//
// The file is written whole after every change: to a temporary file in
// the same directory, fsynced, renamed over the old one, and the
// directory fsynced, so a crash leaves the old or the new copy, never a
// mix. It holds the bundle's secrets, hence 0600 in a 0700 directory.
// The default state directory is next to the bundle
// (<dir of bundle>/.<bundle name>.config-editor-state); --state-dir
// chooses another. When it cannot be created or written (a read-only
// mount), the editor uses a directory under the system temp dir and says
// so in its log: the working copy then survives logouts but not a restart
// of the container.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"sync"

	"github.com/quay-tools/config-editor/internal/bundle"
)

// stateFile is the name of a user's working copy in its directory.
const stateFile = "working-copy.json"

type stateStore struct {
	dir string
	log *slog.Logger
	mu  sync.Mutex // one write at a time per process
}

type savedCopy struct {
	Version     int    `json:"version"`
	Rev         int    `json:"rev"`
	LoadedRev   int    `json:"loaded_rev"`
	ExportedRev int    `json:"exported_rev"`
	Mounted     bool   `json:"mounted"`
	Work        []byte `json:"work"`
	Base        []byte `json:"base"`
}

// DefaultStateDir is the state directory used for a bundle path when
// --state-dir is not given: a hidden directory next to the bundle; ""
// (a private temporary directory) for setup sessions without a bundle.
func DefaultStateDir(bundlePath string) string {
	if bundlePath == "" {
		return ""
	}
	abs, err := filepath.Abs(bundlePath)
	if err != nil {
		return ""
	}
	return filepath.Join(filepath.Dir(abs), "."+filepath.Base(abs)+".config-editor-state")
}

// openStateStore makes dir usable (created 0700, writable), falling back
// to a private temporary directory with a warning; it never fails the
// start. An empty dir is the temporary directory without a warning.
func openStateStore(dir string, log *slog.Logger) *stateStore {
	var err error
	if dir != "" {
		if err = usableDir(dir); err == nil {
			log.Info("working copies are kept in the state directory", "state_dir", dir)
			return &stateStore{dir: dir, log: log}
		}
	}
	tmp, err2 := os.MkdirTemp("", "config-editor-state-")
	switch {
	case err2 != nil:
		log.Warn("WARNING: no writable state directory: working copies are kept in memory only and are lost when the editor stops",
			"state_dir", dir, "err", fmt.Sprint(err), "fallback_err", err2.Error())
		return nil
	case dir == "":
		log.Info("no bundle and no --state-dir: working copies are kept in a temporary directory and are lost when the container restarts", "state_dir", tmp)
	default:
		log.Warn("WARNING: the state directory is not writable; working copies are kept in a temporary directory instead and are lost when the container restarts: give a writable --state-dir",
			"state_dir", dir, "err", err.Error(), "using", tmp)
	}
	return &stateStore{dir: tmp, log: log}
}

// usableDir creates dir (0700) and proves it writable.
func usableDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".probe-*")
	if err != nil {
		return err
	}
	name := f.Name()
	f.Close()
	return os.Remove(name)
}

// userName keeps a user name usable as a directory name.
var userName = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)

func (st *stateStore) path(user string) (string, error) {
	if !userName.MatchString(user) || user == "." || user == ".." {
		return "", fmt.Errorf("user name %q cannot name a state directory", user)
	}
	return filepath.Join(st.dir, user, stateFile), nil
}

// save writes the copy (caller holds its lock). A failure is logged, not
// returned: the edit itself succeeded and stays in memory.
func (st *stateStore) save(cp *Copy) {
	if st == nil || cp.Work == nil {
		return
	}
	if err := st.write(cp); err != nil {
		st.log.Warn("cannot save the working copy in the state directory; it is kept in memory only",
			"user", cp.User, "state_dir", st.dir, "err", err.Error())
	}
}

func (st *stateStore) write(cp *Copy) error {
	p, err := st.path(cp.User)
	if err != nil {
		return err
	}
	work, err := cp.Work.TarGz()
	if err != nil {
		return err
	}
	base, err := cp.Base.TarGz()
	if err != nil {
		return err
	}
	data, err := json.Marshal(savedCopy{Version: 1, Rev: cp.Rev, LoadedRev: cp.loadedRev, ExportedRev: cp.exportedRev,
		Mounted: cp.Mounted, Work: work, Base: base})
	if err != nil {
		return err
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	return writeFileAtomic(p, data, 0o600)
}

// restore reads the user's saved copy into cp; false when there is none.
// A file that cannot be read is renamed aside (".bad") and reported.
func (st *stateStore) restore(cp *Copy, lim bundle.Limits) (bool, error) {
	if st == nil {
		return false, nil
	}
	p, err := st.path(cp.User)
	if err != nil {
		return false, err
	}
	data, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err == nil {
		err = decodeCopy(cp, data, lim)
	}
	if err != nil {
		_ = os.Rename(p, p+".bad")
		return false, err
	}
	return true, nil
}

func decodeCopy(cp *Copy, data []byte, lim bundle.Limits) error {
	var sc savedCopy
	if err := json.Unmarshal(data, &sc); err != nil {
		return err
	}
	if sc.Version != 1 || sc.Rev < 1 {
		return fmt.Errorf("unknown format version %d", sc.Version)
	}
	work, err := bundle.ReadTarGz(bytes.NewReader(sc.Work), lim)
	if err != nil {
		return fmt.Errorf("working copy: %w", err)
	}
	base, err := bundle.ReadTarGz(bytes.NewReader(sc.Base), lim)
	if err != nil {
		return fmt.Errorf("base: %w", err)
	}
	cp.Work, cp.Base = work, base
	cp.Rev, cp.loadedRev, cp.exportedRev, cp.Mounted = sc.Rev, sc.LoadedRev, sc.ExportedRev, sc.Mounted
	return nil
}

// writeFileAtomic writes data to path: a temporary file in the same
// directory (created 0700 if missing), fsynced, renamed over path, and the
// directory fsynced, so readers and crashes see the old or the new file.
func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err := f.Chmod(mode); err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	ok = true
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// sourcePath is where a working copy is loaded from: the mounted bundle;
// for a setup directory (mounted but without config.yaml), that directory
// once "Save to" wrote a config.yaml into it; "" for defaults.
func (s *Server) sourcePath() string {
	if s.cfg.BundlePath != "" {
		return s.cfg.BundlePath
	}
	if s.setupDir != "" {
		if _, err := os.Stat(filepath.Join(s.setupDir, bundle.ConfigFile)); err == nil {
			return s.setupDir
		}
	}
	return ""
}
