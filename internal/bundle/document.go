package bundle

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// Document is config.yaml: its text, which is what gets saved, and the node
// tree parsed from it. Edits splice the text, so every line an edit does not
// touch is kept byte for byte.
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

var yamlLineRE = strings.NewReplacer("yaml: ", "")

// ParseDocument parses config.yaml text. It refuses what Quay could not
// read and what would hurt us: invalid UTF-8, several documents, a
// top level that is not a mapping, duplicate or non-scalar keys, and alias
// expansion beyond the node budget.
func ParseDocument(src []byte, lim Limits) (*Document, error) {
	lim = lim.orDefault()
	if int64(len(src)) > lim.MaxFileBytes {
		return nil, &SyntaxError{Msg: fmt.Sprintf("file is %d bytes, over the limit of %d", len(src), lim.MaxFileBytes)}
	}
	if !utf8.Valid(src) {
		return nil, &SyntaxError{Line: badUTF8Line(src), Msg: "file is not valid UTF-8"}
	}
	d := &Document{src: bytes.Clone(src), limits: lim}
	dec := yaml.NewDecoder(bytes.NewReader(src))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return d, nil
		}
		return nil, yamlError(err, src)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, &SyntaxError{Line: extra.Line, Msg: "file holds more than one YAML document; Quay reads a single mapping"}
	} else if !errors.Is(err, io.EOF) {
		return nil, yamlError(err, src)
	}
	if len(doc.Content) == 0 {
		return d, nil
	}
	top := doc.Content[0]
	if top.Kind == yaml.ScalarNode && top.Tag == "!!null" {
		return d, nil
	}
	if top.Kind != yaml.MappingNode {
		return nil, &SyntaxError{Line: top.Line, Msg: "top level must be a mapping of KEY: value"}
	}
	if err := checkTree(top, lim); err != nil {
		return nil, err
	}
	d.root = top
	return d, nil
}

func badUTF8Line(src []byte) int {
	line := 1
	for len(src) > 0 {
		r, size := utf8.DecodeRune(src)
		if r == utf8.RuneError && size <= 1 {
			return line
		}
		if r == '\n' {
			line++
		}
		src = src[size:]
	}
	return 0
}

func yamlError(err error, src []byte) error {
	msg := yamlLineRE.Replace(err.Error())
	line := 0
	if strings.HasPrefix(msg, "line ") {
		rest := msg[len("line "):]
		if i := strings.IndexByte(rest, ':'); i > 0 {
			if n, convErr := strconv.Atoi(rest[:i]); convErr == nil {
				line = n
				msg = strings.TrimSpace(rest[i+1:])
			}
		}
	}
	ls := lines(src)
	if line == 0 && strings.HasPrefix(msg, "unknown anchor '") {
		// yaml.v3 names the anchor but not the line of the alias
		name := strings.TrimPrefix(msg, "unknown anchor '")
		if i := strings.IndexByte(name, '\''); i > 0 {
			for n, l := range ls {
				if bytes.Contains(l, []byte("*"+name[:i])) {
					line = n + 1
					break
				}
			}
		}
	}
	if line > 0 && line <= len(ls) && strings.Contains(msg, "cannot start any token") {
		if t := bytes.TrimLeft(ls[line-1], " "); len(t) > 0 && t[0] == '\t' {
			msg += " (a tab; YAML indentation must use spaces)"
		}
	}
	return &SyntaxError{Line: line, Msg: msg}
}

