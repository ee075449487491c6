package bundle

import (
	"bytes"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

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
		next := child(n, s)
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
