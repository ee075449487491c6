package editor

// The change view: a line diff of config.yaml (working copy against the
// bundle as loaded) with every secret masked, and the list of added,
// removed and changed bundle files.

import (
	"bytes"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/labstack/echo/v4"

	"github.com/quay-tools/config-editor/internal/bundle"
	"github.com/quay-tools/config-editor/internal/schema"
)

type diffLine struct {
	Op           byte // ' ', '-', '+'
	OldNo, NewNo int
	Text         string
}

// Class is the CSS class of a line.
func (d diffLine) Class() string {
	switch d.Op {
	case '-':
		return "del"
	case '+':
		return "add"
	}
	return "ctx"
}

// Sign is the one-character marker shown before a line.
func (d diffLine) Sign() string { return string(d.Op) }

type diffHunk struct {
	Header string
	Lines  []diffLine
}

// maxDiffCells bounds the LCS table; larger middles are shown as a
// replacement, which is still correct, just coarser.
const maxDiffCells = 4_000_000

// lineDiff returns the edit script turning a into b, by longest common
// subsequence after trimming the common prefix and suffix.
func lineDiff(a, b []string) []diffLine {
	var out []diffLine
	pre := 0
	for pre < len(a) && pre < len(b) && a[pre] == b[pre] {
		out = append(out, diffLine{Op: ' ', OldNo: pre + 1, NewNo: pre + 1, Text: a[pre]})
		pre++
	}
	suf := 0
	for suf < len(a)-pre && suf < len(b)-pre && a[len(a)-1-suf] == b[len(b)-1-suf] {
		suf++
	}
	ma, mb := a[pre:len(a)-suf], b[pre:len(b)-suf]
	n, m := len(ma), len(mb)
	if n*m > maxDiffCells {
		for i, l := range ma {
			out = append(out, diffLine{Op: '-', OldNo: pre + i + 1, Text: l})
		}
		for j, l := range mb {
			out = append(out, diffLine{Op: '+', NewNo: pre + j + 1, Text: l})
		}
	} else {
		// lcs[i][j] = length of the LCS of ma[i:] and mb[j:]
		lcs := make([][]int32, n+1)
		for i := range lcs {
			lcs[i] = make([]int32, m+1)
		}
		for i := n - 1; i >= 0; i-- {
			for j := m - 1; j >= 0; j-- {
				if ma[i] == mb[j] {
					lcs[i][j] = lcs[i+1][j+1] + 1
				} else if lcs[i+1][j] >= lcs[i][j+1] {
					lcs[i][j] = lcs[i+1][j]
				} else {
					lcs[i][j] = lcs[i][j+1]
				}
			}
		}
		i, j := 0, 0
		for i < n || j < m {
			switch {
			case i < n && j < m && ma[i] == mb[j]:
				out = append(out, diffLine{Op: ' ', OldNo: pre + i + 1, NewNo: pre + j + 1, Text: ma[i]})
				i++
				j++
			case j < m && (i == n || lcs[i][j+1] > lcs[i+1][j]):
				out = append(out, diffLine{Op: '+', NewNo: pre + j + 1, Text: mb[j]})
				j++
			default:
				out = append(out, diffLine{Op: '-', OldNo: pre + i + 1, Text: ma[i]})
				i++
			}
		}
	}
	for k := 0; k < suf; k++ {
		oi, ni := len(a)-suf+k, len(b)-suf+k
		out = append(out, diffLine{Op: ' ', OldNo: oi + 1, NewNo: ni + 1, Text: a[oi]})
	}
	return out
}

// hunks groups changed lines with `context` lines around them.
func hunks(lines []diffLine, context int) []diffHunk {
	var out []diffHunk
	keep := make([]bool, len(lines))
	for i, l := range lines {
		if l.Op == ' ' {
			continue
		}
		for k := max(0, i-context); k <= min(len(lines)-1, i+context); k++ {
			keep[k] = true
		}
	}
	var cur *diffHunk
	for i, l := range lines {
		if !keep[i] {
			cur = nil
			continue
		}
		if cur == nil {
			out = append(out, diffHunk{Header: "line " + strconv.Itoa(max(l.OldNo, l.NewNo))})
			cur = &out[len(out)-1]
		}
		cur.Lines = append(cur.Lines, l)
	}
	return out
}