// checkTree walks the tree once: keys must be unique scalars, nesting is
// bounded, and the size after alias expansion stays within the budget.
func checkTree(top *yaml.Node, lim Limits) error {
	sizes := map[*yaml.Node]int{}
	onPath := map[*yaml.Node]bool{}
	var walk func(n *yaml.Node, depth int) (int, error)
	walk = func(n *yaml.Node, depth int) (int, error) {
		if depth > lim.MaxDepth {
			return 0, &SyntaxError{Line: n.Line, Msg: fmt.Sprintf("nesting deeper than %d levels", lim.MaxDepth)}
		}
		if s, ok := sizes[n]; ok {
			return s, nil
		}
		onPath[n] = true
		defer delete(onPath, n)
		total := 1
		if n.Kind == yaml.AliasNode {
			if n.Alias == nil {
				return 0, &SyntaxError{Line: n.Line, Msg: "alias to an unknown anchor"}
			}
			if onPath[n.Alias] {
				return 0, &SyntaxError{Line: n.Line, Msg: "an alias refers to a node that contains it (a recursive structure); Quay cannot use it"}
			}
			s, err := walk(n.Alias, depth+1)
			if err != nil {
				return 0, err
			}
			total += s
		}
		if n.Kind == yaml.MappingNode {
			seen := make(map[string]int, len(n.Content)/2)
			for i := 0; i+1 < len(n.Content); i += 2 {
				k := n.Content[i]
				if k.Kind != yaml.ScalarNode {
					return 0, &SyntaxError{Line: k.Line, Msg: "mapping keys must be plain scalars"}
				}
				if k.Tag == "!!merge" {
					continue
				}
				if first, dup := seen[k.Value]; dup {
					return 0, &SyntaxError{Line: k.Line, Msg: fmt.Sprintf("key %q is repeated (first at line %d); YAML keys must be unique", k.Value, first)}
				}
				seen[k.Value] = k.Line
			}
		}
		for _, c := range n.Content {
			s, err := walk(c, depth+1)
			if err != nil {
				return 0, err
			}
			total += s
			if total > lim.MaxNodes {
				return 0, &SyntaxError{Line: n.Line, Msg: fmt.Sprintf("document expands to more than %d nodes (alias bomb?)", lim.MaxNodes)}
			}
		}
		sizes[n] = total
		return total, nil
	}
	_, err := walk(top, 0)
	return err
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

// Set puts a plain Go value at a path, creating missing maps on the way.
// Only the lines of the top-level key on the path change; a scalar replaced
// by a scalar changes only that scalar's text.
func (d *Document) Set(segs []string, v any) error {
	if len(segs) == 0 {
		return errors.New("empty path")
	}
	v = normalizeForYAML(v)
	if err := checkText(v); err != nil {
		return fmt.Errorf("%s: %w", strings.Join(segs, "."), err)
	}
	for _, s := range segs {
		if !utf8.ValidString(s) {
			return fmt.Errorf("%q: key is not valid UTF-8", s)
		}
	}
	var nv yaml.Node
	if err := nv.Encode(v); err != nil {
		return fmt.Errorf("%s: %w", strings.Join(segs, "."), err)
	}
	if old, ok := d.Lookup(segs...); ok && !d.throughAlias(segs) {
		if text, ok := d.scalarSplice(segs, old, &nv); ok {
			// the splice only knows where the scalar starts; a plain or
			// quoted scalar continued on the next lines defeats it, so
			// keep it only when the result is exactly the edit
			if nd, err := ParseDocument(text, d.limits); err == nil {
				want, _ := copyPlain(d.Value()).(map[string]any)
				nval, _ := toValue(&nv, 0)
				if setPlain(want, segs, nval) && EqualValues(nd.Value(), want) {
					*d = *nd
					return nil
				}
			}
		}
	}
	work := d.Clone()
	if work.root == nil {
		work.root = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	}
	if err := setNode(work.root, segs, &nv); err != nil {
		return fmt.Errorf("%s: %w", strings.Join(segs, "."), err)
	}
	return d.reload(d.rewriteEntry(work.root, segs[0]))
}

// Delete removes the entry at a path; a missing path is not an error.
func (d *Document) Delete(segs []string) error {
	if len(segs) == 0 {
		return errors.New("empty path")
	}
	if _, ok := d.Lookup(segs...); !ok {
		return nil
	}
	work := d.Clone()
	// an alias on the way is replaced by a copy of its target, so the
	// delete never reaches the anchor other keys share
	parent, err := materializePath(work.root, segs[:len(segs)-1])
	if err != nil {
		return fmt.Errorf("%s: %w", strings.Join(segs, "."), err)
	}
	last := segs[len(segs)-1]
	switch parent.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(parent.Content); i += 2 {
			if parent.Content[i].Value == last && parent.Content[i].Tag != "!!merge" {
				parent.Content = append(parent.Content[:i], parent.Content[i+2:]...)
				break
			}
		}
	case yaml.SequenceNode:
		i, _ := strconv.Atoi(last)
		parent.Content = append(parent.Content[:i], parent.Content[i+1:]...)
	default:
		return fmt.Errorf("%s: parent is not a map or list", strings.Join(segs, "."))
	}
	return d.reload(d.rewriteEntry(work.root, segs[0]))
}

// Apply makes the document equal to value with the fewest edits: unchanged
// keys keep their text and comments; new top-level keys are appended.
//
// Apply is atomic: when the result would not equal value (a key inherited
// through a YAML merge key cannot be removed without removing the merge),
// the document is left as it was and an error names the first difference.
func (d *Document) Apply(value map[string]any) error {
	saved := d.src
	if err := d.apply(value); err != nil {
		_ = d.reload(saved)
		return err
	}
	want, _ := normalizeForYAML(value).(map[string]any)
	if p, ok := firstDifference(d.Value(), want, nil); !ok {
		_ = d.reload(saved)
		return fmt.Errorf("%s: cannot be changed as asked (it may be inherited through a YAML merge key \"<<\"); edit config.yaml by hand", strings.Join(p, "."))
	}
	return nil
}

