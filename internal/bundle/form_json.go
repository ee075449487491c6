package bundle

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"unicode/utf8"
)

// ConfigBundle is the JSON body of the historical API.
type ConfigBundle struct {
	Config             json.RawMessage   `json:"config.yaml"`
	Certs              map[string]string `json:"certs,omitempty"`
	ManagedFieldGroups []string          `json:"managedFieldGroups,omitempty"`
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

// DecodedBundle is a ConfigBundle as DecodeConfigBundle read it, before it
// becomes a Bundle.
type DecodedBundle struct {
	// Config is "config.yaml": nil when absent or null, a string of YAML
	// text, or a map[string]any of plain values (integers as int64, other
	// numbers as float64).
	Config any
	// ConfigRaw is the JSON text of "config.yaml" when it is an object.
	ConfigRaw []byte
	// Files are the decoded "certs", sorted by name.
	Files []NamedFile
	// Managed is "managedFieldGroups" (nil when absent).
	Managed []string
}

// NamedFile is one file of a bundle.
type NamedFile struct {
	Name string
	Data []byte
}

// IsText reports whether "config.yaml" was a string of YAML text.
func (d *DecodedBundle) IsText() bool {
	_, ok := d.Config.(string)
	return ok
}

// DecodeConfigBundle reads the JSON ConfigBundle of the historical API in
// one streaming pass, strictly: the text must be UTF-8 without lone
// surrogate escapes (encoding/json would turn both into U+FFFD), no key
// may repeat at any level, nothing may follow the object, and every limit
// (values, nesting, number of certs, bytes of each cert and of all of
// them) is enforced while reading, so an oversized body is refused before
// it is materialised. Unknown top-level keys are ignored, as they always
// were, but count against the limits.
func DecodeConfigBundle(data []byte, lim Limits) (*DecodedBundle, error) {
	lim = lim.orDefault()
	if int64(len(data)) > lim.MaxTotalBytes*2 {
		return nil, fmt.Errorf("config bundle is %d bytes, over the limit of %d", len(data), lim.MaxTotalBytes*2)
	}
	if err := checkJSONText(data); err != nil {
		return nil, fmt.Errorf("config bundle %w", err)
	}
	dr := &jsonReader{dec: json.NewDecoder(bytes.NewReader(data)), lim: lim, src: data}
	dr.dec.UseNumber()
	d, err := dr.bundle()
	if err != nil {
		return nil, dr.wrap("config bundle ", err)
	}
	return d, nil
}

// ReadJSON reads a ConfigBundle. "config.yaml" may be a JSON object (the
// historical form) or a string of YAML text (comments kept). Numbers keep
// their exact value: 5 stays an integer, 0.5 a float.
func ReadJSON(data []byte, lim Limits) (*Bundle, []string, error) {
	lim = lim.orDefault()
	d, err := DecodeConfigBundle(data, lim)
	if err != nil {
		return nil, nil, err
	}
	b, err := d.Bundle(lim)
	if err != nil {
		return nil, nil, err
	}
	return b, d.Managed, nil
}

// Bundle builds the bundle: config.yaml from the YAML text as given, or
// rendered from the object (keys sorted); then the certs.
func (d *DecodedBundle) Bundle(lim Limits) (*Bundle, error) {
	var b *Bundle
	var err error
	switch cfg := d.Config.(type) {
	case string:
		b, err = New([]byte(cfg), lim)
	case map[string]any:
		b, err = FromValue(cfg, lim)
	default:
		b, err = New(nil, lim)
	}
	if err != nil {
		return nil, err
	}
	if err := d.AddFilesTo(b); err != nil {
		return nil, err
	}
	return b, nil
}

// AddFilesTo adds the decoded certs to b, in name order; the error names
// the entry.
func (d *DecodedBundle) AddFilesTo(b *Bundle) error {
	for _, f := range d.Files {
		if err := b.SetFile(f.Name, f.Data); err != nil {
			return fmt.Errorf("certs[%q]: %w", f.Name, err)
		}
	}
	return nil
}

// DecodeJSONValue decodes one JSON value into plain values, integers as
// int64 and other numbers as float64, strictly and bounded like
// DecodeConfigBundle.
func DecodeJSONValue(raw []byte, lim Limits) (any, error) {
	lim = lim.orDefault()
	if err := checkJSONText(raw); err != nil {
		return nil, fmt.Errorf("text %w", err)
	}
	dr := &jsonReader{dec: json.NewDecoder(bytes.NewReader(raw)), lim: lim, src: raw}
	dr.dec.UseNumber()
	v, err := dr.value(0)
	if err == nil {
		err = dr.end()
	}
	if err != nil {
		return nil, dr.wrap("", err)
	}
	return v, nil
}

// jsonReader walks a JSON text token by token, counting what it reads.
type jsonReader struct {
	dec   *json.Decoder
	lim   Limits
	src   []byte
	nodes int
}

func (r *jsonReader) bundle() (*DecodedBundle, error) {
	tok, err := r.dec.Token()
	if err != nil {
		return nil, err
	}
	if tok != json.Delim('{') {
		return nil, errors.New(`config bundle must be a JSON object with "config.yaml" and "certs"`)
	}
	d := &DecodedBundle{}
	seen := map[string]bool{}
	for r.dec.More() {
		tok, err := r.dec.Token()
		if err != nil {
			return nil, err
		}
		key, _ := tok.(string)
		// the three names match case-insensitively, as encoding/json
		// matched them for the historical API
		for _, known := range []string{ConfigFile, "certs", "managedFieldGroups"} {
			if strings.EqualFold(key, known) {
				key = known
			}
		}
		if seen[key] {
			return nil, fmt.Errorf("key %q is repeated", key)
		}
		seen[key] = true
		switch key {
		case ConfigFile:
			start := r.dec.InputOffset()
			v, err := r.value(1)
			if err != nil {
				return nil, fmt.Errorf("config.yaml: %w", err)
			}
			switch cfg := v.(type) {
			case nil, string:
				d.Config = cfg
			case map[string]any:
				d.Config = cfg
				// the object's own text, without the ':' before it
				d.ConfigRaw = bytes.TrimLeft(r.src[start:r.dec.InputOffset()], " \t\r\n:")
			default:
				return nil, errors.New(`"config.yaml" must be an object of config keys (or a string of YAML)`)
			}
		case "certs":
			if d.Files, err = r.certs(); err != nil {
				return nil, err
			}
		case "managedFieldGroups":
			if d.Managed, err = r.managed(); err != nil {
				return nil, err
			}
		default:
			if _, err := r.value(1); err != nil {
				return nil, fmt.Errorf("%q: %w", key, err)
			}
		}
	}
	if _, err := r.dec.Token(); err != nil { // the closing '}'
		return nil, err
	}
	return d, r.end()
}

// key reads an object key and refuses a repeat (encoding/json would
// silently keep the last one).
func (r *jsonReader) key(seen map[string]bool) (string, error) {
	tok, err := r.dec.Token()
	if err != nil {
		return "", err
	}
	k, _ := tok.(string)
	if seen[k] {
		return "", fmt.Errorf("key %q is repeated", k)
	}
	seen[k] = true
	return k, nil
}

// certs reads "certs": name -> base64, counting entries and decoded bytes
// as it goes.
func (r *jsonReader) certs() ([]NamedFile, error) {
	tok, err := r.dec.Token()
	if err != nil {
		return nil, err
	}
	if tok == nil {
		return nil, nil
	}
	if tok != json.Delim('{') {
		return nil, errors.New(`"certs" must be an object of file name -> base64 content`)
	}
	var files []NamedFile
	seen := map[string]bool{}
	used := budget{lim: r.lim}
	for r.dec.More() {
		if !used.entry() {
			return nil, fmt.Errorf("certs has more than %d entries", r.lim.MaxFiles)
		}
		name, err := r.key(seen)
		if err != nil {
			return nil, fmt.Errorf("certs: %w", err)
		}
		tok, err := r.dec.Token()
		if err != nil {
			return nil, err
		}
		s, ok := tok.(string)
		if !ok {
			return nil, fmt.Errorf("certs[%q] must be a string of base64", name)
		}
		if n := int64(base64.StdEncoding.DecodedLen(len(s))); n > r.lim.MaxFileBytes+2 {
			return nil, fmt.Errorf("certs[%q] is about %d bytes, over the limit of %d", name, n, r.lim.MaxFileBytes)
		}
		content, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return nil, fmt.Errorf("certs[%q] is not valid base64: %w", name, err)
		}
		if !used.fileFits(int64(len(content))) {
			return nil, fmt.Errorf("certs[%q] is %d bytes, over the limit of %d", name, len(content), r.lim.MaxFileBytes)
		}
		if !used.add(int64(len(content))) {
			return nil, fmt.Errorf("certs add up to more than %d bytes", r.lim.MaxTotalBytes)
		}
		files = append(files, NamedFile{Name: name, Data: content})
	}
	if _, err := r.dec.Token(); err != nil {
		return nil, err
	}
	sort.Slice(files, func(i, j int) bool { return files[i].Name < files[j].Name })
	return files, nil
}

