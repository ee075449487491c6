// Package schema owns the compiled JSON Schema of Quay's config.yaml and the
// catalogue derived from its annotations: field group -> keys, defaults,
// secret flags, descriptions and the Operator component that manages a
// group. Nothing else in the code base lists a group's keys.
//
// Annotations read from the schema:
//   - root "x-groups": ordered [{name, title, description, component, section, guard}]
//   - root "x-storage-drivers": {Driver: {title, required[], args[]}}
//   - property "x-group", "x-secret" (true or "userinfo"), "x-component", "x-ui",
//     "x-common" (shown before the advanced keys), "x-key-pattern" (the rule
//     for the keys of a map, e.g. storage location names), "x-guard" (when
//     Quay reads the key; guard.go), "x-quay-typed" (Quay type-checks it
//     whatever the guard)
//
// Everything is read once into typed FieldSpecs (Spec, DriverSpec); the
// structural check of config.yaml runs on them, so no JSON-Schema
// validator is compiled at start-up. For the embedded schema that reading
// happens at build time (generated.go, catalogue_gen.go): a process loads
// the generated tables instead of decoding the schema.
package schema

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync"

	"github.com/quay-tools/config-editor/internal/bundle"
	"github.com/quay-tools/config-editor/schemas"
)

// Field is one top-level key of config.yaml (or a key pattern such as
// the OIDC providers' *_LOGIN_CONFIG).
type Field struct {
	Key          string
	Pattern      *regexp.Regexp // set for pattern fields; Key holds the pattern text
	Group        string
	Title        string
	Description  string
	Types        []string
	Enum         []any
	Default      any
	HasDefault   bool
	Secret       bool
	Userinfo     bool // only the password inside a URI is secret
	Component    string
	UI           string
	ValuePattern string
	Required     bool
	Spec         *FieldSpec // the typed spec, $refs resolved
	// Guard is what must hold for Quay to read the key (x-guard, or its
	// group's guard); nil: always read. See GuardOff.
	Guard Guard
	// QuayTyped: Quay's start-up validation reads the key into a typed
	// field whatever its guard, so a wrong type is refused even when the
	// guard is off (x-quay-typed).
	QuayTyped bool

	raw map[string]any // the property's raw schema, $refs unresolved (set by build only)
}

// Type is the field's first JSON type ("string", "boolean", ...).
func (f *Field) Type() string {
	if len(f.Types) == 0 {
		return ""
	}
	return f.Types[0]
}

// Group is a field group: the unit of validation, UI sections and
// Operator component ownership.
type Group struct {
	Name        string
	Title       string
	Description string
	Component   string
	Section     string
	// Guard is what must hold for Quay to read the group's keys (its
	// x-groups "guard"); a key's own x-guard wins.
	Guard  Guard
	Fields []*Field
}

// Keys lists the group's top-level keys (pattern fields excluded).
func (g *Group) Keys() []string {
	var out []string
	for _, f := range g.Fields {
		if f.Pattern == nil {
			out = append(out, f.Key)
		}
	}
	return out
}

// Driver is a storage driver of DISTRIBUTED_STORAGE_CONFIG.
type Driver struct {
	Name     string
	Title    string
	Required []string
	Args     []string
}

// Catalogue is the schema plus everything derived from it. It is
// immutable after Load.
type Catalogue struct {
	// raw is the decoded schema: set by build, decoded on first use by
	// rawSchema in the generated catalogue (only tests read it).
	raw         map[string]any
	rawOnce     sync.Once
	root        *FieldSpec
	driverSpecs map[string]*DriverSpec
	keyList     []string // the literal top-level keys, sorted
	keySigs     []uint64 // charSet of each of keyList
	defaults    map[string]any
	patternRE   map[string]*regexp.Regexp // every patternProperties key, compiled once
	groups      []*Group
	byGroup     map[string]*Group
	byKey       map[string]*Field
	patterns    []*Field
	drivers     map[string]*Driver
	driverOrder []string
	required    []string
}

var (
	once    sync.Once
	loaded  *Catalogue
	loadErr error
)