// firstDifference compares two plain values and returns the path of the
// first difference.
func firstDifference(a, b any, path []string) ([]string, bool) {
	am, ok1 := a.(map[string]any)
	bm, ok2 := b.(map[string]any)
	if ok1 && ok2 {
		keys := make([]string, 0, len(am)+len(bm))
		for k := range am {
			keys = append(keys, k)
		}
		for k := range bm {
			if _, dup := am[k]; !dup {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		for _, k := range keys {
			x, inA := am[k]
			y, inB := bm[k]
			p := append(path[:len(path):len(path)], k)
			if inA != inB {
				return p, false
			}
			if q, ok := firstDifference(x, y, p); !ok {
				return q, false
			}
		}
		return nil, true
	}
	if EqualValues(a, b) {
		return nil, true
	}
	if len(path) == 0 {
		return []string{"config.yaml"}, false
	}
	return path, false
}

func (d *Document) apply(value map[string]any) error {
	old := d.Value()
	for _, k := range d.Keys() {
		if _, keep := value[k]; !keep {
			if err := d.Delete([]string{k}); err != nil {
				return err
			}
		}
	}
	existing := map[string]bool{}
	for _, k := range d.Keys() {
		existing[k] = true
	}
	keys := make([]string, 0, len(value))
	for k := range value {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		// existing keys first (their order does not matter for the text),
		// then new ones alphabetically so appends are deterministic
		if existing[keys[i]] != existing[keys[j]] {
			return existing[keys[i]]
		}
		return keys[i] < keys[j]
	})
	var fresh []string
	for _, k := range keys {
		ov, had := old[k]
		if !existing[k] {
			fresh = append(fresh, k)
			continue
		}
		if err := d.applyDiff([]string{k}, ov, had, value[k]); err != nil {
			return err
		}
	}
	return d.appendKeys(fresh, value)
}

// appendKeys adds new top-level keys with one rewrite: a value of
// thousands of new keys costs one parse, not one per key.
func (d *Document) appendKeys(keys []string, value map[string]any) error {
	if len(keys) == 0 {
		return nil
	}
	fresh := make(map[string]any, len(keys))
	for _, k := range keys {
		if !utf8.ValidString(k) {
			return fmt.Errorf("%q: key is not valid UTF-8", k)
		}
		if err := checkText(value[k]); err != nil {
			return fmt.Errorf("%s: %w", k, err)
		}
		fresh[k] = normalizeForYAML(value[k])
	}
	// one Encode for all of them: Node.Encode marshals and re-parses, so
	// per-key calls cost a parse each (the encoder sorts the keys)
	var m yaml.Node
	if err := m.Encode(fresh); err != nil {
		return err
	}
	ls := lines(d.src)
	if d.root == nil && !onlyTrivia(ls) || d.root != nil && d.root.Style&yaml.FlowStyle != 0 {
		work := d.Clone()
		if work.root == nil {
			work.root = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		}
		work.root.Content = append(work.root.Content, m.Content...)
		return d.reload(withEOL(renderAll(cloneNode(work.root), d.indent(), d.compactSeqs()), usesCRLF(d.src)))
	}
	return d.reload(d.appendText(withEOL(renderAll(&m, d.indent(), d.compactSeqs()), usesCRLF(d.src))))
}

func (d *Document) applyDiff(path []string, o any, had bool, n any) error {
	if had && EqualValues(o, n) {
		return nil
	}
	om, ok1 := o.(map[string]any)
	nm, ok2 := n.(map[string]any)
	if had && ok1 && ok2 && len(om) > 0 && changedKeys(om, nm) <= 16 {
		for k := range om {
			if _, keep := nm[k]; !keep {
				if err := d.Delete(append(path[:len(path):len(path)], k)); err != nil {
					return err
				}
			}
		}
		keys := make([]string, 0, len(nm))
		for k := range nm {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			ov, h := om[k]
			if err := d.applyDiff(append(path[:len(path):len(path)], k), ov, h, nm[k]); err != nil {
				return err
			}
		}
		return nil
	}
	return d.Set(path, n)
}

// changedKeys counts the keys that differ between two maps. Past a few,
// one Set of the whole map (which keeps unchanged children's comments and
// quoting) is cheaper than a parse per key.
func changedKeys(om, nm map[string]any) int {
	n := 0
	for k, v := range nm {
		if ov, ok := om[k]; !ok || !EqualValues(ov, v) {
			n++
		}
	}
	for k := range om {
		if _, ok := nm[k]; !ok {
			n++
		}
	}
	return n
}

// EqualValues compares plain values, treating numbers by value so that a
// JSON 5 equals a YAML 5.
func EqualValues(a, b any) bool {
	if af, ok := number(a); ok {
		bf, ok := number(b)
		// NaN equals NaN here: ".nan" read back from YAML is the same value
		return ok && (af == bf || af != af && bf != bf)
	}
	switch av := a.(type) {
	case map[string]any:
		bv, ok := b.(map[string]any)
		if !ok || len(av) != len(bv) {
			return false
		}
		for k, x := range av {
			y, ok := bv[k]
			if !ok || !EqualValues(x, y) {
				return false
			}
		}
		return true
	case []any:
		bv, ok := b.([]any)
		if !ok || len(av) != len(bv) {
			return false
		}
		for i := range av {
			if !EqualValues(av[i], bv[i]) {
				return false
			}
		}
		return true
	}
	return reflect.DeepEqual(a, b)
}

func number(v any) (float64, bool) {
	switch n := v.(type) {
	case int:
		return float64(n), true
	case int64:
		return float64(n), true
	case int32:
		return float64(n), true
	case uint64:
		return float64(n), true
	case float64:
		return n, true
	case float32:
		return float64(n), true
	}
	return 0, false
}

func copyPlain(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, val := range x {
			m[k] = copyPlain(val)
		}
		return m
	case []any:
		l := make([]any, len(x))
		for i, val := range x {
			l[i] = copyPlain(val)
		}
		return l
	}
	return v
}