// managed reads "managedFieldGroups": a list of strings.
func (r *jsonReader) managed() ([]string, error) {
	v, err := r.value(1)
	if err != nil {
		return nil, fmt.Errorf("managedFieldGroups: %w", err)
	}
	if v == nil {
		return nil, nil
	}
	list, ok := v.([]any)
	if !ok {
		return nil, errors.New("managedFieldGroups must be a list of field group names")
	}
	out := make([]string, 0, len(list))
	for _, x := range list {
		s, ok := x.(string)
		if !ok {
			return nil, errors.New("managedFieldGroups must be a list of field group names")
		}
		out = append(out, s)
	}
	return out, nil
}

// value reads one value into plain Go values.
func (r *jsonReader) value(depth int) (any, error) {
	r.nodes++
	if r.nodes > r.lim.MaxNodes {
		return nil, fmt.Errorf("more than %d values", r.lim.MaxNodes)
	}
	if depth > r.lim.MaxDepth {
		return nil, fmt.Errorf("nesting deeper than %d levels", r.lim.MaxDepth)
	}
	tok, err := r.dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			m := map[string]any{}
			seen := map[string]bool{}
			for r.dec.More() {
				k, err := r.key(seen)
				if err != nil {
					return nil, err
				}
				v, err := r.value(depth + 1)
				if err != nil {
					return nil, err
				}
				m[k] = v
			}
			_, err := r.dec.Token()
			return m, err
		case '[':
			s := []any{}
			for r.dec.More() {
				v, err := r.value(depth + 1)
				if err != nil {
					return nil, err
				}
				s = append(s, v)
			}
			_, err := r.dec.Token()
			return s, err
		}
		return nil, fmt.Errorf("unexpected %v", t)
	case json.Number:
		if i, err := t.Int64(); err == nil {
			return i, nil
		}
		f, err := t.Float64()
		if err != nil {
			return nil, fmt.Errorf("number %s: %w", t, err)
		}
		return f, nil
	default:
		return t, nil
	}
}

