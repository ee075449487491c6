package problem

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Path is an immutable field path: a chain of map keys and list indexes
// from a top-level key down, in the shape of apimachinery's field.Path. It
// stays segments from the rule that finds a problem to the edge that shows
// it; String renders it for people and for the wire, quoting any key that
// would otherwise read ambiguously:
//
//	DISTRIBUTED_STORAGE_CONFIG.default[1].s3_bucket
//	DISTRIBUTED_STORAGE_CONFIG["us.east"][1].s3_bucket
//
// The nil *Path is the root (the whole document); every method accepts it.
type Path struct {
	parent *Path
	name   string // the map key (or file name), unless isIdx
	index  int
	isIdx  bool
	isFile bool // a file of the bundle, not a key of config.yaml (see File)
}

// NewPath starts a path at a top-level key; more are map keys below it.
func NewPath(key string, more ...string) *Path {
	p := &Path{name: key}
	for _, k := range more {
		p = p.Child(k)
	}
	return p
}

// File is the path of a file of the bundle (ssl.cert,
// extra_ca_certs/ca.crt, clair-config.yaml) rather than of a key of
// config.yaml: it renders as the bare file name, has no segments in the
// config document (so no line); nothing is meant to extend it.
func File(name string) *Path { return &Path{name: name, isFile: true} }

// IsFile reports whether the path names a file of the bundle (see File).
func (p *Path) IsFile() bool { return p != nil && p.parent == nil && p.isFile }

// Child returns the path of the field (map key) name below p.
func (p *Path) Child(name string) *Path { return &Path{parent: p, name: name} }

// Key returns the path of the map entry k below p: a key the user chose,
// such as a storage location's name. In a YAML document a field and an
// entry are both map keys, so Key and Child give equal paths; Key says at
// the call site that k is data and may hold any character.
func (p *Path) Key(k string) *Path { return p.Child(k) }

// Index returns the path of list element i below p.
func (p *Path) Index(i int) *Path { return &Path{parent: p, index: i, isIdx: true} }

// Root returns the top-level key of the path ("" for the root).
func (p *Path) Root() string {
	if p == nil {
		return ""
	}
	q := p
	for q.parent != nil {
		q = q.parent
	}
	if q.isIdx {
		return strconv.Itoa(q.index)
	}
	return q.name
}

// Len is the number of segments.
func (p *Path) Len() int {
	n := 0
	for q := p; q != nil; q = q.parent {
		n++
	}
	return n
}

// Segments returns the path as raw segments (map keys unquoted, indexes in
// decimal), the form a document walk takes: bundle.Document.Line, ValueAt.
func (p *Path) Segments() []string {
	if p.IsFile() {
		return nil
	}
	out := make([]string, p.Len())
	i := len(out)
	for q := p; q != nil; q = q.parent {
		i--
		if q.isIdx {
			out[i] = strconv.Itoa(q.index)
		} else {
			out[i] = q.name
		}
	}
	return out
}

// Equal reports whether p and q name the same place.
func (p *Path) Equal(q *Path) bool {
	for p != nil && q != nil {
		if p.isIdx != q.isIdx || p.isFile != q.isFile || p.index != q.index || p.name != q.name {
			return false
		}
		p, q = p.parent, q.parent
	}
	return p == nil && q == nil
}

// Within reports whether p is prefix or below it. Keys compare whole: a
// location "us" does not contain "us.east".
func (p *Path) Within(prefix *Path) bool {
	for n := p.Len() - prefix.Len(); n > 0; n-- {
		p = p.parent
	}
	return p.Equal(prefix)
}

// WithinSegments is Within for a prefix given as raw segments (as
// Segments returns them); an index matches its decimal text.
func (p *Path) WithinSegments(prefix ...string) bool {
	n := p.Len()
	if n < len(prefix) {
		return false
	}
	for ; n > len(prefix); n-- {
		p = p.parent
	}
	for i := len(prefix) - 1; i >= 0; i-- {
		if p.isFile {
			return false
		} else if p.isIdx {
			if prefix[i] != strconv.Itoa(p.index) {
				return false
			}
		} else if prefix[i] != p.name {
			return false
		}
		p = p.parent
	}
	return true
}

