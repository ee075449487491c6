// Package bundle owns the model of a Quay config bundle: config.yaml kept as
// its original text plus a yaml.v3 node tree (so comments, key order and
// unknown keys survive edits), and every other file of the bundle verbatim.
// It reads and writes the bundle's four forms: a directory, a
// quay-config.tar.gz, the JSON ConfigBundle of the historical API and the
// data of a Kubernetes Secret.
//
// Each form has its own file (form_dir.go, form_targz.go, form_json.go,
// form_secret.go) and all of them read within the same Limits
// (limits.go). config.yaml itself is a Document (document*.go).
package bundle

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
)

// ConfigFile is the name of the Quay configuration inside a bundle.
const ConfigFile = "config.yaml"

// Bundle is one config bundle. The zero value is not usable; use New or a
// reader.
type Bundle struct {
	cfg    *Document
	files  map[string][]byte
	limits Limits
}

// New returns a bundle whose config.yaml is the given text (may be empty).
func New(configYAML []byte, lim Limits) (*Bundle, error) {
	lim = lim.orDefault()
	doc, err := ParseDocument(configYAML, lim)
	if err != nil {
		return nil, err
	}
	return &Bundle{cfg: doc, files: map[string][]byte{}, limits: lim}, nil
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

// Config returns the config.yaml document.
func (b *Bundle) Config() *Document { return b.cfg }

// Limits returns the limits the bundle was read with.
func (b *Bundle) Limits() Limits { return b.limits }

// Clone returns a copy: edits to one never show in the other. File
// contents are never changed in place (SetFile stores a copy, File's
// result is read-only), so the clone shares them: a working copy and the
// bundle it was loaded from hold each unchanged file once.
func (b *Bundle) Clone() *Bundle {
	nb := &Bundle{cfg: b.cfg.Clone(), files: make(map[string][]byte, len(b.files)), limits: b.limits}
	for k, v := range b.files {
		nb.files[k] = v
	}
	return nb
}

// File returns the contents of a file other than config.yaml. The slice
// may be shared with clones: read it, never modify it.
func (b *Bundle) File(name string) ([]byte, bool) {
	v, ok := b.files[name]
	return v[:len(v):len(v)], ok
}

// Size is the number of bytes of config.yaml and every file.
func (b *Bundle) Size() int64 {
	n := int64(len(b.cfg.src))
	for _, v := range b.files {
		n += int64(len(v))
	}
	return n
}

// HeldBytes is the memory the contents of the given bundles take together:
// their config.yaml texts, and each file's contents once even when clones
// share it.
func HeldBytes(bs ...*Bundle) int64 {
	seen := map[*byte]bool{}
	var n int64
	for _, b := range bs {
		if b == nil {
			continue
		}
		n += int64(len(b.cfg.src))
		for _, v := range b.files {
			if len(v) == 0 || seen[&v[0]] {
				continue
			}
			seen[&v[0]] = true
			n += int64(len(v))
		}
	}
	return n
}

// FileNames lists the bundle's files other than config.yaml, sorted.
func (b *Bundle) FileNames() []string {
	names := make([]string, 0, len(b.files))
	for k := range b.files {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// SetFile adds or replaces a file. The name must be a clean relative path.
func (b *Bundle) SetFile(name string, data []byte) error {
	clean, err := CleanName(name)
	if err != nil {
		return err
	}
	if clean == ConfigFile {
		return errors.New("config.yaml is not a file of the bundle; edit the config document instead")
	}
	if int64(len(data)) > b.limits.MaxFileBytes {
		return fmt.Errorf("file %q is %d bytes, over the limit of %d", clean, len(data), b.limits.MaxFileBytes)
	}
	old, exists := b.files[clean]
	if !exists && len(b.files)+1 > b.limits.MaxFiles {
		return fmt.Errorf("bundle would have more than %d files", b.limits.MaxFiles)
	}
	if total := b.Size() - int64(len(old)) + int64(len(data)); total > b.limits.MaxTotalBytes {
		return fmt.Errorf("with %s the bundle would hold %d bytes, over the limit of %d", clean, total, b.limits.MaxTotalBytes)
	}
	if err := b.clashes(clean); err != nil {
		return err
	}
	b.files[clean] = bytes.Clone(data)
	return nil
}

// clashes refuses a new file name that needs an existing file to be a
// directory ("config.yaml/x", "a/b" next to "a") or that is the directory
// of an existing file ("a" next to "a/b"): no directory, tarball or
// mounted Secret can hold both.
func (b *Bundle) clashes(name string) error {
	for dir := range parents(name) {
		if _, isFile := b.files[dir]; isFile || dir == ConfigFile {
			return clashError(dir, name)
		}
	}
	prefix := name + "/"
	for other := range b.files {
		if strings.HasPrefix(other, prefix) {
			return clashError(name, other)
		}
	}
	return nil
}

// parents yields the directories above a clean name: "a", "a/b" for "a/b/c".
func parents(name string) func(yield func(string) bool) {
	return func(yield func(string) bool) {
		for i, c := range []byte(name) {
			if c == '/' && !yield(name[:i]) {
				return
			}
		}
	}
}

// clashError says that file would have to be the directory of inner.
func clashError(file, inner string) error {
	return fmt.Errorf("%s clashes with %s: %s cannot be both a file and a directory", inner, file, file)
}

// RemoveFile deletes a file; it reports whether it was there.
func (b *Bundle) RemoveFile(name string) bool {
	_, ok := b.files[name]
	delete(b.files, name)
	return ok
}

// ExtraCAPrefix is the directory of extra trusted CAs in a bundle directory
// or tarball; FlatExtraCAPrefix is its flattened form in a Secret.
const (
	ExtraCAPrefix     = "extra_ca_certs/"
	FlatExtraCAPrefix = "extra_ca_cert_"
)

// ExtraCAs returns the bundle's extra CA files in either form, by file name.
func (b *Bundle) ExtraCAs() map[string][]byte {
	out := map[string][]byte{}
	for name, data := range b.files {
		if strings.HasPrefix(name, ExtraCAPrefix) || strings.HasPrefix(name, FlatExtraCAPrefix) {
			out[name] = data
		}
	}
	return out
}

// IsKeyFile reports whether a bundle file holds private key material and so
// deserves mode 0600 and redaction.
func IsKeyFile(name string) bool {
	base := path.Base(name)
	return strings.HasSuffix(base, ".key") || strings.HasSuffix(base, "-signing-key.pem") ||
		strings.Contains(base, "private") && strings.HasSuffix(base, ".pem")
}

// CleanName validates a bundle file name from outside input: relative, no
// "..", no empty or dot segments, no backslashes or control characters.
func CleanName(name string) (string, error) {
	n := strings.TrimPrefix(name, "./")
	switch {
	case n == "" || n == ".":
		return "", errors.New("empty file name")
	case strings.HasPrefix(n, "/"):
		return "", fmt.Errorf("file name %q is absolute; bundle entries must be relative", name)
	case strings.ContainsAny(n, "\\\x00"):
		return "", fmt.Errorf("file name %q contains a backslash or NUL", name)
	case len(n) > 255:
		return "", fmt.Errorf("file name %q is longer than 255 bytes", n[:40]+"…")
	}
	for _, r := range n {
		if r < 0x20 || r == 0x7f {
			return "", fmt.Errorf("file name %q contains a control character", name)
		}
	}
	for _, seg := range strings.Split(strings.TrimSuffix(n, "/"), "/") {
		switch seg {
		case "..":
			return "", fmt.Errorf("file name %q climbs out of the bundle with \"..\"", name)
		case "", ".":
			return "", fmt.Errorf("file name %q has an empty path segment", name)
		}
	}
	return strings.TrimSuffix(n, "/"), nil
}

func fileMode(name string) fs.FileMode {
	if IsKeyFile(name) || name == ConfigFile {
		return 0o600
	}
	return 0o644
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

// SetConfig makes doc the bundle's config.yaml (the caller gives up doc).
func (b *Bundle) SetConfig(doc *Document) { b.cfg = doc }
