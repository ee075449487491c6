package schema

// The typed catalogue: every value config.yaml can hold is described by a
// FieldSpec built once from the embedded JSON Schema (and its x-*
// annotations). The editor, the validators and the CLI read these specs;
// only this package reads JSON-Schema keywords.

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Kind says what a value is, for the code that reads, checks or edits it.
type Kind string

// The kinds of value. A secret or an enum wins over the JSON type it has.
const (
	KindBool     Kind = "bool"
	KindInt      Kind = "int"
	KindNumber   Kind = "number"
	KindString   Kind = "string"
	KindDuration Kind = "duration" // a string such as 30m, 12h, 7d, 2w (DurationPattern)
	KindEnum     Kind = "enum"     // one of Enum
	KindSecret   Kind = "secret"   // a string that is never shown (Secret == SecretValue)
	KindList     Kind = "list"     // a list of Items
	KindTuple    Kind = "tuple"    // a fixed-length list, one spec per position (Tuple)
	KindObject   Kind = "object"   // a mapping with known keys (Children)
	KindMap      Kind = "map"      // a mapping of free keys to Values (nil Values: anything)
	KindMixed    Kind = "mixed"    // several scalar JSON types (see Types), e.g. integer or string
	KindAny      Kind = "any"      // no type constraint
)

// Widget is the input an editor draws for a value.
type Widget string

// The widgets; the strings are the editor's input kinds.
const (
	WidgetText     Widget = "text"
	WidgetNumber   Widget = "number"
	WidgetSelect   Widget = "select"
	WidgetCheckbox Widget = "checkbox"
	WidgetList     Widget = "list"   // one string per line
	WidgetYAML     Widget = "yaml"   // free YAML text
	WidgetSecret   Widget = "secret" // a password input
	WidgetNested   Widget = "nested" // a top-level object drawn as its children
)

// SecretKind says which part of a value is secret.
type SecretKind string

// The secret kinds, from the schema's x-secret annotation.
const (
	NotSecret      SecretKind = ""
	SecretValue    SecretKind = "value"    // the whole value
	SecretUserinfo SecretKind = "userinfo" // only the password inside a URI
)

// DurationPattern is the form of Quay's durations (30m, 12h, 7d, 2w); a
// string whose schema pattern is exactly this has KindDuration.
const DurationPattern = `^[0-9]+(w|m|d|h|s)$`

// FieldSpec describes one value of config.yaml: a top-level key, a key
// inside one, a list item or a map value. Specs are built once and shared:
// treat them, and the values they hold (Enum, Default), as read-only.
type FieldSpec struct {
	// Name is the key under its parent; "" for list items, tuple positions
	// and map values; the key pattern for pattern properties.
	Name        string
	Title       string // "" when the schema gives none; see Label
	Description string
	Kind        Kind
	Widget      Widget
	Types       []string // JSON types as the schema lists them
	Enum        []any
	Default     any
	HasDefault  bool
	Secret      SecretKind
	Pattern     *regexp.Regexp // the value's pattern (strings), or nil
	// NamePattern is set on pattern properties: the keys this spec applies to.
	NamePattern *regexp.Regexp
	// KeyPattern (x-key-pattern) constrains the keys of a map, e.g. the
	// storage location names; nil when any key is allowed.
	KeyPattern *regexp.Regexp
	Group      string // the owning field group (inherited by nested values)
	Component  string // the owning Operator component (x-component, inherited)
	UI         string // the x-ui hint
	Required   bool   // the parent object requires this key
	// Common is true for keys most deployments set or must set (required,
	// or annotated x-common); an editor shows them first and the rest as
	// advanced.
	Common   bool
	Minimum  *float64
	Maximum  *float64
	Children []*FieldSpec // object properties, sorted by Name
	Patterns []*FieldSpec // pattern properties, sorted by Name (the pattern)
	Values   *FieldSpec   // map values (additionalProperties), or nil
	Items    *FieldSpec   // list items beyond Tuple, or nil
	Tuple    []*FieldSpec // fixed positions (prefixItems)

	props map[string]*FieldSpec
	c     constraints
}