// end refuses anything after the value.
func (r *jsonReader) end() error {
	if _, err := r.dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("trailing data after the JSON value")
	}
	return nil
}

// wrap says where a syntax error is and turns a cut-short text into a
// clear message; what is names the text ("config bundle ").
func (r *jsonReader) wrap(what string, err error) error {
	var se *json.SyntaxError
	switch {
	case errors.As(err, &se):
		line, col := lineCol(r.src, se.Offset)
		return fmt.Errorf("%sis not valid JSON: %w (line %d, column %d)", what, err, line, col)
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		return fmt.Errorf("%sis not valid JSON: the text ends before the value is complete", what)
	}
	return err
}

// checkJSONText refuses what encoding/json would silently change into
// U+FFFD: bytes that are not UTF-8, and \u escapes of a lone UTF-16
// surrogate.
func checkJSONText(src []byte) error {
	if !utf8.Valid(src) {
		off := 0
		for off < len(src) {
			r, size := utf8.DecodeRune(src[off:])
			if r == utf8.RuneError && size <= 1 {
				break
			}
			off += size
		}
		line, col := lineCol(src, int64(off))
		return fmt.Errorf("is not valid UTF-8 at line %d, column %d (invalid bytes are refused, not replaced)", line, col)
	}
	for i := 0; ; {
		j := bytes.Index(src[i:], []byte(`\u`))
		if j < 0 {
			return nil
		}
		p := i + j
		i = p + 2
		// an escape only when preceded by an even number of backslashes
		n := 0
		for k := p - 1; k >= 0 && src[k] == '\\'; k-- {
			n++
		}
		if n%2 == 1 {
			continue
		}
		r, ok := hex4(src[p+2:])
		if !ok {
			continue // the decoder reports the bad escape
		}
		switch {
		case r >= 0xDC00 && r <= 0xDFFF:
			line, col := lineCol(src, int64(p))
			return fmt.Errorf(`has \u%04x, half of a UTF-16 surrogate pair without its first half, at line %d, column %d`, r, line, col)
		case r >= 0xD800 && r <= 0xDBFF:
			lo, ok := rune(0), p+6+6 <= len(src) && src[p+6] == '\\' && src[p+7] == 'u'
			if ok {
				lo, ok = hex4(src[p+8:])
			}
			if !ok || lo < 0xDC00 || lo > 0xDFFF {
				line, col := lineCol(src, int64(p))
				return fmt.Errorf(`has \u%04x, half of a UTF-16 surrogate pair without its second half, at line %d, column %d`, r, line, col)
			}
			i = p + 12
		}
	}
}

func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case '0' <= c && c <= '9':
			r = r<<4 | rune(c-'0')
		case 'a' <= c && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case 'A' <= c && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}

// lineCol turns a byte offset into a 1-based line and column (in bytes).
func lineCol(src []byte, off int64) (int, int) {
	if off > int64(len(src)) {
		off = int64(len(src))
	}
	before := src[:off]
	line := bytes.Count(before, []byte("\n")) + 1
	col := int(off) - (bytes.LastIndexByte(before, '\n') + 1) + 1
	return line, col
}
