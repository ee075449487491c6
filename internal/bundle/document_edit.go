package bundle

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

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
				want, _ := DeepCopy(d.Value()).(map[string]any)
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
		next := child(n, s)
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
		next := child(n, s)
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
	if old.Kind == nv.Kind && old.Kind != yaml.ScalarNode && old.Style&yaml.FlowStyle != 0 && keepsFlow(old, nv) {
		nv.Style |= yaml.FlowStyle
	}
}

// keepsFlow reports whether a new collection replacing a flow one stays
// flow. An empty {} or [] says nothing about the author's style (YAML has
// no block spelling for it; the editor writes one as a placeholder for a
// new storage location's or provider's arguments): filled with a map or
// with collections it becomes block style, like a hand-written file; a
// list of scalars stays a short flow list.
func keepsFlow(old, nv *yaml.Node) bool {
	if len(old.Content) > 0 {
		return true
	}
	if nv.Kind == yaml.MappingNode && len(nv.Content) > 0 {
		return false
	}
	for _, c := range nv.Content {
		if c.Kind != yaml.ScalarNode {
			return false
		}
	}
	return true
}

func (d *Document) reload(text []byte) error {
	nd, err := ParseDocument(text, d.limits)
	if err != nil {
		return fmt.Errorf("edit produced an unreadable document (nothing was changed): %w", err)
	}
	*d = *nd
	return nil
}