// constraints are the structural rules only the checker reads.
type constraints struct {
	minLength, maxLength         int // -1: none
	minItems, maxItems           int
	minProperties, maxProperties int
	uniqueItems                  bool
	required                     []string // in the schema's order
	forbidExtra                  bool     // additionalProperties: false
	forbidItems                  bool     // items: false (nothing after Tuple)
	enumMsg                      string
	enumAllowed                  []string
}

// Label is the title, or the key when the schema gives no title.
func (s *FieldSpec) Label() string {
	if s.Title != "" {
		return s.Title
	}
	return s.Name
}

// AllowsType reports whether the JSON type t ("string", "integer", ...)
// is among the spec's types.
func (s *FieldSpec) AllowsType(t string) bool {
	for _, x := range s.Types {
		if x == t {
			return true
		}
	}
	return false
}

// IsSecret reports whether the value, or the password inside it, is secret.
func (s *FieldSpec) IsSecret() bool { return s != nil && s.Secret != NotSecret }

// Property returns the declared property name of an object, or nil.
func (s *FieldSpec) Property(name string) *FieldSpec {
	if s == nil {
		return nil
	}
	return s.props[name]
}

// Child returns the spec of a child value: a declared property, a pattern
// property, a map value, or (for a decimal index) a tuple position or a
// list item. nil when the schema says nothing about it.
func (s *FieldSpec) Child(seg string) *FieldSpec {
	if s == nil {
		return nil
	}
	if p := s.props[seg]; p != nil {
		return p
	}
	for _, p := range s.Patterns {
		if p.NamePattern.MatchString(seg) {
			return p
		}
	}
	if s.Values != nil {
		return s.Values
	}
	if idx, err := atoi(seg); err == nil {
		if idx < len(s.Tuple) {
			return s.Tuple[idx]
		}
		if s.Items != nil {
			return s.Items
		}
	}
	return nil
}

// Spec returns the spec of the value at a path of map keys and decimal
// list indexes (e.g. "DISTRIBUTED_STORAGE_CONFIG", "default", "1",
// "s3_bucket"), or nil when the schema does not describe it. With no
// path it returns the spec of the whole config.yaml.
func (c *Catalogue) Spec(path ...string) *FieldSpec {
	s := c.root
	for _, seg := range path {
		if s = s.Child(seg); s == nil {
			return nil
		}
	}
	return s
}

// DriverSpec describes a storage driver of DISTRIBUTED_STORAGE_CONFIG and
// its arguments.
type DriverSpec struct {
	Name  string
	Title string
	Args  []*ArgSpec // in the schema's order
	args  map[string]*ArgSpec
}

// ArgSpec is one argument of a storage driver.
type ArgSpec struct {
	Name     string
	Required bool       // the driver cannot work without it
	Spec     *FieldSpec // its type, secret flag, pattern and help
}

// Arg returns an argument by name, or nil when the driver does not take it.
func (d *DriverSpec) Arg(name string) *ArgSpec { return d.args[name] }

// ArgNames lists the driver's arguments in the schema's order.
func (d *DriverSpec) ArgNames() []string {
	out := make([]string, len(d.Args))
	for i, a := range d.Args {
		out[i] = a.Name
	}
	return out
}

// RequiredArgs lists the arguments the driver requires, in the schema's order.
func (d *DriverSpec) RequiredArgs() []string {
	var out []string
	for _, a := range d.Args {
		if a.Required {
			out = append(out, a.Name)
		}
	}
	return out
}

// DriverSpec returns a storage driver by name, or nil.
func (c *Catalogue) DriverSpec(name string) *DriverSpec { return c.driverSpecs[name] }

// DriverSpecs returns every storage driver, sorted by name.
func (c *Catalogue) DriverSpecs() []*DriverSpec {
	out := make([]*DriverSpec, 0, len(c.driverOrder))
	for _, n := range c.driverOrder {
		out = append(out, c.driverSpecs[n])
	}
	return out
}

// keyStorageConfig is the map of storage locations.
const keyStorageConfig = "DISTRIBUTED_STORAGE_CONFIG"