// setPlain puts v at an existing path of a plain value.
func setPlain(m map[string]any, segs []string, v any) bool {
	var cur any = m
	for i, s := range segs {
		last := i == len(segs)-1
		switch c := cur.(type) {
		case map[string]any:
			if _, ok := c[s]; !ok {
				return false
			}
			if last {
				c[s] = v
				return true
			}
			cur = c[s]
		case []any:
			idx, err := strconv.Atoi(s)
			if err != nil || idx < 0 || idx >= len(c) {
				return false
			}
			if last {
				c[idx] = v
				return true
			}
			cur = c[idx]
		default:
			return false
		}
	}
	return false
}

// checkText refuses strings that are not UTF-8: config.yaml must stay
// UTF-8, and the encoder would otherwise write them as !!binary, which
// reads back as base64 text.
func checkText(v any) error {
	switch x := v.(type) {
	case string:
		if !utf8.ValidString(x) {
			return errors.New("value is not valid UTF-8 text")
		}
	case map[string]any:
		for k, val := range x {
			if !utf8.ValidString(k) {
				return fmt.Errorf("key %q is not valid UTF-8 text", k)
			}
			if err := checkText(val); err != nil {
				return err
			}
		}
	case []any:
		for _, val := range x {
			if err := checkText(val); err != nil {
				return err
			}
		}
	}
	return nil
}

// normalizeForYAML turns integral float64s (as JSON decoders produce) back
// into ints so 5 is not written as 5.0, and NaN/Inf survive.
func normalizeForYAML(v any) any {
	switch x := v.(type) {
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			return int64(x)
		}
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, val := range x {
			out[k] = normalizeForYAML(val)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, val := range x {
			out[i] = normalizeForYAML(val)
		}
		return out
	case nil, string, bool, int64, []byte:
		return v
	}
	// typed slices and maps ([]string, map[string]string, ...) and other
	// number types become the plain forms the rest of the package compares
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Slice, reflect.Array:
		out := make([]any, rv.Len())
		for i := range out {
			out[i] = normalizeForYAML(rv.Index(i).Interface())
		}
		return out
	case reflect.Map:
		if rv.Type().Key().Kind() != reflect.String {
			return v
		}
		out := make(map[string]any, rv.Len())
		iter := rv.MapRange()
		for iter.Next() {
			out[iter.Key().String()] = normalizeForYAML(iter.Value().Interface())
		}
		return out
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32:
		return rv.Int()
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if u := rv.Uint(); u <= math.MaxInt64 {
			return int64(u)
		}
	case reflect.Float32:
		return normalizeForYAML(rv.Float())
	}
	return v
}

func setNode(n *yaml.Node, segs []string, nv *yaml.Node) error {
	for i, s := range segs {
		last := i == len(segs)-1
		if n.Kind == yaml.AliasNode && n.Alias != nil {
			materialize(n)
		}
		switch n.Kind {
		case yaml.MappingNode:
			_, v := mapGet(n, s)
			if v == nil {
				k := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s}
				v = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
				if last {
					v = nv
				}
				n.Content = append(n.Content, k, v)
			} else if last {
				carryOver(v, nv)
				*v = *nv
			}
			n = v
		case yaml.SequenceNode:
			idx, err := strconv.Atoi(s)
			if err != nil || idx < 0 || idx > len(n.Content) {
				return fmt.Errorf("index %q out of range", s)
			}
			if idx == len(n.Content) {
				fresh := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
				if last {
					fresh = nv
				}
				n.Content = append(n.Content, fresh)
			} else if last {
				carryOver(n.Content[idx], nv)
				*n.Content[idx] = *nv
			}
			n = n.Content[idx]
		case yaml.ScalarNode:
			if n.Tag != "!!null" {
				return fmt.Errorf("%q is a scalar, not a map", s)
			}
			*n = yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
			return setNode(n, segs[i:], nv)
		default:
			return fmt.Errorf("cannot edit through an alias at %q", s)
		}
	}
	return nil
}

