package editor

// Catalogue-driven forms: one view model per field, built from the schema
// annotations and the working copy, and the reverse direction that turns a
// submitted form into the fewest document edits. A field whose submitted
// text equals what was shown is left alone, so saving a section changes only
// the keys the user actually edited and never writes defaults.
//
// "What was shown" must be exactly what an untouched browser submits, for
// every current value, including values that do not fit the widget (an
// out-of-enum value, text in a boolean, a map in a number or list field, a
// scalar in a map, a secret that is not text). Such a value is a misfit: it
// is drawn so that it survives the round trip (a select offers it as its
// selected "keep" choice, a checkbox becomes on/off/keep, several lines get
// a textarea), marked invalid with a message, and written back unchanged
// unless the user picks another value. Submitted text is compared after the
// normalisation a browser applies (CRLF, NUL), never byte for byte.

import (
	"fmt"
	"math"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/quay-tools/config-editor/internal/bundle"
	"github.com/quay-tools/config-editor/internal/problem"
	"github.com/quay-tools/config-editor/internal/schema"
)

// Field kinds, one per input widget: the catalogue's widgets.
const (
	kindText     = string(schema.WidgetText)
	kindNumber   = string(schema.WidgetNumber)
	kindSelect   = string(schema.WidgetSelect)
	kindCheckbox = string(schema.WidgetCheckbox)
	kindList     = string(schema.WidgetList)
	kindYAML     = string(schema.WidgetYAML)
	kindSecret   = string(schema.WidgetSecret)
	kindNested   = string(schema.WidgetNested)
)

// secretPlaceholder is shown in an empty password input whose secret is set.
const secretPlaceholder = "unchanged — type to replace"

// keepToken is the value of the choice that keeps a current value its
// widget cannot show (an out-of-enum value, a checkbox holding text).
// Submitted for any field it means "leave this key as it is".
const keepToken = "__keep_current_value__"

type option struct {
	Value, Label string
	Selected     bool
}

// fieldView is what a template needs to draw one input.
type fieldView struct {
	ID, Name, Path string // element id, form name, problem path (KEY or KEY.sub)
	ClearName      string // checkbox that removes a secret
	Segs           []string
	Label, Help    string
	Kind           string
	Value          string
	Checked        bool
	Placeholder    string
	Options        []option
	IsSet          bool // the key exists in the working copy
	Clear          bool
	Required       bool
	Removable      bool // pattern fields (OIDC providers) can be removed
	Multiline      bool // a text or number value of several lines: a textarea
	Misfit         string
	DefaultNote    string
	Problems       []problem.Problem
	Children       []*fieldView
	spec           *schema.FieldSpec
	shown          string // what the untouched widget submits
}

// ErrID is the id of the element holding the field's messages.
func (f *fieldView) ErrID() string { return f.ID + "-msg" }

// Choice reports whether the field is drawn as a select: an enum, or a
// checkbox whose current value is not true or false.
func (f *fieldView) Choice() bool { return len(f.Options) > 0 }

// Invalid reports whether an error (not a warning) is attached.
func (f *fieldView) Invalid() bool { return problem.HasErrors(f.Problems) }

func fieldID(path string) string {
	var b strings.Builder
	b.WriteString("f-")
	for _, r := range path {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_', r == '-':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	return b.String()
}

// specOrText is spec, or a plain text field when the schema says nothing.
func specOrText(spec *schema.FieldSpec, name string) *schema.FieldSpec {
	if spec != nil {
		return spec
	}
	return &schema.FieldSpec{Name: name, Kind: schema.KindString, Widget: schema.WidgetText, Types: []string{"string"}}
}

// display renders a current value as the text an input shows.
func display(kind string, v any, present bool) string {
	if !present || v == nil {
		return ""
	}
	switch kind {
	case kindList:
		if l, ok := v.([]any); ok {
			parts := make([]string, 0, len(l))
			for _, x := range l {
				parts = append(parts, scalarText(x))
			}
			return strings.Join(parts, "\n")
		}
		return yamlText(v)
	case kindYAML:
		return yamlText(v)
	case kindCheckbox:
		if b, ok := v.(bool); ok {
			return strconv.FormatBool(b)
		}
	}
	switch v.(type) {
	case map[string]any, []any:
		return yamlText(v)
	}
	return scalarText(v)
}

func scalarText(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1e15 {
			return strconv.FormatInt(int64(x), 10)
		}
		return strconv.FormatFloat(x, 'g', -1, 64)
	}
	return fmt.Sprint(v)
}