// ValidLocationName checks a storage location name (a key of
// DISTRIBUTED_STORAGE_CONFIG) against the schema's x-key-pattern for it.
func (c *Catalogue) ValidLocationName(name string) error {
	if name == "" {
		return fmt.Errorf("a storage location needs a name")
	}
	s := c.Spec(keyStorageConfig)
	if s == nil || s.KeyPattern == nil || s.KeyPattern.MatchString(name) {
		return nil
	}
	return fmt.Errorf("storage location name %q is not allowed: use at most 63 letters, digits, '-', '_' or '.', starting with a letter or digit", name)
}

// ValidLocationName checks a storage location name with the embedded
// schema's rule; see (*Catalogue).ValidLocationName.
func ValidLocationName(name string) error { return Get().ValidLocationName(name) }

// DBURIPattern is the schema's pattern for DB_URI (the URI's scheme).
func (c *Catalogue) DBURIPattern() *regexp.Regexp {
	if s := c.Spec("DB_URI"); s != nil {
		return s.Pattern
	}
	return nil
}

// MatchDBURI reports whether a DB_URI has the form the schema accepts; a
// value it rejects is already reported by Validate.
func (c *Catalogue) MatchDBURI(uri string) bool {
	re := c.DBURIPattern()
	return re == nil || re.MatchString(uri)
}

// specKeywords are the JSON-Schema keywords the catalogue understands;
// build refuses a schema with any other (so no rule is silently ignored).
// x-* annotations are always allowed.
var specKeywords = map[string]bool{
	"$schema": true, "$id": true, "$defs": true, "$ref": true, "$comment": true,
	"title": true, "description": true, "default": true, "examples": true, "deprecated": true,
	"type": true, "enum": true, "pattern": true, "minLength": true, "maxLength": true,
	"minimum": true, "maximum": true, "minItems": true, "maxItems": true, "uniqueItems": true,
	"items": true, "prefixItems": true, "required": true, "properties": true,
	"patternProperties": true, "additionalProperties": true, "minProperties": true, "maxProperties": true,
}

// annotations a $ref may carry next to it (they win over the target's).
func refAnnotation(k string) bool {
	switch k {
	case "$ref", "$comment", "title", "description", "default", "examples", "deprecated":
		return true
	}
	return strings.HasPrefix(k, "x-")
}

var jsonTypes = map[string]bool{"null": true, "boolean": true, "object": true, "array": true, "number": true, "string": true, "integer": true}

// specCtx is what a nested spec inherits from where it sits.
type specCtx struct {
	group, component string
	top              bool // a top-level key of config.yaml
	refDepth         int
}

type specBuilder struct {
	raw   map[string]any
	regex map[string]*regexp.Regexp // compiled patterns, shared by text
}

func (b *specBuilder) compile(expr, where string) (*regexp.Regexp, error) {
	if re, ok := b.regex[expr]; ok {
		return re, nil
	}
	re, err := regexp.Compile(expr)
	if err != nil {
		return nil, fmt.Errorf("%s: pattern %q: %w", where, expr, err)
	}
	b.regex[expr] = re
	return re, nil
}