// Get returns the catalogue of the embedded schema. The schema is part of
// the binary and tested, so a failure here is a build defect.
//
// The catalogue comes from catalogue_gen.go, generated from the schema by
// `go generate` (gen_test.go), which a test keeps in step with schemas/;
// should the embedded schema not be the one it was generated from, Get
// builds the catalogue from the schema itself (the same result, about 3 ms
// slower).
func Get() *Catalogue {
	once.Do(func() { loaded, loadErr = embedded(schemas.QuayConfig) })
	if loadErr != nil {
		panic("embedded schema: " + loadErr.Error())
	}
	return loaded
}

// Raw returns the embedded schema text.
func Raw() []byte { return bytes.Clone(schemas.QuayConfig) }

// Load builds a catalogue, reporting any defect of the schema, including
// a keyword the structural check does not implement.
func Load(data []byte) (*Catalogue, error) { return build(data) }

func build(data []byte) (*Catalogue, error) {
	var raw map[string]any
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("schema is not JSON: %w", err)
	}
	cat := &Catalogue{raw: raw, byGroup: map[string]*Group{},
		byKey: map[string]*Field{}, drivers: map[string]*Driver{}}
	groups, _ := raw["x-groups"].([]any)
	for _, g := range groups {
		gm, _ := g.(map[string]any)
		grp := &Group{Name: str(gm["name"]), Title: str(gm["title"]), Description: str(gm["description"]),
			Component: str(gm["component"]), Section: str(gm["section"])}
		if grp.Name == "" {
			return nil, fmt.Errorf("x-groups entry without a name")
		}
		if grp.Title == "" {
			grp.Title = grp.Name
		}
		if raw, ok := gm["guard"]; ok {
			g, err := parseGuard(raw, "group "+grp.Name)
			if err != nil {
				return nil, err
			}
			grp.Guard = g
		}
		cat.groups = append(cat.groups, grp)
		cat.byGroup[grp.Name] = grp
	}
	for _, r := range anySlice(raw["required"]) {
		cat.required = append(cat.required, str(r))
	}
	props, _ := raw["properties"].(map[string]any)
	keys := make([]string, 0, len(props))
	for k := range props {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		pm, _ := props[k].(map[string]any)
		f, err := cat.newField(k, pm)
		if err != nil {
			return nil, err
		}
		cat.byKey[k] = f
	}
	cat.keyList = keys
	for _, k := range keys {
		cat.keySigs = append(cat.keySigs, charSet(k))
	}
	pats, _ := raw["patternProperties"].(map[string]any)
	for _, p := range sortedKeys(pats) {
		pm, _ := pats[p].(map[string]any)
		f, err := cat.newField(p, pm)
		if err != nil {
			return nil, err
		}
		f.Pattern = regexp.MustCompile(p)
		cat.patterns = append(cat.patterns, f)
	}
	sort.Slice(cat.patterns, func(i, j int) bool { return cat.patterns[i].Key < cat.patterns[j].Key })
	drivers, _ := raw["x-storage-drivers"].(map[string]any)
	for name, v := range drivers {
		dm, _ := v.(map[string]any)
		d := &Driver{Name: name, Title: str(dm["title"])}
		for _, a := range anySlice(dm["required"]) {
			d.Required = append(d.Required, str(a))
		}
		for _, a := range anySlice(dm["args"]) {
			d.Args = append(d.Args, str(a))
		}
		cat.drivers[name] = d
		cat.driverOrder = append(cat.driverOrder, name)
	}
	sort.Strings(cat.driverOrder)
	cat.patternRE = map[string]*regexp.Regexp{}
	if err := collectPatterns(raw, cat.patternRE); err != nil {
		return nil, err
	}
	cat.defaults = map[string]any{}
	for k, f := range cat.byKey {
		if f.HasDefault {
			cat.defaults[k] = f.Default
		}
	}
	for _, g := range cat.groups {
		if len(g.Fields) == 0 {
			return nil, fmt.Errorf("group %s owns no key", g.Name)
		}
	}
	if err := cat.buildSpecs(); err != nil {
		return nil, err
	}
	if err := cat.resolveGuards(); err != nil {
		return nil, err
	}
	return cat, nil
}