func yamlText(v any) string {
	out, err := yaml.Marshal(v)
	if err != nil {
		return ""
	}
	return strings.TrimRight(string(out), "\n")
}

// formValue returns the last submitted value of a name (a checkbox after
// its hidden "false" wins) and whether the name was submitted at all.
func formValue(form url.Values, name string) (string, bool) {
	vs, ok := form[name]
	if !ok || len(vs) == 0 {
		return "", false
	}
	return vs[len(vs)-1], true
}

// buildField makes the view of one top-level key (or pattern key) from the
// working copy's redacted value; form, when set, overrides what is shown
// with what the user submitted.
func buildField(cat *schema.Catalogue, key string, f *schema.Field, cfg map[string]any, form url.Values) *fieldView {
	spec := cat.Spec(key)
	if spec == nil && f != nil {
		spec = f.Spec
	}
	spec = specOrText(spec, key)
	v, present := cfg[key]
	fv := newFieldView(cat, []string{key}, spec, v, present)
	if f != nil {
		fv.Required = f.Required
		if fv.Label == "" || fv.Label == key {
			fv.Label = f.Title
		}
		if fv.Help == "" {
			fv.Help = f.Description
		}
	}
	if fv.Kind == kindNested {
		pm, _ := v.(map[string]any)
		def, _ := spec.Default.(map[string]any)
		for _, sn := range spec.Children {
			sub := sn.Name
			sv, sp := pm[sub]
			child := newFieldView(cat, []string{key, sub}, sn, sv, sp)
			if !sp && !present {
				if dv, ok := def[sub]; ok {
					child.applyDefault(dv)
				}
			}
			fv.Children = append(fv.Children, child)
		}
	}
	fv.applyForm(form)
	return fv
}

// newFieldView draws one input for the current value v (present says
// whether the key exists). The result shows the value untouched; applyForm
// then puts submitted input over it.
func newFieldView(cat *schema.Catalogue, segs []string, spec *schema.FieldSpec, v any, present bool) *fieldView {
	path := strings.Join(segs, ".")
	fv := &fieldView{ID: fieldID(path), Name: "f." + path, ClearName: "clear." + path, Path: path, Segs: segs, spec: spec, IsSet: present && v != nil}
	fv.Label = spec.Title
	if fv.Label == "" {
		fv.Label = segs[len(segs)-1]
	}
	fv.Help = spec.Description
	fv.Kind = string(spec.Widget)
	if _, isMap := v.(map[string]any); fv.Kind == kindNested && fv.IsSet && !isMap {
		// sub-fields cannot show a scalar or a list: edit the whole value
		fv.Kind = kindYAML
	}
	redacted := v
	if present {
		r := cat.Redact(nestValue(segs, v))
		redacted, _ = bundle.ValueAt(r, segs...)
	}
	if spec.Secret == schema.SecretUserinfo {
		if s, ok := v.(string); ok {
			redacted = schema.RedactURI(s)
		}
	}
	if fv.IsSet {
		fv.Misfit = misfit(fv.Kind, spec, v, redacted)
	}
	switch fv.Kind {
	case kindSecret:
		if fv.IsSet {
			fv.Placeholder = secretPlaceholder
		} else {
			fv.Placeholder = "not set"
		}
	case kindSelect:
		blank := "(not set)"
		if spec.HasDefault {
			blank = "(not set — default " + scalarText(spec.Default) + ")"
		}
		if fv.Misfit != "" {
			fv.Value = keepToken
			fv.Options = append(fv.Options, option{Value: keepToken, Label: shortText(display(kindText, redacted, true)) + " (current value, not a valid choice)"})
		} else {
			fv.Value = display(fv.Kind, redacted, present)
		}
		fv.Options = append(fv.Options, option{Value: "", Label: blank})
		for _, e := range spec.Enum {
			fv.Options = append(fv.Options, option{Value: scalarText(e), Label: scalarText(e)})
		}
	case kindCheckbox:
		if fv.Misfit != "" {
			// a checkbox has two states; a third, "keep", needs a select
			fv.Value = keepToken
			fv.Options = []option{
				{Value: keepToken, Label: shortText(display(kindText, redacted, true)) + " (current value, not true or false)"},
				{Value: "true", Label: "on (true)"},
				{Value: "false", Label: "off (false)"},
			}
		} else {
			fv.Checked = v == true
			fv.Value = strconv.FormatBool(fv.Checked)
		}
	default:
		fv.Value = display(fv.Kind, redacted, present)
		fv.Multiline = (fv.Kind == kindText || fv.Kind == kindNumber) && strings.ContainsAny(fv.Value, "\r\n")
	}
	if spec.HasDefault {
		fv.applyDefault(spec.Default)
	}
	for i := range fv.Options {
		fv.Options[i].Selected = fv.Options[i].Value == fv.Value
	}
	if fv.Misfit != "" {
		fv.Problems = append(fv.Problems, problem.Problem{Severity: problem.Error, Path: keysPath(segs), Message: fv.Misfit})
	}
	fv.shown = fv.Value
	return fv
}

