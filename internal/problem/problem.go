// Package problem owns the one shape every validation result takes: a
// Problem keeps the historical wire keys FieldGroup, Tags and Message that
// existing automation parses, and adds Path, Severity and Line.
package problem

import (
	"encoding/json"
	"fmt"
	"sort"
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
	Path       *Path    `json:"Path,omitempty"` // rendered by Path.String on the wire
	Severity   Severity `json:"Severity"`
	Line       int      `json:"Line,omitempty"`
}

func (p Problem) String() string {
	loc := p.Path.String()
	if loc == "" && len(p.Tags) > 0 {
		loc = p.Tags[0]
	}
	if p.Line > 0 {
		loc = fmt.Sprintf("%s (line %d)", loc, p.Line)
	}
	return fmt.Sprintf("%s %s %s: %s", p.Severity, p.FieldGroup, loc, p.Message)
}

// UnmarshalJSON reads a problem as MarshalJSON writes it, and as the
// historical tool wrote it (FieldGroup, Tags and Message only). The Path is
// read with ParsePath; text that is no config path (a file name such as
// "extra_ca_certs/my ca.crt") is kept as a File path, so nothing is lost.
func (p *Problem) UnmarshalJSON(data []byte) error {
	type plain Problem
	var w struct {
		plain
		Path *string `json:"Path"`
	}
	if err := json.Unmarshal(data, &w); err != nil {
		return err
	}
	*p = Problem(w.plain)
	if w.Path != nil && *w.Path != "" {
		path, err := ParsePath(*w.Path)
		if err != nil {
			path = File(*w.Path)
		}
		p.Path = path
	}
	return nil
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
		Path:       path,
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

// Passedf records what a probe proved; see Passed.
func (l *List) Passedf(group string, path *Path, format string, args ...any) {
	l.add(Passed, group, path, nil, format, args...)
}

// Required records the standard "is required" error (see Required).
func (l *List) Required(group string, path *Path, why string) {
	*l = append(*l, Required(group, path, why))
}

// Sort orders problems by group, then path, then message, so output is
// stable whatever order concurrent checks finished in.
func Sort(ps []Problem) {
	// each path is rendered once, not once per comparison
	s := byPath{ps: ps, paths: make([]string, len(ps))}
	for i := range ps {
		s.paths[i] = ps[i].Path.String()
	}
	sort.Stable(s)
}

type byPath struct {
	ps    []Problem
	paths []string
}

func (s byPath) Len() int { return len(s.ps) }

func (s byPath) Swap(i, j int) {
	s.ps[i], s.ps[j] = s.ps[j], s.ps[i]
	s.paths[i], s.paths[j] = s.paths[j], s.paths[i]
}

func (s byPath) Less(i, j int) bool {
	{
		a, b := s.ps[i], s.ps[j]
		if a.FieldGroup != b.FieldGroup {
			return a.FieldGroup < b.FieldGroup
		}
		if s.paths[i] != s.paths[j] {
			return s.paths[i] < s.paths[j]
		}
		if a.Severity != b.Severity {
			return a.Severity == Error
		}
		return a.Message < b.Message
	}
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