func (c *Catalogue) newField(key string, pm map[string]any) (*Field, error) {
	f := &Field{Key: key, Group: str(pm["x-group"]), Title: str(pm["title"]), Description: str(pm["description"]),
		Component: str(pm["x-component"]), UI: str(pm["x-ui"]), ValuePattern: str(pm["pattern"]), raw: pm}
	switch t := pm["type"].(type) {
	case string:
		f.Types = []string{t}
	case []any:
		for _, x := range t {
			f.Types = append(f.Types, str(x))
		}
	}
	if ref := str(pm["$ref"]); ref != "" && len(f.Types) == 0 {
		if target := c.resolve(pm); target != nil {
			if t, ok := target["type"].(string); ok {
				f.Types = []string{t}
			}
		}
	}
	f.Enum = anySlice(pm["enum"])
	f.Default, f.HasDefault = pm["default"]
	switch s := pm["x-secret"].(type) {
	case bool:
		f.Secret = s
	case string:
		f.Secret, f.Userinfo = true, s == "userinfo"
	}
	for _, r := range c.required {
		if r == key {
			f.Required = true
		}
	}
	g := c.byGroup[f.Group]
	if g == nil {
		return nil, fmt.Errorf("property %s names unknown group %q", key, f.Group)
	}
	if f.Component == "" {
		f.Component = g.Component
	}
	if f.Title == "" {
		f.Title = key
	}
	g.Fields = append(g.Fields, f)
	return f, nil
}

// Groups returns the field groups in UI order.
func (c *Catalogue) Groups() []*Group { return c.groups }

// Group returns a group by wire name, or nil.
func (c *Catalogue) Group(name string) *Group { return c.byGroup[name] }

// Field returns the field of a top-level key (including pattern fields),
// or nil for a key Quay does not know.
func (c *Catalogue) Field(key string) *Field {
	if f, ok := c.byKey[key]; ok {
		return f
	}
	for _, p := range c.patterns {
		if p.Pattern.MatchString(key) {
			return p
		}
	}
	return nil
}

// GroupOf returns the group owning a top-level key, or "" when unknown.
func (c *Catalogue) GroupOf(key string) string {
	if f := c.Field(key); f != nil {
		return f.Group
	}
	return ""
}

// PatternFields returns the key-pattern fields (e.g. OIDC providers).
func (c *Catalogue) PatternFields() []*Field { return c.patterns }

// Keys returns every literal top-level key, sorted.
func (c *Catalogue) Keys() []string { return append([]string(nil), c.keyList...) }

// Drivers returns the storage drivers, sorted by name.
func (c *Catalogue) Drivers() []*Driver {
	out := make([]*Driver, 0, len(c.driverOrder))
	for _, n := range c.driverOrder {
		out = append(out, c.drivers[n])
	}
	return out
}

// Driver returns a storage driver by name, or nil.
func (c *Catalogue) Driver(name string) *Driver { return c.drivers[name] }

// Required lists the top-level keys the schema requires.
func (c *Catalogue) Required() []string { return append([]string(nil), c.required...) }

// Defaults returns the default of every top-level key that has one.
func (c *Catalogue) Defaults() map[string]any {
	out := make(map[string]any, len(c.defaults))
	for k, v := range c.defaults {
		out[k] = bundle.DeepCopy(v)
	}
	return out
}

// Default returns the default of a top-level key (read-only) and whether
// it has one.
func (c *Catalogue) Default(key string) (any, bool) {
	v, ok := c.defaults[key]
	return v, ok
}

// WithDefaults returns a copy of cfg with the defaults of missing keys
// filled in. It never modifies cfg: defaults are shown, not saved. The
// result shares values with cfg and the catalogue: treat it as read-only.
func (c *Catalogue) WithDefaults(cfg map[string]any) map[string]any {
	out := make(map[string]any, len(c.defaults)+len(cfg))
	for k, v := range c.defaults {
		out[k] = v
	}
	for k, v := range cfg {
		out[k] = v
	}
	return out
}