// applyForm shows submitted input instead of the current value, on the
// field and its sub-fields; a nil form changes nothing.
func (f *fieldView) applyForm(form url.Values) {
	if form == nil {
		return
	}
	if f.Kind == kindSecret {
		_, f.Clear = form[f.ClearName]
	} else if s, ok := formValue(form, f.Name); ok {
		f.Value = s
		f.Checked = s == "true"
		if f.Kind == kindText || f.Kind == kindNumber {
			f.Multiline = f.Multiline || strings.ContainsAny(s, "\r\n")
		}
	}
	for i := range f.Options {
		f.Options[i].Selected = f.Options[i].Value == f.Value
	}
	for _, ch := range f.Children {
		ch.applyForm(form)
	}
}

// misfit explains why a current value v does not fit a field's widget or
// type, or returns "" when it does. It quotes only redacted, the value as
// the page may show it, and never a secret.
func misfit(kind string, spec *schema.FieldSpec, v, redacted any) string {
	const kept = " It is kept as it is unless you "
	switch kind {
	case kindSelect:
		for _, e := range spec.Enum {
			if bundle.EqualValues(e, v) {
				return ""
			}
		}
		return shortText(display(kindText, redacted, true)) + " is not one of the choices." + kept + "choose another value."
	case kindCheckbox:
		if _, ok := v.(bool); ok {
			return ""
		}
		return "The current value " + describeValue(v) + ", not true or false." + kept + "choose on or off."
	case kindSecret:
		if _, ok := v.(string); ok {
			return ""
		}
		return "The stored value " + describeValue(v) + ", not text." + kept + "type a new value or remove it."
	case kindList:
		l, ok := v.([]any)
		if !ok {
			return "The current value " + describeValue(v) + ", not a list of text, one entry per line." + kept + "edit it."
		}
		rl, _ := redacted.([]any)
		for i, x := range l {
			s, ok := x.(string)
			switch {
			case !ok:
				var shown any = "…"
				if i < len(rl) {
					shown = rl[i]
				}
				return "The current list has an entry that is not text (" + shortText(display(kindText, shown, true)) + " " + describeValue(x) + ")." + kept + "edit it."
			case s == "" || s != strings.TrimSpace(s) || strings.ContainsAny(s, "\r\n"):
				return "The current list has an entry that is empty, spans lines or has blank space around it, which one entry per line cannot show." + kept + "edit it."
			}
		}
		return ""
	}
	if typeFits(spec, v) {
		return ""
	}
	return "The current value " + describeValue(v) + ", but this field takes " + describeTypes(spec.Types) + "." + kept + "edit it."
}

// typeFits reports whether v has one of the spec's JSON types.
func typeFits(spec *schema.FieldSpec, v any) bool {
	ts := spec.Types
	if len(ts) == 0 || v == nil {
		return true
	}
	for _, t := range ts {
		switch t {
		case "string":
			if _, ok := v.(string); ok {
				return true
			}
		case "boolean":
			if _, ok := v.(bool); ok {
				return true
			}
		case "integer":
			switch n := v.(type) {
			case int:
				return true
			case float64:
				if n == math.Trunc(n) {
					return true
				}
			}
		case "number":
			switch v.(type) {
			case int, float64:
				return true
			}
		case "array":
			if _, ok := v.([]any); ok {
				return true
			}
		case "object":
			if _, ok := v.(map[string]any); ok {
				return true
			}
		}
	}
	return false
}

// describeValue names what a value is, as "is …", without quoting it.
func describeValue(v any) string {
	switch x := v.(type) {
	case nil:
		return "is empty"
	case string:
		return "is text"
	case bool:
		return "is true or false"
	case int:
		return "is a whole number"
	case float64:
		if x == math.Trunc(x) {
			return "is a whole number"
		}
		return "is a number"
	case []any:
		return "is a list"
	case map[string]any:
		return "is a map"
	}
	return "has an unexpected type"
}

// shortText makes a value fit on one line of a label.
func shortText(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > 60 {
		s = string(r[:59]) + "…"
	}
	if s == "" {
		s = `""`
	}
	return s
}