func splitLines(b []byte) []string {
	s := strings.TrimSuffix(string(b), "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// maskedLines returns config.yaml's lines with every secret replaced by
// the placeholder: the lines holding a secret key are cut after the key,
// and every secret value (URI passwords included) is scrubbed from every
// line as a second net.
func maskedLines(cat *schema.Catalogue, doc *bundle.Document, secrets []string) []string {
	lines := splitLines(doc.Bytes())
	cut, full := map[int]bool{}, map[int]bool{}
	at := map[int][]scalarAt{}
	var walk func(segs []string, v any)
	walk = func(segs []string, v any) {
		if len(segs) > 0 && cat.IsSecret(segs...) {
			if cat.Spec(segs...).Secret == schema.SecretUserinfo {
				return // only the URI's password is secret: scrubbed below
			}
			node, ok := doc.Lookup(segs...)
			if ok && node.Kind == yaml.ScalarNode && node.Style&(yaml.LiteralStyle|yaml.FoldedStyle|yaml.TaggedStyle) == 0 && node.Tag != "!!null" {
				// a scalar on its line: mask its text only (maskValue
				// falls back to cutting the line when it cannot find it)
				at[node.Line] = append(at[node.Line], scalarAt{node.Column, node.Value})
				return
			}
			if kl := doc.Line(segs...); kl > 0 {
				cut[kl] = true
			}
			if ok {
				cut[node.Line] = true
				if node.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
					for k := 1; k <= strings.Count(node.Value, "\n")+1; k++ {
						full[node.Line+k] = true
					}
				}
			}
			return
		}
		switch x := v.(type) {
		case map[string]any:
			for k, val := range x {
				walk(append(append([]string(nil), segs...), k), val)
			}
		case []any:
			for i, val := range x {
				walk(append(append([]string(nil), segs...), strconv.Itoa(i)), val)
			}
		}
	}
	walk(nil, doc.Value())
	for i := range lines {
		switch {
		case full[i+1]:
			lines[i] = strings.Repeat(" ", len(lines[i])-len(strings.TrimLeft(lines[i], " "))) + schema.Placeholder
		case cut[i+1]:
			lines[i] = maskLine(lines[i])
		case len(at[i+1]) > 0:
			lines[i] = maskValues(lines[i], at[i+1])
		}
		lines[i] = scrubLine(lines[i], secrets)
	}
	return lines
}

// scalarAt is a secret scalar's position on its line (1-based column, in
// characters, as the YAML parser counts) and its value.
type scalarAt struct {
	col   int
	value string
}

// maskValues replaces the text of each secret scalar on a line by the
// placeholder, keeping the keys, other values and comments around it, so
// "- {host: h, s3_secret_key: k, s3_bucket: b}" still shows host and
// bucket. When a scalar's text cannot be delimited exactly (a plain scalar
// continued on the next line, an unterminated quote), the line is cut
// after its first key as before: never show too much.
func maskValues(l string, spans []scalarAt) string {
	type cutAt struct{ from, to int }
	var cuts []cutAt
	for _, sp := range spans {
		from := byteOfColumn(l, sp.col)
		if from < 0 {
			return maskLine(l)
		}
		to := scalarTextEnd(l, from, sp.value)
		if to < 0 {
			return maskLine(l)
		}
		cuts = append(cuts, cutAt{from, to})
	}
	sort.Slice(cuts, func(i, j int) bool { return cuts[i].from > cuts[j].from })
	for k, c := range cuts {
		if k > 0 && c.to > cuts[k-1].from {
			return maskLine(l) // overlapping: cannot happen in valid YAML
		}
		l = l[:c.from] + schema.Placeholder + l[c.to:]
	}
	return l
}

// byteOfColumn is the byte offset of a 1-based character column, -1 past
// the end.
func byteOfColumn(l string, col int) int {
	n := 1
	for i := range l {
		if n == col {
			return i
		}
		n++
	}
	return -1
}

// scalarTextEnd is the byte offset just past the scalar written at
// l[from:]: a quoted scalar up to its closing quote, a plain one when its
// text is exactly the value; -1 when it does not end on this line.
func scalarTextEnd(l string, from int, value string) int {
	switch l[from] {
	case '"':
		for i := from + 1; i < len(l); i++ {
			switch l[i] {
			case '\\':
				i++
			case '"':
				return i + 1
			}
		}
		return -1
	case '\'':
		for i := from + 1; i < len(l); i++ {
			if l[i] == '\'' {
				if i+1 < len(l) && l[i+1] == '\'' {
					i++
					continue
				}
				return i + 1
			}
		}
		return -1
	}
	if value == "" || !strings.HasPrefix(l[from:], value) {
		return -1
	}
	return from + len(value)
}

func maskLine(l string) string {
	trimmed := strings.TrimLeft(l, " -")
	indent := l[:len(l)-len(trimmed)]
	if i := strings.Index(trimmed, ":"); i >= 0 && !strings.HasPrefix(trimmed, "\"") {
		return indent + trimmed[:i+1] + " " + schema.Placeholder
	}
	return indent + schema.Placeholder
}

// scrubLine removes secret values in their raw, quoted and per-line forms.
func scrubLine(l string, secrets []string) string {
	for _, s := range secrets {
		forms := []string{s, strings.Trim(strconv.Quote(s), `"`)}
		for _, part := range strings.Split(s, "\n") {
			if len(strings.TrimSpace(part)) >= 4 {
				forms = append(forms, strings.TrimSpace(part))
			}
		}
		for _, f := range forms {
			if len(f) >= 3 {
				l = strings.ReplaceAll(l, f, schema.Placeholder)
			}
		}
	}
	return l
}

type fileChange struct {
	Name, Change string // added, removed, changed
	Size         int
}

func fileChanges(base, work *bundle.Bundle) []fileChange {
	var out []fileChange
	for _, n := range work.FileNames() {
		w, _ := work.File(n)
		b, ok := base.File(n)
		switch {
		case !ok:
			out = append(out, fileChange{Name: n, Change: "added", Size: len(w)})
		case !bytes.Equal(b, w):
			out = append(out, fileChange{Name: n, Change: "changed", Size: len(w)})
		}
	}
	for _, n := range base.FileNames() {
		if _, ok := work.File(n); !ok {
			b, _ := base.File(n)
			out = append(out, fileChange{Name: n, Change: "removed", Size: len(b)})
		}
	}
	return out
}

// configDiff is the masked diff of config.yaml plus file changes.
func configDiff(cat *schema.Catalogue, base, work *bundle.Bundle) ([]diffHunk, []fileChange) {
	secrets := append(cat.SecretValues(base.Config().Value()), cat.SecretValues(work.Config().Value())...)
	a := maskedLines(cat, base.Config(), secrets)
	b := maskedLines(cat, work.Config(), secrets)
	return hunks(lineDiff(a, b), 3), fileChanges(base, work)
}

// diffData is the data of templates/pages/diff.html.
type diffData struct {
	layoutData
	Hunks       []diffHunk
	FileChanges []fileChange
}

func (p *pages) diffPage(c echo.Context) error {
	sess, err := p.session(c)
	if err != nil {
		return err
	}
	sess.Lock()
	defer sess.Unlock()
	hs, files := configDiff(schema.Get(), sess.Base, sess.Work)
	return p.page(c, sess, http.StatusOK, "diff", "diff", "Changes", &diffData{Hunks: hs, FileChanges: files})
}