// String renders the path: keys joined by '.', indexes as [i], and a key
// that is empty or holds '.', '[', ']', '"', a space or another character
// that is not plainly printable as ["key"] (Go string syntax), so that
// ParsePath reads it back.
func (p *Path) String() string {
	if p == nil {
		return ""
	}
	var b strings.Builder
	p.write(&b)
	return b.String()
}

func (p *Path) write(b *strings.Builder) {
	if p.parent != nil {
		p.parent.write(b)
	}
	switch {
	case p.isFile:
		b.WriteString(p.name)
	case p.isIdx:
		b.WriteByte('[')
		b.WriteString(strconv.Itoa(p.index))
		b.WriteByte(']')
	case needsQuote(p.name):
		b.WriteByte('[')
		b.WriteString(strconv.Quote(p.name))
		b.WriteByte(']')
	default:
		if p.parent != nil {
			b.WriteByte('.')
		}
		b.WriteString(p.name)
	}
}

func needsQuote(k string) bool {
	if k == "" || !utf8.ValidString(k) {
		return true
	}
	for _, r := range k {
		switch {
		case r == '.', r == '[', r == ']', r == '"':
			return true
		case unicode.IsSpace(r), !unicode.IsPrint(r):
			return true
		}
	}
	return false
}

// MarshalText renders the path as String does: on the wire a problem's
// Path is the rendered string.
func (p *Path) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// ParsePath reads a path as String renders it. It is the inverse of
// String for every path, and strict about everything else: a bare key
// holding a character String would have quoted, an unclosed bracket, an
// index that is not a non-negative decimal are errors. "" is the root (nil).
func ParsePath(s string) (*Path, error) {
	var p *Path
	first := true
	for i := 0; i < len(s); {
		switch {
		case s[i] == '[':
			end := strings.IndexByte(s[i:], ']')
			if i+1 < len(s) && s[i+1] == '"' {
				// a quoted key: find its closing quote, then ']'
				q, err := strconv.QuotedPrefix(s[i+1:])
				if err != nil {
					return nil, fmt.Errorf("path %q: unterminated quoted key at offset %d", s, i)
				}
				k, _ := strconv.Unquote(q)
				j := i + 1 + len(q)
				if j >= len(s) || s[j] != ']' {
					return nil, fmt.Errorf("path %q: quoted key at offset %d is not closed by ]", s, i)
				}
				p = p.Child(k)
				i = j + 1
			} else {
				if end < 0 {
					return nil, fmt.Errorf("path %q: [ at offset %d is not closed", s, i)
				}
				digits := s[i+1 : i+end]
				n, err := strconv.Atoi(digits)
				if err != nil || n < 0 || digits != strconv.Itoa(n) {
					return nil, fmt.Errorf("path %q: %q is not a list index", s, digits)
				}
				p = p.Index(n)
				i += end + 1
			}
		default:
			if !first {
				if s[i] != '.' {
					return nil, fmt.Errorf("path %q: expected '.' or '[' at offset %d", s, i)
				}
				i++
			}
			j := i
			for j < len(s) && s[j] != '.' && s[j] != '[' {
				j++
			}
			k := s[i:j]
			if needsQuote(k) {
				return nil, fmt.Errorf("path %q: key %q at offset %d must be quoted", s, k, i)
			}
			p = p.Child(k)
			i = j
		}
		first = false
	}
	return p, nil
}

// MustParsePath is ParsePath for literals known to be valid; it panics
// otherwise.
func MustParsePath(s string) *Path {
	p, err := ParsePath(s)
	if err != nil {
		panic(err)
	}
	return p
}
