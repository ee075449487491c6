package bundle

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"time"

	"go.yaml.in/yaml/v3"
)

// Document is config.yaml: its text, which is what gets saved, and the node
// tree parsed from it. Edits splice the text, so every line an edit does not
// touch is kept byte for byte.
//
// This file holds the type and its read accessors; parsing and the checks
// on outside input are in document_parse.go, edits (Set, Delete, Apply) in
// document_edit.go, and the text surgery they use in document_splice.go.
type Document struct {
	src    []byte
	root   *yaml.Node // the top-level mapping; nil when the document is empty
	limits Limits
	value  map[string]any
}

// SyntaxError is a config.yaml that cannot be used at all; Line is 1-based
// (0 when unknown).
type SyntaxError struct {
	Line int
	Msg  string
}

func (e *SyntaxError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("config.yaml line %d: %s", e.Line, e.Msg)
	}
	return "config.yaml: " + e.Msg
}

// Bytes returns the current text of config.yaml.
func (d *Document) Bytes() []byte { return bytes.Clone(d.src) }

// Clone returns an independent copy.
func (d *Document) Clone() *Document {
	nd, err := ParseDocument(d.src, d.limits)
	if err != nil { // cannot happen: d.src parsed before
		panic(err)
	}
	return nd
}

// Keys lists the top-level keys in document order.
func (d *Document) Keys() []string {
	if d.root == nil {
		return nil
	}
	keys := make([]string, 0, len(d.root.Content)/2)
	for i := 0; i+1 < len(d.root.Content); i += 2 {
		keys = append(keys, d.root.Content[i].Value)
	}
	return keys
}

// KeyLines maps each top-level key to the 1-based line of the key, read in
// one pass: Line(key) for every key of a large file would scan the
// top-level mapping once per key. Merge keys (<<) are left out, as Line
// leaves them out.
func (d *Document) KeyLines() map[string]int {
	if d.root == nil {
		return map[string]int{}
	}
	out := make(map[string]int, len(d.root.Content)/2)
	for i := 0; i+1 < len(d.root.Content); i += 2 {
		k := d.root.Content[i]
		if k.Tag == "!!merge" {
			continue
		}
		if _, dup := out[k.Value]; !dup {
			out[k.Value] = k.Line
		}
	}
	return out
}

// Value returns config.yaml decoded into plain Go values (map[string]any,
// []any, string, int, float64, bool, nil), aliases and merge keys resolved.
// The result is shared: treat it as read-only.
func (d *Document) Value() map[string]any {
	if d.value != nil {
		return d.value
	}
	if d.root == nil {
		d.value = map[string]any{}
		return d.value
	}
	v, _ := toValue(d.root, 0)
	m, _ := v.(map[string]any)
	if m == nil {
		m = map[string]any{}
	}
	d.value = m
	return m
}

func toValue(n *yaml.Node, depth int) (any, error) {
	if depth > 200 {
		return nil, errors.New("too deep")
	}
	switch n.Kind {
	case yaml.AliasNode:
		return toValue(n.Alias, depth+1)
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Tag == "!!merge" {
				mergeInto(m, v, depth)
				continue
			}
			val, err := toValue(v, depth+1)
			if err != nil {
				return nil, err
			}
			m[k.Value] = val
		}
		return m, nil
	case yaml.SequenceNode:
		s := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			val, err := toValue(c, depth+1)
			if err != nil {
				return nil, err
			}
			s = append(s, val)
		}
		return s, nil
	case yaml.ScalarNode:
		return scalarValue(n), nil
	}
	return nil, nil
}

func mergeInto(m map[string]any, v *yaml.Node, depth int) {
	src := []*yaml.Node{v}
	if v.Kind == yaml.SequenceNode {
		src = v.Content
	}
	for _, s := range src {
		sv, err := toValue(s, depth+1)
		if err != nil {
			continue
		}
		if sm, ok := sv.(map[string]any); ok {
			for k, val := range sm {
				if _, exists := m[k]; !exists {
					m[k] = val
				}
			}
		}
	}
}

func scalarValue(n *yaml.Node) any {
	switch n.ShortTag() {
	case "!!null":
		return nil
	case "!!bool":
		var b bool
		if n.Decode(&b) == nil {
			return b
		}
	case "!!int":
		var i int64
		if n.Decode(&i) == nil {
			return int(i)
		}
		var f float64
		if n.Decode(&f) == nil {
			return f
		}
	case "!!float":
		var f float64
		if n.Decode(&f) == nil {
			return f
		}
	case "!!timestamp":
		var t time.Time
		if n.Decode(&t) == nil {
			return n.Value
		}
	}
	return n.Value
}

// Lookup finds the node at a path of map keys and decimal list indexes.
func (d *Document) Lookup(segs ...string) (*yaml.Node, bool) {
	if d.root == nil {
		return nil, false
	}
	n := d.root
	for _, s := range segs {
		for n.Kind == yaml.AliasNode && n.Alias != nil {
			n = n.Alias
		}
		switch n.Kind {
		case yaml.MappingNode:
			_, v := mapGet(n, s)
			if v == nil {
				return nil, false
			}
			n = v
		case yaml.SequenceNode:
			i, err := strconv.Atoi(s)
			if err != nil || i < 0 || i >= len(n.Content) {
				return nil, false
			}
			n = n.Content[i]
		default:
			return nil, false
		}
	}
	return n, true
}

// Line returns the 1-based line of the deepest existing node on the path
// (the key's line for map entries), or 0.
func (d *Document) Line(segs ...string) int {
	if d.root == nil {
		return 0
	}
	line := 0
	n := d.root
	for _, s := range segs {
		for n.Kind == yaml.AliasNode && n.Alias != nil {
			n = n.Alias
		}
		switch n.Kind {
		case yaml.MappingNode:
			k, v := mapGet(n, s)
			if v == nil {
				return line
			}
			line, n = k.Line, v
		case yaml.SequenceNode:
			i, err := strconv.Atoi(s)
			if err != nil || i < 0 || i >= len(n.Content) {
				return line
			}
			n = n.Content[i]
			line = n.Line
		default:
			return line
		}
	}
	return line
}

func mapGet(m *yaml.Node, key string) (k, v *yaml.Node) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key && m.Content[i].Tag != "!!merge" {
			return m.Content[i], m.Content[i+1]
		}
	}
	return nil, nil
}

// child is the value under key s of a mapping, or the item at index s of a
// sequence; nil when there is none (or n is neither).
func child(n *yaml.Node, s string) *yaml.Node {
	switch n.Kind {
	case yaml.MappingNode:
		_, v := mapGet(n, s)
		return v
	case yaml.SequenceNode:
		if i, err := strconv.Atoi(s); err == nil && i >= 0 && i < len(n.Content) {
			return n.Content[i]
		}
	}
	return nil
}
