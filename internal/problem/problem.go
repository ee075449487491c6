// Package problem owns the one shape every validation result takes: a
// Problem keeps the historical wire keys FieldGroup, Tags and Message that
// existing automation parses, and adds Path, Severity and Line.
package problem

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Severity says whether a problem blocks the config (error) or is advice.
type Severity string

const (
	Error   Severity = "error"
	Warning Severity = "warning"
	// Passed records what an online probe proved ("3 users matched"). It is
	// never a problem: the validators hand it to Options.OnPassed and leave
	// it out of every problem list.
	Passed Severity = "passed"
)

// Problem is one finding about one field.
type Problem struct {
	FieldGroup string   `json:"FieldGroup"`
	Tags       []string `json:"Tags"`
	Message    string   `json:"Message"`
	Path       string   `json:"Path,omitempty"`
	Severity   Severity `json:"Severity"`
	Line       int      `json:"Line,omitempty"`
}

func (p Problem) String() string {
	loc := p.Path
	if loc == "" && len(p.Tags) > 0 {
		loc = p.Tags[0]
	}
	if p.Line > 0 {
		loc = fmt.Sprintf("%s (line %d)", loc, p.Line)
	}
	return fmt.Sprintf("%s %s %s: %s", p.Severity, p.FieldGroup, loc, p.Message)
}

// Path is an immutable field path such as
// DISTRIBUTED_STORAGE_CONFIG.us[1].bucket_name. The zero value is the root.
type Path struct {
	parent *Path
	key    string
	index  int
	isIdx  bool
}

// NewPath starts a path at a top-level key.
func NewPath(key string, more ...string) *Path {
	p := &Path{key: key}
	for _, k := range more {
		p = p.Child(k)
	}
	return p
}

// Child returns the path of a map key below p.
func (p *Path) Child(key string) *Path { return &Path{parent: p, key: key} }

// Index returns the path of a list element below p.
func (p *Path) Index(i int) *Path { return &Path{parent: p, index: i, isIdx: true} }

// Root returns the top-level key of the path.
func (p *Path) Root() string {
	q := p
	for q.parent != nil {
		q = q.parent
	}
	return q.key
}

// Segments returns the path as raw segments (map keys and decimal indexes),
// suitable for walking a document.
func (p *Path) Segments() []string {
	var out []string
	for q := p; q != nil; q = q.parent {
		if q.isIdx {
			out = append(out, strconv.Itoa(q.index))
		} else {
			out = append(out, q.key)
		}
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out
}

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
	case p.isIdx:
		fmt.Fprintf(b, "[%d]", p.index)
	case p.parent == nil:
		b.WriteString(p.key)
	default:
		b.WriteByte('.')
		b.WriteString(p.key)
	}
}

// List collects problems; the zero value is ready to use.
type List []Problem

func (l *List) add(sev Severity, group string, path *Path, tags []string, format string, args ...any) {
	if len(tags) == 0 && path != nil {
		tags = []string{path.Root()}
	}
	*l = append(*l, Problem{
		FieldGroup: group,
		Tags:       tags,
		Message:    fmt.Sprintf(format, args...),
		Path:       path.String(),
		Severity:   sev,
	})
}

// Errorf records an error on path; Tags default to the path's top-level key.
func (l *List) Errorf(group string, path *Path, format string, args ...any) {
	l.add(Error, group, path, nil, format, args...)
}

// Warnf records a warning on path.
func (l *List) Warnf(group string, path *Path, format string, args ...any) {
	l.add(Warning, group, path, nil, format, args...)
}

// ErrorTags records an error that concerns several keys at once.
func (l *List) ErrorTags(group string, path *Path, tags []string, format string, args ...any) {
	l.add(Error, group, path, tags, format, args...)
}

// WarnTags records a warning that concerns several keys at once.
func (l *List) WarnTags(group string, path *Path, tags []string, format string, args ...any) {
	l.add(Warning, group, path, tags, format, args...)
}

// Required records the standard "is required" error.
// Passedf records what a probe proved; see Passed.
func (l *List) Passedf(group string, path *Path, format string, args ...any) {
	l.add(Passed, group, path, nil, format, args...)
}

func (l *List) Required(group string, path *Path, why string) {
	if why != "" {
		why = " " + why
	}
	l.Errorf(group, path, "%s is required%s.", path, why)
}

// Sort orders problems by group, then path, then message, so output is
// stable whatever order concurrent checks finished in.
func Sort(ps []Problem) {
	sort.SliceStable(ps, func(i, j int) bool {
		a, b := ps[i], ps[j]
		if a.FieldGroup != b.FieldGroup {
			return a.FieldGroup < b.FieldGroup
		}
		if a.Path != b.Path {
			return a.Path < b.Path
		}
		if a.Severity != b.Severity {
			return a.Severity == Error
		}
		return a.Message < b.Message
	})
}

// HasErrors reports whether any problem is an error (not just a warning).
func HasErrors(ps []Problem) bool {
	for _, p := range ps {
		if p.Severity == Error {
			return true
		}
	}
	return false
}