// materialize replaces an alias node by a copy of what it points to, so an
// edit below it changes this key only and not the anchor's other users.
func materialize(n *yaml.Node) {
	target := n.Alias
	for target.Kind == yaml.AliasNode && target.Alias != nil {
		target = target.Alias
	}
	c := deepCloneNode(target)
	c.Line, c.Column = n.Line, n.Column
	c.HeadComment, c.LineComment, c.FootComment = n.HeadComment, n.LineComment, n.FootComment
	*n = *c
}

// deepCloneNode copies a subtree without anchors; aliases inside stay
// aliases (their anchors are defined earlier in the document).
func deepCloneNode(n *yaml.Node) *yaml.Node {
	c := *n
	c.Anchor = ""
	if n.Kind != yaml.AliasNode {
		c.Content = make([]*yaml.Node, len(n.Content))
		for i, x := range n.Content {
			c.Content[i] = deepCloneNode(x)
		}
	}
	return &c
}

// materializePath walks to the node at segs, replacing aliases met on the
// way by copies; it returns that node (the root for an empty path).
func materializePath(root *yaml.Node, segs []string) (*yaml.Node, error) {
	n := root
	for _, s := range segs {
		if n.Kind == yaml.AliasNode && n.Alias != nil {
			materialize(n)
		}
		var next *yaml.Node
		switch n.Kind {
		case yaml.MappingNode:
			_, next = mapGet(n, s)
		case yaml.SequenceNode:
			if i, err := strconv.Atoi(s); err == nil && i >= 0 && i < len(n.Content) {
				next = n.Content[i]
			}
		}
		if next == nil {
			return nil, fmt.Errorf("%q not found", s)
		}
		n = next
	}
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		materialize(n)
	}
	return n, nil
}

// throughAlias reports whether the path passes through an alias (the
// last node included), where an in-place text edit would change the anchor.
func (d *Document) throughAlias(segs []string) bool {
	n := d.root
	for _, s := range segs {
		if n == nil || n.Kind == yaml.AliasNode {
			return true
		}
		var next *yaml.Node
		switch n.Kind {
		case yaml.MappingNode:
			_, next = mapGet(n, s)
		case yaml.SequenceNode:
			if i, err := strconv.Atoi(s); err == nil && i >= 0 && i < len(n.Content) {
				next = n.Content[i]
			}
		}
		n = next
	}
	return n == nil || n.Kind == yaml.AliasNode
}

// carryOver moves what the reader of the old value sees but the new value
// does not say onto the new node: comments, quoting, flow style, key
// order, and unchanged sub-values with their own text (so re-rendering an
// entry keeps "ops" quoted in a list where only one item was added).
func carryOver(old, nv *yaml.Node) {
	keepComments(old, nv)
	switch {
	case old.Kind == yaml.MappingNode && nv.Kind == yaml.MappingNode:
		var ordered, fresh []*yaml.Node
		used := make([]bool, len(nv.Content)/2)
		for i := 0; i+1 < len(old.Content); i += 2 {
			ok, ov := old.Content[i], old.Content[i+1]
			if ok.Tag == "!!merge" {
				continue
			}
			for j := 0; j+1 < len(nv.Content); j += 2 {
				if used[j/2] || nv.Content[j].Value != ok.Value {
					continue
				}
				used[j/2] = true
				nk, nval := nv.Content[j], nv.Content[j+1]
				if sameNodeValue(ov, nval) {
					nval = ov
				} else {
					carryOver(ov, nval)
				}
				nk.HeadComment, nk.LineComment, nk.FootComment, nk.Style = ok.HeadComment, ok.LineComment, ok.FootComment, ok.Style
				ordered = append(ordered, nk, nval)
				break
			}
		}
		for j := 0; j+1 < len(nv.Content); j += 2 {
			if !used[j/2] {
				fresh = append(fresh, nv.Content[j], nv.Content[j+1])
			}
		}
		nv.Content = append(ordered, fresh...)
	case old.Kind == yaml.SequenceNode && nv.Kind == yaml.SequenceNode:
		for i := range nv.Content {
			if i >= len(old.Content) {
				break
			}
			if sameNodeValue(old.Content[i], nv.Content[i]) {
				nv.Content[i] = old.Content[i]
			} else {
				carryOver(old.Content[i], nv.Content[i])
			}
		}
	}
}

func sameNodeValue(a, b *yaml.Node) bool {
	av, err1 := toValue(a, 0)
	bv, err2 := toValue(b, 0)
	return err1 == nil && err2 == nil && EqualValues(av, bv) && sameKinds(av, bv)
}

// sameKinds tells a YAML 5 from "5": EqualValues already does for scalars
// but an unchanged node must also keep its type exactly.
func sameKinds(a, b any) bool {
	_, an := number(a)
	_, bn := number(b)
	return an == bn
}

func keepComments(old, nv *yaml.Node) {
	nv.HeadComment, nv.LineComment, nv.FootComment = old.HeadComment, old.LineComment, old.FootComment
	if old.Kind == yaml.ScalarNode && nv.Kind == yaml.ScalarNode && old.Tag == "!!str" && nv.Tag == "!!str" &&
		(old.Style == yaml.DoubleQuotedStyle || old.Style == yaml.SingleQuotedStyle) {
		nv.Style = old.Style
	}
	if old.Kind == nv.Kind && old.Kind != yaml.ScalarNode && old.Style&yaml.FlowStyle != 0 {
		nv.Style |= yaml.FlowStyle
	}
}

