package bundle

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

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