// rawProp returns the raw schema of a nested path (map keys and list
// indexes), following $ref, properties, patternProperties,
// additionalProperties, prefixItems and items. nil when unknown.
// Only the catalogue's own tests read raw schema nodes; everything else
// reads the typed Spec.
func (c *Catalogue) rawProp(segs ...string) map[string]any {
	node := c.rawSchema()
	for _, s := range segs {
		node = c.resolve(node)
		if node == nil {
			return nil
		}
		node = c.child(node, s)
		if node == nil {
			return nil
		}
	}
	return c.resolve(node)
}

// rawSchema returns the decoded schema, decoding the embedded one on first
// use when the catalogue was not built from JSON (the generated one).
func (c *Catalogue) rawSchema() map[string]any {
	c.rawOnce.Do(func() {
		if c.raw != nil {
			return
		}
		var raw map[string]any
		if err := json.Unmarshal(schemas.QuayConfig, &raw); err != nil {
			panic("embedded schema: " + err.Error())
		}
		re := map[string]*regexp.Regexp{}
		if err := collectPatterns(raw, re); err != nil {
			panic("embedded schema: " + err.Error())
		}
		c.raw, c.patternRE = raw, re
	})
	return c.raw
}

func (c *Catalogue) child(node map[string]any, seg string) map[string]any {
	if props, ok := node["properties"].(map[string]any); ok {
		if p, ok := props[seg].(map[string]any); ok {
			return p
		}
	}
	if pats, ok := node["patternProperties"].(map[string]any); ok {
		for pat, p := range pats {
			if re := c.patternRE[pat]; re != nil && re.MatchString(seg) {
				pm, _ := p.(map[string]any)
				return pm
			}
		}
	}
	if ap, ok := node["additionalProperties"].(map[string]any); ok {
		return ap
	}
	if idx, err := atoi(seg); err == nil {
		if pre := anySlice(node["prefixItems"]); idx < len(pre) {
			pm, _ := pre[idx].(map[string]any)
			return pm
		}
		if it, ok := node["items"].(map[string]any); ok {
			return it
		}
	}
	return nil
}

// resolve follows a local "$ref": "#/$defs/x", keeping x-* annotations of
// the referring node (they win over the target's).
func (c *Catalogue) resolve(node map[string]any) map[string]any {
	for i := 0; i < 8 && node != nil; i++ {
		ref, ok := node["$ref"].(string)
		if !ok || !strings.HasPrefix(ref, "#/") {
			return node
		}
		var target any = c.raw
		for _, part := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
			m, _ := target.(map[string]any)
			target = m[strings.ReplaceAll(strings.ReplaceAll(part, "~1", "/"), "~0", "~")]
		}
		tm, _ := target.(map[string]any)
		if tm == nil {
			return nil
		}
		merged := make(map[string]any, len(tm)+4)
		for k, v := range tm {
			merged[k] = v
		}
		for k, v := range node {
			if strings.HasPrefix(k, "x-") || k == "title" || k == "description" || k == "default" {
				merged[k] = v
			}
		}
		node = merged
	}
	return node
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

func anySlice(v any) []any {
	s, _ := v.([]any)
	return s
}

func atoi(s string) (int, error) {
	n := 0
	if s == "" {
		return 0, fmt.Errorf("empty")
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return 0, fmt.Errorf("not a number")
		}
		n = n*10 + int(r-'0')
		if n > 1<<30 {
			return 0, fmt.Errorf("too large")
		}
	}
	return n, nil
}

func collectPatterns(v any, into map[string]*regexp.Regexp) error {
	switch x := v.(type) {
	case map[string]any:
		if pats, ok := x["patternProperties"].(map[string]any); ok {
			for pat := range pats {
				re, err := regexp.Compile(pat)
				if err != nil {
					return fmt.Errorf("patternProperties %q: %w", pat, err)
				}
				into[pat] = re
			}
		}
		for _, val := range x {
			if err := collectPatterns(val, into); err != nil {
				return err
			}
		}
	case []any:
		for _, val := range x {
			if err := collectPatterns(val, into); err != nil {
				return err
			}
		}
	}
	return nil
}