func (d *Document) reload(text []byte) error {
	nd, err := ParseDocument(text, d.limits)
	if err != nil {
		return fmt.Errorf("edit produced an unreadable document (nothing was changed): %w", err)
	}
	*d = *nd
	return nil
}

// lines splits src keeping line terminators. Line breaks are the ones the
// YAML scanner counts, so line numbers agree with node positions: LF, CRLF,
// a lone CR, and NEL, LS and PS.
func lines(src []byte) [][]byte {
	var out [][]byte
	start := 0
	for i := 0; i < len(src); i++ {
		n := 0
		switch c := src[i]; {
		case c == '\n':
			n = 1
		case c == '\r':
			n = 1
			if i+1 < len(src) && src[i+1] == '\n' {
				n = 2
			}
		case c == 0xc2 && i+1 < len(src) && src[i+1] == 0x85:
			n = 2
		case c == 0xe2 && i+2 < len(src) && src[i+1] == 0x80 && (src[i+2] == 0xa8 || src[i+2] == 0xa9):
			n = 3
		}
		if n > 0 {
			out = append(out, src[start:i+n])
			i += n - 1
			start = i + 1
		}
	}
	if start < len(src) {
		out = append(out, src[start:])
	}
	return out
}

// body drops a line's terminator.
func body(line []byte) []byte {
	switch {
	case bytes.HasSuffix(line, []byte("\r\n")):
		return line[:len(line)-2]
	case bytes.HasSuffix(line, []byte("\n")), bytes.HasSuffix(line, []byte("\r")):
		return line[:len(line)-1]
	case bytes.HasSuffix(line, []byte("\u0085")):
		return line[:len(line)-2]
	case bytes.HasSuffix(line, []byte("\u2028")), bytes.HasSuffix(line, []byte("\u2029")):
		return line[:len(line)-3]
	}
	return line
}

// scalarSplice replaces the text of one single-line scalar in place.
func (d *Document) scalarSplice(segs []string, old, nv *yaml.Node) ([]byte, bool) {
	if old.Kind != yaml.ScalarNode || nv.Kind != yaml.ScalarNode || old.Anchor != "" ||
		old.Style&(yaml.LiteralStyle|yaml.FoldedStyle|yaml.TaggedStyle) != 0 || d.inFlow(segs) ||
		old.Value == "" && old.Style == 0 { // an empty value has no text to replace
		return nil, false
	}
	keepComments(old, nv)
	bare := *nv
	bare.HeadComment, bare.LineComment, bare.FootComment = "", "", ""
	rendered, err := yaml.Marshal(&bare)
	if err != nil {
		return nil, false
	}
	rendered = bytes.TrimSuffix(rendered, []byte("\n"))
	if bytes.ContainsAny(rendered, "\n") || len(rendered) == 0 {
		return nil, false
	}
	ls := lines(d.src)
	if old.Line < 1 || old.Line > len(ls) {
		return nil, false
	}
	line := ls[old.Line-1]
	start := byteOffsetOfColumn(line, old.Column)
	if start < 0 {
		return nil, false
	}
	end := scalarEnd(line, start, old.Style)
	if end < 0 {
		return nil, false
	}
	var nl []byte
	nl = append(nl, line[:start]...)
	nl = append(nl, rendered...)
	nl = append(nl, line[end:]...)
	var out []byte
	for i, l := range ls {
		if i == old.Line-1 {
			out = append(out, nl...)
		} else {
			out = append(out, l...)
		}
	}
	return out, true
}

// byteOffsetOfColumn converts yaml's 1-based rune column to a byte offset.
func byteOffsetOfColumn(line []byte, col int) int {
	off := 0
	for c := 1; c < col; c++ {
		if off >= len(line) {
			return -1
		}
		_, size := utf8.DecodeRune(line[off:])
		off += size
	}
	return off
}

func scalarEnd(line []byte, start int, style yaml.Style) int {
	body := body(line)
	if start > len(body) {
		return -1
	}
	switch {
	case style&yaml.DoubleQuotedStyle != 0:
		if start >= len(body) || body[start] != '"' {
			return -1
		}
		for i := start + 1; i < len(body); i++ {
			switch body[i] {
			case '\\':
				i++
			case '"':
				return i + 1
			}
		}
		return -1
	case style&yaml.SingleQuotedStyle != 0:
		if start >= len(body) || body[start] != '\'' {
			return -1
		}
		for i := start + 1; i < len(body); i++ {
			if body[i] == '\'' {
				if i+1 < len(body) && body[i+1] == '\'' {
					i++
					continue
				}
				return i + 1
			}
		}
		return -1
	default:
		end := len(body)
		if i := bytes.Index(body[start:], []byte(" #")); i >= 0 {
			end = start + i
		}
		if i := bytes.Index(body[start:], []byte("\t#")); i >= 0 && start+i < end {
			end = start + i
		}
		for end > start && (body[end-1] == ' ' || body[end-1] == '\t') {
			end--
		}
		return end
	}
}