// spec builds the spec of a schema node. where is the node's JSON pointer
// in the schema, for error messages.
func (b *specBuilder) spec(node any, name string, ctx specCtx, where string) (*FieldSpec, error) {
	m, ok := node.(map[string]any)
	if !ok {
		if t, isBool := node.(bool); isBool && t {
			return b.finish(&FieldSpec{Name: name, Group: ctx.group, Component: ctx.component, c: noConstraints()}, ctx), nil
		}
		return nil, fmt.Errorf("%s: a schema must be an object (or true)", where)
	}
	if ref, ok := m["$ref"].(string); ok {
		return b.ref(m, ref, name, ctx, where)
	}
	for k := range m {
		if !specKeywords[k] && !strings.HasPrefix(k, "x-") {
			return nil, fmt.Errorf("%s: keyword %q is not supported by the catalogue's checker", where, k)
		}
	}
	s := &FieldSpec{Name: name, Title: str(m["title"]), Description: str(m["description"]), UI: str(m["x-ui"]), c: noConstraints()}
	s.Group = ctx.group
	if g := str(m["x-group"]); g != "" {
		s.Group = g
	}
	s.Component = ctx.component
	if comp := str(m["x-component"]); comp != "" {
		s.Component = comp
	}
	switch t := m["type"].(type) {
	case nil:
	case string:
		s.Types = []string{t}
	case []any:
		for _, x := range t {
			s.Types = append(s.Types, str(x))
		}
	default:
		return nil, fmt.Errorf("%s: type must be a string or a list", where)
	}
	for _, t := range s.Types {
		if !jsonTypes[t] {
			return nil, fmt.Errorf("%s: unknown type %q", where, t)
		}
	}
	if e, ok := m["enum"]; ok {
		s.Enum = anySlice(e)
		if len(s.Enum) == 0 {
			return nil, fmt.Errorf("%s: enum must be a non-empty list", where)
		}
		s.c.enumMsg, s.c.enumAllowed = enumMessage(s.Enum)
	}
	s.Default, s.HasDefault = m["default"]
	switch x := m["x-secret"].(type) {
	case nil:
	case bool:
		if x {
			s.Secret = SecretValue
		}
	case string:
		s.Secret = SecretValue
		if x == "userinfo" {
			s.Secret = SecretUserinfo
		} else if x == "" {
			s.Secret = NotSecret
		}
	default:
		return nil, fmt.Errorf("%s: x-secret must be true or \"userinfo\"", where)
	}
	if c, ok := m["x-common"].(bool); ok {
		s.Common = c
	}
	var err error
	if p, ok := m["pattern"].(string); ok {
		if s.Pattern, err = b.compile(p, where); err != nil {
			return nil, err
		}
	}
	if p, ok := m["x-key-pattern"].(string); ok {
		if s.KeyPattern, err = b.compile(p, where); err != nil {
			return nil, err
		}
	}
	if s.Minimum, err = number(m, "minimum", where); err != nil {
		return nil, err
	}
	if s.Maximum, err = number(m, "maximum", where); err != nil {
		return nil, err
	}
	for _, lim := range [...]struct {
		kw  string
		dst *int
	}{{"minLength", &s.c.minLength}, {"maxLength", &s.c.maxLength}, {"minItems", &s.c.minItems},
		{"maxItems", &s.c.maxItems}, {"minProperties", &s.c.minProperties}, {"maxProperties", &s.c.maxProperties}} {
		if v, ok := m[lim.kw]; ok {
			f, isNum := v.(float64)
			if !isNum || f < 0 || f != float64(int(f)) {
				return nil, fmt.Errorf("%s: %s must be a non-negative integer", where, lim.kw)
			}
			*lim.dst = int(f)
		}
	}
	if u, ok := m["uniqueItems"].(bool); ok {
		s.c.uniqueItems = u
	}
	for _, r := range anySlice(m["required"]) {
		s.c.required = append(s.c.required, str(r))
	}
	child := specCtx{group: s.Group, component: s.Component}
	if props, ok := m["properties"].(map[string]any); ok {
		s.props = make(map[string]*FieldSpec, len(props))
		for _, k := range sortedKeys(props) {
			cctx := child
			cctx.top = where == ""
			p, err := b.spec(props[k], k, cctx, where+"/properties/"+escapePtr(k))
			if err != nil {
				return nil, err
			}
			s.props[k] = p
			s.Children = append(s.Children, p)
		}
	}
	for _, r := range s.c.required {
		if p := s.props[r]; p != nil {
			p.Required, p.Common = true, true
		}
	}
	if pats, ok := m["patternProperties"].(map[string]any); ok {
		for _, k := range sortedKeys(pats) {
			cctx := child
			cctx.top = where == ""
			p, err := b.spec(pats[k], k, cctx, where+"/patternProperties/"+escapePtr(k))
			if err != nil {
				return nil, err
			}
			if p.NamePattern, err = b.compile(k, where); err != nil {
				return nil, err
			}
			s.Patterns = append(s.Patterns, p)
		}
	}
	switch ap := m["additionalProperties"].(type) {
	case nil:
	case bool:
		s.c.forbidExtra = !ap
	default:
		if s.Values, err = b.spec(ap, "", child, where+"/additionalProperties"); err != nil {
			return nil, err
		}
	}
	for i, it := range anySlice(m["prefixItems"]) {
		p, err := b.spec(it, "", child, where+"/prefixItems/"+strconv.Itoa(i))
		if err != nil {
			return nil, err
		}
		s.Tuple = append(s.Tuple, p)
	}
	switch it := m["items"].(type) {
	case nil:
	case bool:
		s.c.forbidItems = !it
	default:
		if s.Items, err = b.spec(it, "", child, where+"/items"); err != nil {
			return nil, err
		}
	}
	return b.finish(s, ctx), nil
}

