package bundle

import (
	"bytes"
	"errors"
	"fmt"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// RenameKey renames the top-level key from to to where it stands: only
// the key's own text changes, so its value, comments and position in the
// file are kept. When the key's text cannot be spliced (a quoted key with
// escapes, a flow-style document, a key written across lines), the entry
// is removed and added again at the end, as Delete and Set would. to must
// not be set already.
func (d *Document) RenameKey(from, to string) error {
	if from == to {
		return nil
	}
	if !utf8.ValidString(to) || to == "" {
		return fmt.Errorf("%q: not a usable key", to)
	}
	if _, ok := d.Lookup(to); ok {
		return fmt.Errorf("%s is already set", to)
	}
	if _, ok := d.Lookup(from); !ok {
		return fmt.Errorf("%s is not set", from)
	}
	want, _ := DeepCopy(d.Value()).(map[string]any)
	want[to] = want[from]
	delete(want, from)
	if text, ok := d.keySplice(from, to); ok {
		if nd, err := ParseDocument(text, d.limits); err == nil && EqualValues(nd.Value(), want) {
			*d = *nd
			return nil
		}
	}
	v := d.Value()[from]
	work := d.Clone()
	if err := work.Delete([]string{from}); err != nil {
		return err
	}
	if err := work.Set([]string{to}, v); err != nil {
		return err
	}
	if !EqualValues(work.Value(), want) {
		return errors.New("the rename would change more than the key (nothing was changed)")
	}
	*d = *work
	return nil
}

// keySplice replaces the text of a top-level key (plain, or quoted without
// escapes) by to, written plain.
func (d *Document) keySplice(from, to string) ([]byte, bool) {
	if d.root == nil || d.root.Style&yaml.FlowStyle != 0 {
		return nil, false
	}
	var k *yaml.Node
	for i := 0; i+1 < len(d.root.Content); i += 2 {
		if n := d.root.Content[i]; n.Kind == yaml.ScalarNode && n.Value == from && n.Tag != "!!merge" {
			k = n
			break
		}
	}
	if k == nil || k.Line < 1 || k.Column < 1 {
		return nil, false
	}
	ls := lines(d.src)
	if k.Line > len(ls) {
		return nil, false
	}
	line := ls[k.Line-1]
	off := 0 // the byte offset of the key's column (yaml counts runes)
	for col := 1; col < k.Column; col++ {
		_, n := utf8.DecodeRune(line[off:])
		if n == 0 {
			return nil, false
		}
		off += n
	}
	var old string
	switch k.Style {
	case 0:
		old = from
	case yaml.DoubleQuotedStyle:
		old = `"` + from + `"`
	case yaml.SingleQuotedStyle:
		old = `'` + from + `'`
	default:
		return nil, false
	}
	if !bytes.HasPrefix(line[off:], []byte(old)) {
		return nil, false
	}
	// to is written plain; a key YAML would not read back as the same
	// string that way (a quote, ": ", a leading "-") takes the fallback
	var probe map[string]any
	if yaml.Unmarshal([]byte(to+": x\n"), &probe) != nil || len(probe) != 1 || probe[to] != "x" {
		return nil, false
	}
	var out []byte
	for i, l := range ls {
		if i == k.Line-1 {
			out = append(out, l[:off]...)
			out = append(out, to...)
			out = append(out, l[off+len(old):]...)
			continue
		}
		out = append(out, l...)
	}
	return out, true
}