func (d *Document) inFlow(segs []string) bool {
	if d.root == nil || d.root.Style&yaml.FlowStyle != 0 {
		return true
	}
	n := d.root
	for _, s := range segs {
		var next *yaml.Node
		switch n.Kind {
		case yaml.MappingNode:
			_, next = mapGet(n, s)
		case yaml.SequenceNode:
			if i, err := strconv.Atoi(s); err == nil && i >= 0 && i < len(n.Content) {
				next = n.Content[i]
			}
		}
		if next == nil {
			return true
		}
		if next.Style&yaml.FlowStyle != 0 {
			return true
		}
		n = next
	}
	return false
}

// rewriteEntry renders the top-level entry key from the edited tree into
// the current text, replacing that entry's lines (or appending them). The
// entry is rendered with its own indentation, sequence style and line
// endings, so lines that did not change stay identical.
func (d *Document) rewriteEntry(root *yaml.Node, key string) []byte {
	ls := lines(d.src)
	crlf := usesCRLF(d.src)
	if d.root == nil && !onlyTrivia(ls) || d.root != nil && d.root.Style&yaml.FlowStyle != 0 {
		return withEOL(renderAll(cloneNode(root), d.indent(), d.compactSeqs()), crlf)
	}
	start, end := -1, -1
	if d.root != nil {
		start, end = d.entryRange(key, ls)
	}
	indent, compact := d.indent(), d.compactSeqs()
	if start >= 0 {
		if n, ok := indentOf(ls[start:end]); ok {
			indent = n
		}
		if c, ok := compactOf(ls[start:end]); ok {
			compact = c
		}
	}
	k, v := mapGet(root, key)
	var rendered []byte
	if v != nil {
		entry := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Content: []*yaml.Node{cloneNode(k), cloneNode(v)}}
		entry.Content[0].HeadComment = ""
		if start >= 0 {
			stripTrailingFoot(entry)
		}
		rendered = withEOL(renderAll(entry, indent, compact), crlf)
	}
	if start < 0 {
		return d.appendText(rendered)
	}
	var out []byte
	for i := 0; i < start; i++ {
		out = append(out, ls[i]...)
	}
	out = append(out, rendered...)
	for i := end; i < len(ls); i++ {
		out = append(out, ls[i]...)
	}
	return out
}

// appendText adds rendered entries at the end of the document, but before
// a "..." document end marker.
func (d *Document) appendText(rendered []byte) []byte {
	src := d.src
	if n := len(src); n > 0 && src[n-1] != '\n' && d.root != nil && len(d.root.Content) >= 2 && endsInBlockScalar(d.root) {
		// a block scalar ending the file without a line break would gain
		// one ("|" keeps a final newline): re-render that entry first,
		// which writes the right chomping indicator
		src = d.rewriteEntry(d.root, d.root.Content[len(d.root.Content)-2].Value)
	}
	ls := lines(src)
	crlf := usesCRLF(d.src)
	var out []byte
	at := len(ls)
	for i := len(ls) - 1; i >= 0; i-- {
		t := bytes.TrimSpace(ls[i])
		if string(t) == "..." {
			at = i
			break
		}
		if len(t) > 0 && t[0] != '#' {
			break
		}
	}
	for i := 0; i < at; i++ {
		out = append(out, ls[i]...)
	}
	if len(out) > 0 && out[len(out)-1] != '\n' {
		out = append(out, withEOL([]byte("\n"), crlf)...)
	}
	out = append(out, rendered...)
	for i := at; i < len(ls); i++ {
		out = append(out, ls[i]...)
	}
	return out
}

// endsInBlockScalar reports whether the document's last node is a
// literal or folded block scalar.
func endsInBlockScalar(n *yaml.Node) bool {
	for len(n.Content) > 0 {
		n = n.Content[len(n.Content)-1]
	}
	return n.Kind == yaml.ScalarNode && n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0
}

// usesCRLF reports whether the first line ends in CRLF.
func usesCRLF(src []byte) bool {
	i := bytes.IndexByte(src, '\n')
	return i > 0 && src[i-1] == '\r'
}

func withEOL(text []byte, crlf bool) []byte {
	if !crlf {
		return text
	}
	return bytes.ReplaceAll(text, []byte("\n"), []byte("\r\n"))
}

// onlyTrivia reports whether an empty document's text is only blank lines,
// comments, directives and document markers, which an edit keeps.
func onlyTrivia(ls [][]byte) bool {
	for _, l := range ls {
		t := bytes.TrimSpace(l)
		if len(t) == 0 || t[0] == '#' || t[0] == '%' || string(t) == "---" {
			continue
		}
		return false
	}
	return true
}

