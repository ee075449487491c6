package bundle

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"strings"
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
	used := budget{lim: lim}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("tarball: %w", err)
		}
		if !used.entry() {
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
		if !used.fileFits(h.Size) {
			return nil, fmt.Errorf("tarball: %s is %d bytes, over the limit of %d", name, h.Size, lim.MaxFileBytes)
		}
		if !used.add(h.Size) {
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