// sameText reports whether submitted text is what the widget showed: line
// breaks and NUL are compared the way a browser submits them, and
// trailing blank space does not count.
func sameText(submitted, shown string) bool {
	return formText(submitted) == formText(shown)
}

var formTextReplacer = strings.NewReplacer("\r\n", "\n", "\r", "\n", "\x00", "\uFFFD")

func formText(s string) string {
	return strings.TrimRight(formTextReplacer.Replace(s), "\n ")
}

// applyDefault shows a default: as placeholder text, or as the checkbox
// state when the key is unset.
func (f *fieldView) applyDefault(def any) {
	switch f.Kind {
	case kindCheckbox:
		b, _ := def.(bool)
		if !f.IsSet {
			f.Checked = b
			f.Value = strconv.FormatBool(b)
			f.shown = f.Value
		}
		f.DefaultNote = "default: " + onOff(def)
	case kindList:
		f.Placeholder = display(kindList, def, true)
		if f.Placeholder == "" {
			f.Placeholder = "one value per line"
		}
	case kindYAML:
		f.Placeholder = yamlText(def)
	case kindText, kindNumber:
		f.Placeholder = scalarText(def)
	}
}

func onOff(v any) string {
	if b, ok := v.(bool); ok && b {
		return "on"
	}
	return "off"
}

func nestValue(segs []string, v any) map[string]any {
	out := v
	for i := len(segs) - 1; i >= 0; i-- {
		out = map[string]any{segs[i]: out}
	}
	m, _ := out.(map[string]any)
	return m
}

func sortedKeys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// parseInput converts submitted text into a config value for a spec.
// nil, nil means "unset".
func parseInput(kind string, spec *schema.FieldSpec, s string) (any, error) {
	if kind == kindCheckbox {
		return s == "true", nil
	}
	if kind == kindList {
		var out []any
		for _, line := range strings.Split(s, "\n") {
			if line = strings.TrimSpace(line); line != "" {
				out = append(out, line)
			}
		}
		if len(out) == 0 {
			return nil, nil
		}
		return out, nil
	}
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	if kind == kindYAML {
		var v any
		if err := yaml.Unmarshal([]byte(s), &v); err != nil {
			msg := err.Error()
			msg = strings.TrimPrefix(msg, "yaml: ")
			return nil, fmt.Errorf("this is not valid YAML (%s)", msg)
		}
		return normalizeYAML(v), nil
	}
	s = strings.TrimSpace(s)
	ts := spec.Types
	if len(ts) == 0 {
		ts = []string{"string"}
	}
	for _, t := range ts {
		switch t {
		case "integer":
			if n, err := strconv.ParseInt(s, 10, 64); err == nil {
				return int(n), nil
			}
		case "number":
			if n, err := strconv.ParseFloat(s, 64); err == nil && !math.IsInf(n, 0) && !math.IsNaN(n) {
				return n, nil
			}
		case "boolean":
			if b, err := strconv.ParseBool(s); err == nil && (s == "true" || s == "false") {
				return b, nil
			}
		}
	}
	if spec.AllowsType("string") {
		return s, nil
	}
	return nil, fmt.Errorf("enter %s", describeTypes(ts))
}

func describeTypes(ts []string) string {
	words := make([]string, 0, len(ts))
	for _, t := range ts {
		switch t {
		case "integer":
			words = append(words, "a whole number")
		case "number":
			words = append(words, "a number")
		case "boolean":
			words = append(words, "true or false")
		case "string":
			words = append(words, "text")
		case "array":
			words = append(words, "a list")
		case "object":
			words = append(words, "a map")
		default:
			words = append(words, "a "+t)
		}
	}
	return strings.Join(words, " or ")
}

// normalizeYAML turns map[any]any (non-string keys) into map[string]any.
func normalizeYAML(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			x[k] = normalizeYAML(val)
		}
		return x
	case map[any]any:
		out := make(map[string]any, len(x))
		for k, val := range x {
			out[fmt.Sprint(k)] = normalizeYAML(val)
		}
		return out
	case []any:
		for i, val := range x {
			x[i] = normalizeYAML(val)
		}
		return x
	}
	return v
}

// edit is one pending change to the document.
type edit struct {
	segs  []string
	value any
	del   bool
}