// entryRange returns the [start, end) line indexes (0-based) of a top-level
// entry: from its key to the last content line before the next key,
// leaving trailing blank and comment lines where they are.
func (d *Document) entryRange(key string, ls [][]byte) (int, int) {
	idx := -1
	for i := 0; i+1 < len(d.root.Content); i += 2 {
		if d.root.Content[i].Value == key {
			idx = i
			break
		}
	}
	if idx < 0 {
		return -1, -1
	}
	start := d.root.Content[idx].Line - 1
	end := len(ls)
	if idx+2 < len(d.root.Content) {
		end = d.root.Content[idx+2].Line - 1
	}
	for end > start+1 {
		t := bytes.TrimSpace(ls[end-1])
		if len(t) == 0 || t[0] == '#' || string(t) == "..." {
			end--
			continue
		}
		break
	}
	return start, end
}

// stripTrailingFoot drops foot comments along the last-descendant chain:
// those comments lie after the entry's last content line, and entryRange
// leaves them in the text.
func stripTrailingFoot(n *yaml.Node) {
	for n != nil {
		n.FootComment = ""
		if len(n.Content) == 0 {
			return
		}
		if n.Kind == yaml.MappingNode && len(n.Content) >= 2 {
			n.Content[len(n.Content)-2].FootComment = ""
		}
		n = n.Content[len(n.Content)-1]
	}
}

func cloneNode(n *yaml.Node) *yaml.Node {
	if n == nil {
		return nil
	}
	c := *n
	if c.Kind == yaml.ScalarNode && c.Tag == "!!merge" {
		// the encoder would write "!!merge <<"; untagged "<<" means the same
		c.Tag = ""
	}
	if n.Kind != yaml.AliasNode {
		c.Content = make([]*yaml.Node, len(n.Content))
		for i, x := range n.Content {
			c.Content[i] = cloneNode(x)
		}
	}
	return &c
}

func renderAll(n *yaml.Node, indent int, compact bool) []byte {
	fixFlowNulls(n, false)
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(indent)
	if compact {
		enc.CompactSeqIndent()
	}
	_ = enc.Encode(n)
	_ = enc.Close()
	out := buf.Bytes()
	if bytes.Equal(out, []byte("{}\n")) {
		return nil
	}
	return out
}

// fixFlowNulls spells empty nulls inside flow collections as "null": the
// emitter cannot write an empty plain scalar there and would write a
// quoted empty string instead. n is a render-only copy.
func fixFlowNulls(n *yaml.Node, inFlow bool) {
	if n == nil || n.Kind == yaml.AliasNode {
		return
	}
	inFlow = inFlow || n.Style&yaml.FlowStyle != 0
	if n.Kind == yaml.ScalarNode && inFlow && n.Value == "" && n.ShortTag() == "!!null" {
		n.Value = "null"
	}
	for i, c := range n.Content {
		if n.Kind == yaml.MappingNode && i%2 == 0 {
			// a key: Value() reads its text, and "" stays "" quoted; but a
			// string key "<<" must be quoted or it reads back as a merge
			if c.Kind == yaml.ScalarNode && c.Value == "<<" && c.Tag == "!!str" && c.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) == 0 {
				c.Style = yaml.DoubleQuotedStyle
			}
			continue
		}
		fixFlowNulls(c, inFlow)
	}
}

// indent guesses the document's indentation step (default 2).
func (d *Document) indent() int {
	if n, ok := indentOf(lines(d.src)); ok {
		return n
	}
	return 2
}

// indentOf returns the indentation of the first indented content line that
// is not a sequence item.
func indentOf(ls [][]byte) (int, bool) {
	for _, l := range ls {
		t := bytes.TrimLeft(l, " ")
		n := len(l) - len(t)
		if n > 0 && len(bytes.TrimSpace(t)) > 0 && t[0] != '#' && t[0] != '-' {
			if n >= 2 && n <= 8 {
				return n, true
			}
			return 0, false
		}
	}
	return 0, false
}

// compactSeqs reports whether the document writes block sequences at the
// indentation of their parent key ("key:\n- a", PyYAML's and so Quay's own
// style) rather than indented below it.
func (d *Document) compactSeqs() bool {
	c, _ := compactOf(lines(d.src))
	return c
}

func compactOf(ls [][]byte) (bool, bool) {
	for i := 0; i+1 < len(ls); i++ {
		cur := body(ls[i])
		t := bytes.TrimLeft(cur, " ")
		if len(t) == 0 || t[0] == '#' || t[len(t)-1] != ':' {
			continue
		}
		next := body(ls[i+1])
		nt := bytes.TrimLeft(next, " ")
		if len(nt) > 0 && nt[0] == '-' && (len(nt) == 1 || nt[1] == ' ') {
			return len(cur)-len(t) == len(next)-len(nt), true
		}
	}
	return false, false
}
