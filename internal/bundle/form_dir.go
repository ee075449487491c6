package bundle

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
)

// Read opens a bundle from a path: a directory, a .tar.gz/.tgz/.tar file,
// or a bare config.yaml.
// Anything else (a named pipe, a device, a socket) is refused before it
// is opened, so reading never blocks on it.
func Read(p string, lim Limits) (*Bundle, error) {
	st, err := os.Stat(p)
	if err != nil {
		return nil, err
	}
	if st.IsDir() {
		return ReadDir(p, lim)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is %s; a bundle is a directory, a quay-config.tar.gz or a config.yaml", p, fileKind(st.Mode()))
	}
	lim = lim.orDefault()
	if strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".yml") {
		data, err := readLimited(p, lim.MaxFileBytes)
		if err != nil {
			return nil, err
		}
		return New(data, lim)
	}
	f, err := openRegular(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ReadTarGz(f, lim)
}

// ReadDir reads a bundle directory such as /conf/stack. Kubernetes Secret
// volumes are directories of symlinks into a hidden "..data" folder: links
// that stay inside the directory are followed (to files and to
// directories, as the kubelet makes for items with a path), entries
// starting with ".." are skipped, and links that leave it are refused.
func ReadDir(dir string, lim Limits) (*Bundle, error) {
	lim = lim.orDefault()
	root, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	rootReal, err := filepath.EvalSymlinks(root)
	if err != nil {
		return nil, fmt.Errorf("bundle directory: %w", err)
	}
	info, err := os.Stat(rootReal)
	if err != nil {
		return nil, fmt.Errorf("bundle directory: %w", err)
	}
	if !info.IsDir() {
		return nil, fmt.Errorf("%s is not a directory", dir)
	}
	r := &dirReader{root: rootReal, lim: lim, budget: budget{lim: lim}, files: map[string][]byte{}, visiting: map[string]bool{}}
	if err := r.walk(rootReal, ""); err != nil {
		return nil, fmt.Errorf("reading bundle %s: %w", dir, err)
	}
	if r.cfg == nil {
		return nil, fmt.Errorf("bundle %s has no config.yaml", dir)
	}
	if err := checkFileDirClash(r.files, nil); err != nil {
		return nil, fmt.Errorf("reading bundle %s: %w", dir, err)
	}
	b, err := New(r.cfg, lim)
	if err != nil {
		return nil, err
	}
	b.files = r.files
	return b, nil
}

type dirReader struct {
	root     string
	lim      Limits
	cfg      []byte
	files    map[string][]byte
	budget   budget
	visiting map[string]bool // real paths of the directories being walked
}

func (r *dirReader) walk(real, rel string) error {
	if r.visiting[real] {
		return fmt.Errorf("%s: directory link loop", rel)
	}
	r.visiting[real] = true
	defer delete(r.visiting, real)
	f, err := os.Open(real)
	if err != nil {
		return err
	}
	// read one entry more than allowed: a directory of a million files is
	// refused without listing it all
	des, err := f.ReadDir(r.lim.MaxFiles + 1)
	f.Close()
	if err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	sort.Slice(des, func(i, j int) bool { return des[i].Name() < des[j].Name() })
	for _, de := range des {
		name := de.Name()
		if strings.HasPrefix(name, "..") {
			continue
		}
		if !r.budget.entry() {
			return fmt.Errorf("more than %d files", r.lim.MaxFiles)
		}
		childRel := name
		if rel != "" {
			childRel = rel + "/" + name
		}
		if _, err := CleanName(childRel); err != nil {
			return err
		}
		p := filepath.Join(real, name)
		target := p
		if de.Type()&fs.ModeSymlink != 0 {
			t, err := filepath.EvalSymlinks(p)
			if err != nil {
				return fmt.Errorf("%s: broken link: %w", childRel, err)
			}
			if t != r.root && !strings.HasPrefix(t, r.root+string(filepath.Separator)) {
				return fmt.Errorf("%s: link points outside the bundle directory", childRel)
			}
			target = t
		}
		st, err := os.Stat(target)
		if err != nil {
			return err
		}
		if st.IsDir() {
			if childRel == ConfigFile {
				return fmt.Errorf("%s is a directory; it must be the config file", childRel)
			}
			if err := r.walk(target, childRel); err != nil {
				return err
			}
			continue
		}
		if !st.Mode().IsRegular() {
			return fmt.Errorf("%s is %s, not a regular file; a bundle holds regular files only", childRel, fileKind(st.Mode()))
		}
		if !r.budget.fileFits(st.Size()) {
			return fmt.Errorf("%s is %d bytes, over the limit of %d", childRel, st.Size(), r.lim.MaxFileBytes)
		}
		if !r.budget.add(st.Size()) {
			return fmt.Errorf("files add up to more than %d bytes", r.lim.MaxTotalBytes)
		}
		data, err := readLimited(target, r.lim.MaxFileBytes)
		if err != nil {
			return err
		}
		if childRel == ConfigFile {
			r.cfg = data
		} else {
			r.files[childRel] = data
		}
	}
	return nil
}

// openRegular opens a file that must be a regular file. It opens without
// blocking (a named pipe with no writer would otherwise block forever, and
// a path can change between a Stat and the open) and then checks the type
// of what it opened.
func openRegular(name string) (*os.File, error) {
	f, err := os.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("%s is %s, not a regular file", name, fileKind(st.Mode()))
	}
	return f, nil
}

// fileKind names the type of a file for an error message.
func fileKind(m fs.FileMode) string {
	switch {
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe (FIFO)"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a block device"
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	case m.IsDir():
		return "a directory"
	case m.IsRegular():
		return "a regular file"
	}
	return "a special file"
}

func readLimited(name string, max int64) ([]byte, error) {
	f, err := openRegular(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("%s grew past %d bytes while reading", name, max)
	}
	return data, nil
}

// WriteDir writes the bundle into dir (created if needed). Existing files
// that the bundle does not name are left alone. Key files get mode 0600.
func (b *Bundle) WriteDir(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	write := func(name string, data []byte) error {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		tmp := p + ".tmp"
		if err := os.WriteFile(tmp, data, fileMode(name)); err != nil {
			return err
		}
		return os.Rename(tmp, p)
	}
	if err := write(ConfigFile, b.cfg.Bytes()); err != nil {
		return err
	}
	for _, name := range b.FileNames() {
		if err := write(name, b.files[name]); err != nil {
			return err
		}
	}
	return nil
}