func number(m map[string]any, kw, where string) (*float64, error) {
	v, ok := m[kw]
	if !ok {
		return nil, nil
	}
	f, isNum := v.(float64)
	if !isNum {
		return nil, fmt.Errorf("%s: %s must be a number", where, kw)
	}
	return &f, nil
}

func noConstraints() constraints {
	return constraints{minLength: -1, maxLength: -1, minItems: -1, maxItems: -1, minProperties: -1, maxProperties: -1}
}

// ref builds the target of a local $ref, with the referring node's
// annotations winning over the target's.
func (b *specBuilder) ref(m map[string]any, ref, name string, ctx specCtx, where string) (*FieldSpec, error) {
	for k := range m {
		if !refAnnotation(k) {
			return nil, fmt.Errorf("%s: only annotations may stand next to $ref, not %q", where, k)
		}
	}
	if !strings.HasPrefix(ref, "#/") {
		return nil, fmt.Errorf("%s: only local $refs (#/...) are supported, not %q", where, ref)
	}
	if ctx.refDepth > 8 {
		return nil, fmt.Errorf("%s: $refs nest too deep (a cycle?)", where)
	}
	var target any = b.raw
	for _, part := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
		tm, _ := target.(map[string]any)
		target = tm[strings.ReplaceAll(strings.ReplaceAll(part, "~1", "/"), "~0", "~")]
	}
	tm, ok := target.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s: $ref %q points nowhere", where, ref)
	}
	merged := make(map[string]any, len(tm)+len(m))
	for k, v := range tm {
		merged[k] = v
	}
	for k, v := range m {
		if k != "$ref" {
			merged[k] = v
		}
	}
	ctx.refDepth++
	return b.spec(merged, name, ctx, strings.TrimPrefix(ref, "#"))
}

// finish derives the kind and the widget.
func (b *specBuilder) finish(s *FieldSpec, ctx specCtx) *FieldSpec {
	s.Kind = kindOf(s)
	s.Widget = widgetOf(s, ctx.top)
	return s
}

func kindOf(s *FieldSpec) Kind {
	if s.Secret == SecretValue && (len(s.Types) == 0 || s.AllowsType("string")) {
		return KindSecret
	}
	if len(s.Enum) > 0 {
		return KindEnum
	}
	if len(s.Types) != 1 {
		if len(s.Types) == 0 {
			return KindAny
		}
		return KindMixed
	}
	switch s.Types[0] {
	case "boolean":
		return KindBool
	case "integer":
		return KindInt
	case "number":
		return KindNumber
	case "string":
		if s.Pattern != nil && s.Pattern.String() == DurationPattern {
			return KindDuration
		}
		return KindString
	case "array":
		if len(s.Tuple) > 0 {
			return KindTuple
		}
		return KindList
	case "object":
		if len(s.Children) > 0 || len(s.Patterns) > 0 {
			return KindObject
		}
		return KindMap
	}
	return KindAny
}

// widgetOf picks the input for a spec; nested objects only at the top.
func widgetOf(s *FieldSpec, top bool) Widget {
	if s.Kind == KindSecret {
		return WidgetSecret
	}
	if len(s.Enum) > 0 {
		return WidgetSelect
	}
	if len(s.Types) == 1 {
		switch s.Types[0] {
		case "boolean":
			return WidgetCheckbox
		case "integer", "number":
			return WidgetNumber
		case "string":
			return WidgetText
		case "array":
			if s.Items != nil && len(s.Items.Types) == 1 && s.Items.Types[0] == "string" {
				return WidgetList
			}
			return WidgetYAML
		case "object":
			if top && len(s.Children) > 0 {
				return WidgetNested
			}
			return WidgetYAML
		}
	}
	if len(s.Types) == 0 || s.AllowsType("object") || s.AllowsType("array") {
		return WidgetYAML
	}
	return WidgetText // mixed scalar types, e.g. integer or string
}

