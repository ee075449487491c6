package bundle

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"time"
)

// TarballName and TarballType describe the download.
const (
	TarballName = "quay-config.tar.gz"
	TarballType = "application/gzip"
)

// epoch is the fixed modification time of tarball entries, so the same
// bundle always produces the same bytes.
var epoch = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)

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
	r := &dirReader{root: rootReal, lim: lim, files: map[string][]byte{}, visiting: map[string]bool{}}
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
	total    int64
	entries  int
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
		r.entries++
		if r.entries > r.lim.MaxFiles {
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
		if st.Size() > r.lim.MaxFileBytes {
			return fmt.Errorf("%s is %d bytes, over the limit of %d", childRel, st.Size(), r.lim.MaxFileBytes)
		}
		r.total += st.Size()
		if r.total > r.lim.MaxTotalBytes {
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

func fileMode(name string) fs.FileMode {
	if IsKeyFile(name) || name == ConfigFile {
		return 0o600
	}
	return 0o644
}

// ReadTarGz reads quay-config.tar.gz (a plain tar is accepted too). It
// refuses links, devices, absolute or climbing names, duplicates and
// anything over the limits, counting uncompressed bytes.
func ReadTarGz(r io.Reader, lim Limits) (*Bundle, error) {
	lim = lim.orDefault()
	br := bufio.NewReader(r)
	var tr *tar.Reader
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("tarball: not valid gzip: %w", err)
		}
		defer zr.Close()
		// the whole stream, tar padding included, may not exceed the budget
		tr = tar.NewReader(io.LimitReader(zr, lim.MaxTotalBytes+int64(lim.MaxFiles+2)*1024))
	} else {
		tr = tar.NewReader(br)
	}
	var cfg []byte
	files := map[string][]byte{}
	dirs := map[string]bool{} // directory entries, to refuse a file of the same name
	var total int64
	entries := 0
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("tarball: %w", err)
		}
		entries++
		if entries > lim.MaxFiles {
			return nil, fmt.Errorf("tarball: more than %d entries", lim.MaxFiles)
		}
		if h.Typeflag == tar.TypeDir && h.Size == 0 && (h.Name == "./" || h.Name == ".") {
			continue // "tar -C dir -czf x.tgz ." writes the directory itself
		}
		name, err := CleanName(h.Name)
		if err != nil {
			return nil, fmt.Errorf("tarball: %w", err)
		}
		switch h.Typeflag {
		case tar.TypeDir:
			if h.Size != 0 {
				// the reader would skip that many bytes of (decompressed) input
				return nil, fmt.Errorf("tarball: directory %s claims %d bytes of data", name, h.Size)
			}
			dirs[name] = true
			continue
		case tar.TypeReg: // archive/tar reports old TypeRegA entries as TypeReg
		case tar.TypeSymlink, tar.TypeLink:
			return nil, fmt.Errorf("tarball: %s is a link; bundles hold regular files only", name)
		default:
			return nil, fmt.Errorf("tarball: %s is not a regular file (type %q)", name, h.Typeflag)
		}
		if h.Size > lim.MaxFileBytes {
			return nil, fmt.Errorf("tarball: %s is %d bytes, over the limit of %d", name, h.Size, lim.MaxFileBytes)
		}
		total += h.Size
		if total > lim.MaxTotalBytes {
			return nil, fmt.Errorf("tarball: files add up to more than %d bytes", lim.MaxTotalBytes)
		}
		data, err := io.ReadAll(io.LimitReader(tr, h.Size))
		if err != nil {
			return nil, fmt.Errorf("tarball: %s: %w", name, err)
		}
		if _, dup := files[name]; dup || (name == ConfigFile && cfg != nil) {
			return nil, fmt.Errorf("tarball: %s appears twice", name)
		}
		if name == ConfigFile {
			cfg = data
		} else {
			files[name] = data
		}
	}
	if cfg == nil {
		return nil, errors.New("tarball has no config.yaml")
	}
	if err := checkFileDirClash(files, dirs); err != nil {
		return nil, fmt.Errorf("tarball: %w", err)
	}
	b, err := New(cfg, lim)
	if err != nil {
		return nil, err
	}
	b.files = files
	return b, nil
}