// collectEdits compares a submitted form with the working copy and returns
// the edits plus per-path input errors. Fields absent from the form are
// left alone.
func collectEdits(cat *schema.Catalogue, fields []*fieldView, cfg map[string]any, form url.Values) ([]edit, map[string]string) {
	var edits []edit
	errs := map[string]string{}
	for _, fv := range fields {
		if fv.Removable {
			if _, ok := form["remove."+fv.Path]; ok {
				edits = append(edits, edit{segs: fv.Segs, del: true})
				continue
			}
		}
		if fv.Kind == kindNested {
			var sub []edit
			for _, ch := range fv.Children {
				if e, ok := fieldEdit(cat, ch, cfg, form, errs); ok {
					sub = append(sub, e)
				}
			}
			if len(sub) == 0 {
				continue
			}
			if _, present := cfg[fv.Segs[0]]; !present {
				// start from the object's default so that setting one
				// argument does not silently drop the others' defaults
				base := map[string]any{}
				if def, ok := fv.spec.Default.(map[string]any); ok {
					for k, v := range def {
						base[k] = v
					}
				}
				for _, e := range sub {
					if e.del {
						delete(base, e.segs[1])
					} else {
						base[e.segs[1]] = e.value
					}
				}
				edits = append(edits, edit{segs: fv.Segs, value: base})
				continue
			}
			edits = append(edits, sub...)
			continue
		}
		if e, ok := fieldEdit(cat, fv, cfg, form, errs); ok {
			edits = append(edits, e)
		}
	}
	return edits, errs
}

// fieldEdit decides what one input asks for.
func fieldEdit(cat *schema.Catalogue, fv *fieldView, cfg map[string]any, form url.Values, errs map[string]string) (edit, bool) {
	cur, present := bundle.ValueAt(cfg, fv.Segs...)
	if fv.Kind == kindSecret {
		if _, clear := form[fv.ClearName]; clear {
			if present {
				return edit{segs: fv.Segs, del: true}, true
			}
			return edit{}, false
		}
		s, _ := formValue(form, fv.Name)
		if s == "" {
			return edit{}, false // keep the current value
		}
		if cs, ok := cur.(string); ok && cs == s {
			return edit{}, false
		}
		return edit{segs: fv.Segs, value: s}, true
	}
	s, ok := formValue(form, fv.Name)
	if !ok || s == keepToken || sameText(s, fv.shown) {
		return edit{}, false
	}
	s = strings.ReplaceAll(s, "\r\n", "\n")
	v, err := parseInput(fv.Kind, fv.spec, s)
	if err != nil {
		errs[fv.Path] = err.Error()
		return edit{}, false
	}
	if v == nil {
		if present {
			return edit{segs: fv.Segs, del: true}, true
		}
		return edit{}, false
	}
	if fv.Kind == kindSelect {
		found := false
		for _, e := range fv.spec.Enum {
			if scalarText(e) == scalarText(v) {
				v, found = e, true
			}
		}
		if !found {
			errs[fv.Path] = "choose one of the listed values"
			return edit{}, false
		}
	}
	if fv.Kind == kindYAML || fv.spec.Secret == schema.SecretUserinfo {
		// placeholders typed back mean "keep the stored secret"
		restored := cat.RestoreSecrets(nestValue(fv.Segs, v), nestValue(fv.Segs, cur))
		v, _ = bundle.ValueAt(restored, fv.Segs...)
	}
	if present && bundle.EqualValues(cur, v) {
		return edit{}, false
	}
	return edit{segs: fv.Segs, value: v}, true
}

// applyEdits performs edits on a document.
func applyEdits(doc *bundle.Document, edits []edit) error {
	for _, e := range edits {
		var err error
		if e.del {
			err = doc.Delete(e.segs)
		} else {
			err = doc.Set(e.segs, e.value)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// attachProblems hangs each problem on the deepest field whose path prefixes
// the problem's path; the rest is returned for the section summary.
func attachProblems(fields []*fieldView, probs []problem.Problem) []problem.Problem {
	var rest []problem.Problem
	for _, p := range probs {
		if f := findField(fields, p); f != nil {
			f.Problems = append(f.Problems, p)
		} else {
			rest = append(rest, p)
		}
	}
	return rest
}

func findField(fields []*fieldView, p problem.Problem) *fieldView {
	paths := []*problem.Path{p.Path}
	if p.Path == nil {
		paths = paths[:0]
		for _, t := range p.Tags {
			paths = append(paths, problem.NewPath(t))
		}
	}
	for _, path := range paths {
		for _, f := range fields {
			if !path.WithinSegments(f.Segs...) {
				continue
			}
			for _, ch := range f.Children {
				if path.WithinSegments(ch.Segs...) {
					return ch
				}
			}
			return f
		}
	}
	return nil
}

// keysPath is the problem path of a field given as map keys.
func keysPath(segs []string) *problem.Path {
	return problem.NewPath(segs[0], segs[1:]...)
}