// enumMessage is the checker's wording of an enum mismatch, and the
// allowed values as it shows them (none when they cannot be shown).
func enumMessage(enum []any) (string, []string) {
	for _, e := range enum {
		switch e.(type) {
		case map[string]any, []any:
			return "enum failed", nil
		}
	}
	parts := make([]string, len(enum))
	for i, e := range enum {
		parts[i] = goSyntax(e)
	}
	if len(parts) == 1 {
		return "value must be " + parts[0], parts
	}
	return "value must be one of " + strings.Join(parts, ", "), parts
}

// goSyntax renders an enum member as the checker always has: strings and
// numbers quoted (numbers as their JSON text), true, false, <nil>.
func goSyntax(v any) string {
	switch x := v.(type) {
	case float64:
		return strconv.Quote(strconv.FormatFloat(x, 'f', -1, 64))
	case string:
		return fmt.Sprintf("%#v", x)
	}
	return fmt.Sprintf("%#v", v)
}

func escapePtr(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// buildSpecs builds the root spec and the driver specs.
func (c *Catalogue) buildSpecs() error {
	b := &specBuilder{raw: c.raw, regex: map[string]*regexp.Regexp{}}
	root, err := b.spec(c.raw, "", specCtx{}, "")
	if err != nil {
		return err
	}
	c.root = root
	for _, f := range c.byKey {
		f.Spec = root.props[f.Key]
	}
	for _, f := range c.patterns {
		for _, p := range root.Patterns {
			if p.Name == f.Key {
				f.Spec = p
			}
		}
	}
	// a top-level key without its own component belongs to its group's
	for _, ch := range append(append([]*FieldSpec(nil), root.Children...), root.Patterns...) {
		if ch.Component == "" {
			if g := c.byGroup[ch.Group]; g != nil && g.Component != "" {
				setComponent(ch, g.Component)
			}
		}
	}
	return c.buildDriverSpecs()
}

// buildDriverSpecs gives each storage driver its DriverSpec, from the
// driver's args and the specs of the storage arguments.
func (c *Catalogue) buildDriverSpecs() error {
	args := c.Spec(keyStorageConfig, "x", "1")
	c.driverSpecs = make(map[string]*DriverSpec, len(c.driverOrder))
	for _, name := range c.driverOrder {
		d := c.drivers[name]
		ds := &DriverSpec{Name: d.Name, Title: d.Title, args: map[string]*ArgSpec{}}
		req := map[string]bool{}
		for _, r := range d.Required {
			req[r] = true
		}
		for _, a := range d.Args {
			spec := args.Property(a)
			if spec == nil {
				return fmt.Errorf("x-storage-drivers: %s takes %q, which $defs/storageArgs does not describe", d.Name, a)
			}
			arg := &ArgSpec{Name: a, Required: req[a], Spec: spec}
			ds.Args = append(ds.Args, arg)
			ds.args[a] = arg
			delete(req, a)
		}
		for r := range req {
			return fmt.Errorf("x-storage-drivers: %s requires %q but does not list it among its args", d.Name, r)
		}
		c.driverSpecs[name] = ds
	}
	return nil
}

// setComponent gives a spec and every nested spec without a component of
// its own the component c.
func setComponent(s *FieldSpec, c string) {
	if s == nil {
		return
	}
	if s.Component == "" {
		s.Component = c
	} else if s.Component != c {
		return // a nested value owned by another component keeps it
	}
	for _, ch := range s.Children {
		setComponent(ch, c)
	}
	for _, ch := range s.Patterns {
		setComponent(ch, c)
	}
	for _, ch := range s.Tuple {
		setComponent(ch, c)
	}
	setComponent(s.Values, c)
	setComponent(s.Items, c)
}