// WriteTarGz writes the bundle as quay-config.tar.gz: config.yaml first,
// then directories and files in name order, fixed times, 0600 for keys.
func (b *Bundle) WriteTarGz(w io.Writer) error {
	zw, _ := gzip.NewWriterLevel(w, gzip.BestCompression)
	zw.ModTime = epoch
	tw := tar.NewWriter(zw)
	put := func(name string, data []byte) error {
		h := &tar.Header{Name: name, Mode: int64(fileMode(name)), Size: int64(len(data)), ModTime: epoch,
			Typeflag: tar.TypeReg, Format: tar.FormatPAX, Uname: "root", Gname: "root"}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		_, err := tw.Write(data)
		return err
	}
	if err := put(ConfigFile, b.cfg.Bytes()); err != nil {
		return err
	}
	dirs := map[string]bool{}
	for _, name := range b.FileNames() {
		if i := strings.LastIndexByte(name, '/'); i > 0 {
			for _, d := range parentDirs(name[:i]) {
				if dirs[d] {
					continue
				}
				dirs[d] = true
				if err := tw.WriteHeader(&tar.Header{Name: d + "/", Mode: 0o755, ModTime: epoch,
					Typeflag: tar.TypeDir, Format: tar.FormatPAX, Uname: "root", Gname: "root"}); err != nil {
					return err
				}
			}
		}
		if err := put(name, b.files[name]); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return zw.Close()
}

// checkFileDirClash refuses a set of names where one file would have to
// be the directory of another ("a" and "a/b", "config.yaml" and
// "config.yaml/x"), or where a declared directory is also a file. The
// error names both paths.
func checkFileDirClash(files map[string][]byte, dirs map[string]bool) error {
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names) // the same error for the same input
	for _, name := range names {
		for dir := range parents(name) {
			if _, isFile := files[dir]; isFile || dir == ConfigFile {
				return clashError(dir, name)
			}
		}
	}
	dirNames := make([]string, 0, len(dirs))
	for d := range dirs {
		dirNames = append(dirNames, d)
	}
	sort.Strings(dirNames)
	for _, d := range dirNames {
		if _, isFile := files[d]; isFile || d == ConfigFile {
			return fmt.Errorf("%s is both a file and a directory entry", d)
		}
		for dir := range parents(d) {
			if _, isFile := files[dir]; isFile || dir == ConfigFile {
				return clashError(dir, d+"/")
			}
		}
	}
	return nil
}

func parentDirs(dir string) []string {
	var out []string
	parts := strings.Split(dir, "/")
	for i := range parts {
		out = append(out, strings.Join(parts[:i+1], "/"))
	}
	return out
}

// TarGz returns the tarball bytes.
func (b *Bundle) TarGz() ([]byte, error) {
	var buf bytes.Buffer
	err := b.WriteTarGz(&buf)
	return buf.Bytes(), err
}

// ConfigBundle is the JSON body of the historical API.
type ConfigBundle struct {
	Config             json.RawMessage   `json:"config.yaml"`
	Certs              map[string]string `json:"certs,omitempty"`
	ManagedFieldGroups []string          `json:"managedFieldGroups,omitempty"`
}

// FromValue builds a bundle whose config.yaml is the YAML rendering of a
// plain value, keys sorted.
func FromValue(v map[string]any, lim Limits) (*Bundle, error) {
	b, err := New(nil, lim)
	if err != nil {
		return nil, err
	}
	if err := b.cfg.Apply(v); err != nil {
		return nil, err
	}
	return b, nil
}

// JSON returns the bundle as a ConfigBundle with config.yaml as an object.
func (b *Bundle) JSON(managed []string) ([]byte, error) {
	cfg, err := json.Marshal(b.cfg.Value())
	if err != nil {
		return nil, err
	}
	cb := ConfigBundle{Config: cfg, Certs: map[string]string{}, ManagedFieldGroups: managed}
	for name, data := range b.files {
		cb.Certs[name] = base64.StdEncoding.EncodeToString(data)
	}
	return json.Marshal(cb)
}

var secretKeyRE = regexp.MustCompile(`^[-._a-zA-Z0-9]+$`)

// SecretData flattens the bundle into Kubernetes Secret data: config.yaml,
// extra_ca_certs/X as extra_ca_cert_X, every other file under its name.
func (b *Bundle) SecretData() (map[string][]byte, error) {
	out := map[string][]byte{ConfigFile: b.cfg.Bytes()}
	for name, data := range b.files {
		key := name
		if strings.HasPrefix(name, ExtraCAPrefix) {
			key = FlatExtraCAPrefix + strings.TrimPrefix(name, ExtraCAPrefix)
		}
		if !secretKeyRE.MatchString(key) || len(key) > 253 {
			return nil, fmt.Errorf("file %q cannot be stored as a Secret key (letters, digits, '-', '_', '.' only)", name)
		}
		if _, dup := out[key]; dup {
			return nil, fmt.Errorf("files %q and %q both flatten to Secret key %q", name, key, key)
		}
		out[key] = bytes.Clone(data)
	}
	return out, nil
}

// FromSecretData reads Kubernetes Secret data. Flat extra_ca_cert_X keys
// come back as extra_ca_certs/X so a round trip through a Secret and a
// directory agrees with the Operator's own mounting.
func FromSecretData(data map[string][]byte, lim Limits) (*Bundle, error) {
	lim = lim.orDefault()
	cfg, ok := data[ConfigFile]
	if !ok {
		return nil, errors.New("secret has no config.yaml key")
	}
	b, err := New(cfg, lim)
	if err != nil {
		return nil, err
	}
	var total int64
	for key, content := range data {
		if key == ConfigFile {
			continue
		}
		total += int64(len(content))
		if total > lim.MaxTotalBytes {
			return nil, fmt.Errorf("secret data adds up to more than %d bytes", lim.MaxTotalBytes)
		}
		if !secretKeyRE.MatchString(key) || key == "." || key == ".." || len(key) > 253 {
			return nil, fmt.Errorf("secret key %q is not a valid key (letters, digits, '-', '_', '.' only)", key)
		}
		name := key
		if strings.HasPrefix(key, FlatExtraCAPrefix) && len(key) > len(FlatExtraCAPrefix) {
			name = ExtraCAPrefix + strings.TrimPrefix(key, FlatExtraCAPrefix)
		}
		if err := b.SetFile(name, content); err != nil {
			return nil, err
		}
	}
	return b, nil
}

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
