package schema

// The generator of catalogue_gen.go (see generated.go) and the tests that
// keep it true to the schema: the file must be what the generator writes
// for the embedded schema today, and the catalogue it loads must equal the
// one build makes from the schema in every field.
//
//	go generate ./internal/schema
//
// runs TestGeneratedCatalogueFresh with -update, which rewrites the file.

import (
	"bytes"
	"flag"
	"fmt"
	"go/format"
	"hash/crc32"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/quay-tools/config-editor/schemas"
)

var updateGenerated = flag.Bool("update", false, "rewrite catalogue_gen.go from the embedded schema")

const genFile = "catalogue_gen.go"

// TestGeneratedCatalogueFresh fails when catalogue_gen.go is not what the
// generator writes for the embedded schema (run go generate).
func TestGeneratedCatalogueFresh(t *testing.T) {
	cat, err := build(schemas.QuayConfig)
	if err != nil {
		t.Fatal(err)
	}
	src, err := generateCatalogue(cat, schemas.QuayConfig)
	if err != nil {
		t.Fatal(err)
	}
	if *updateGenerated {
		if err := os.WriteFile(genFile, src, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	have, err := os.ReadFile(genFile)
	if err != nil {
		t.Fatalf("%v: run `go generate ./internal/schema`", err)
	}
	if !bytes.Equal(have, src) {
		t.Fatalf("%s is stale (schemas/ or the generator changed since it was written): run `go generate ./internal/schema`", genFile)
	}
}

// TestGeneratedCatalogueMatchesBuild compares the loaded tables with the
// catalogue build makes from the schema, field by field.
func TestGeneratedCatalogueMatchesBuild(t *testing.T) {
	want, err := build(schemas.QuayConfig)
	if err != nil {
		t.Fatal(err)
	}
	got, err := generatedCatalogue()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range append(append([]*Field(nil), want.patterns...), fieldsOf(want)...) {
		f.raw = nil // the raw schema is build's input, not part of the catalogue
	}
	gv, wv := reflect.ValueOf(got).Elem(), reflect.ValueOf(want).Elem()
	compared := 0
	for i := 0; i < gv.NumField(); i++ {
		name := gv.Type().Field(i).Name
		switch name {
		case "raw", "rawOnce", "patternRE": // decoded on demand (tests only)
			continue
		}
		compared++
		if d := firstDiff("Catalogue."+name, gv.Field(i), wv.Field(i)); d != "" {
			t.Errorf("the generated catalogue differs from build's: %s", d)
		}
	}
	if compared < 10 {
		t.Fatalf("compared only %d fields of Catalogue", compared)
	}
	// the comparison can fail
	mangled, _ := build(schemas.QuayConfig)
	mangled.Spec("DB_URI").c.minLength = 42
	if firstDiff("root", reflect.ValueOf(mangled.root), reflect.ValueOf(want.root)) == "" {
		t.Fatal("firstDiff missed a changed constraint")
	}
}

// TestGetUsesGeneratedCatalogue: Get serves the generated catalogue, so
// start-up does not decode the schema.
func TestGetUsesGeneratedCatalogue(t *testing.T) {
	g, err := generatedCatalogue()
	if err != nil {
		t.Fatal(err)
	}
	if Get() != g {
		t.Fatalf("Get built the catalogue from the schema: %s was not generated from the embedded schema", genFile)
	}
	// a schema other than the generated one is built, not served stale
	other := append(bytes.Clone(schemas.QuayConfig), ' ')
	c, err := embedded(other)
	if err != nil {
		t.Fatal(err)
	}
	if c == g {
		t.Fatal("embedded served the generated catalogue for another schema")
	}
}

func fieldsOf(c *Catalogue) []*Field {
	out := make([]*Field, 0, len(c.keyList))
	for _, k := range c.keyList {
		out = append(out, c.byKey[k])
	}
	return out
}

// firstDiff describes the first difference between a and b, or "".
// Regexps compare by their expression.
func firstDiff(path string, a, b reflect.Value) string {
	if a.IsValid() != b.IsValid() {
		return path + ": one is missing"
	}
	if !a.IsValid() {
		return ""
	}
	if a.Type() != b.Type() {
		return fmt.Sprintf("%s: %s vs %s", path, a.Type(), b.Type())
	}
	switch a.Kind() {
	case reflect.Pointer, reflect.Interface:
		if a.IsNil() || b.IsNil() {
			if a.IsNil() != b.IsNil() {
				return path + ": nil vs not nil"
			}
			return ""
		}
		if a.Kind() == reflect.Pointer && a.Type().Elem().String() == "regexp.Regexp" {
			ea, eb := a.Elem().FieldByName("expr").String(), b.Elem().FieldByName("expr").String()
			if ea != eb {
				return fmt.Sprintf("%s: regexp %q vs %q", path, ea, eb)
			}
			return ""
		}
		return firstDiff(path, a.Elem(), b.Elem())
	case reflect.Struct:
		for i := 0; i < a.NumField(); i++ {
			if d := firstDiff(path+"."+a.Type().Field(i).Name, a.Field(i), b.Field(i)); d != "" {
				return d
			}
		}
	case reflect.Slice:
		if a.IsNil() != b.IsNil() {
			return path + ": nil vs empty slice"
		}
		fallthrough
	case reflect.Array:
		if a.Len() != b.Len() {
			return fmt.Sprintf("%s: length %d vs %d", path, a.Len(), b.Len())
		}
		for i := 0; i < a.Len(); i++ {
			if d := firstDiff(fmt.Sprintf("%s[%d]", path, i), a.Index(i), b.Index(i)); d != "" {
				return d
			}
		}
	case reflect.Map:
		if a.IsNil() != b.IsNil() {
			return path + ": nil vs empty map"
		}
		if a.Len() != b.Len() {
			return fmt.Sprintf("%s: %d vs %d entries", path, a.Len(), b.Len())
		}
		iter := a.MapRange()
		for iter.Next() {
			bv := b.MapIndex(iter.Key())
			if !bv.IsValid() {
				return fmt.Sprintf("%s[%v]: missing", path, iter.Key())
			}
			if d := firstDiff(fmt.Sprintf("%s[%v]", path, iter.Key()), iter.Value(), bv); d != "" {
				return d
			}
		}
	case reflect.Bool:
		if a.Bool() != b.Bool() {
			return fmt.Sprintf("%s: %v vs %v", path, a.Bool(), b.Bool())
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if a.Int() != b.Int() {
			return fmt.Sprintf("%s: %d vs %d", path, a.Int(), b.Int())
		}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		if a.Uint() != b.Uint() {
			return fmt.Sprintf("%s: %d vs %d", path, a.Uint(), b.Uint())
		}
	case reflect.Float32, reflect.Float64:
		if a.Float() != b.Float() {
			return fmt.Sprintf("%s: %v vs %v", path, a.Float(), b.Float())
		}
	case reflect.String:
		if a.String() != b.String() {
			return fmt.Sprintf("%s: %q vs %q", path, a.String(), b.String())
		}
	default:
		return fmt.Sprintf("%s: cannot compare a %s", path, a.Kind())
	}
	return ""
}

// The fields the generator writes or the loader sets, per struct; a test
// fails when a struct gains a field the generator does not know.
var genKnownFields = map[reflect.Type]string{
	reflect.TypeOf(FieldSpec{}): "Name Title Description Kind Widget Types Enum Default HasDefault Secret Pattern NamePattern " +
		"KeyPattern Group Component UI Required Common Minimum Maximum Children Patterns Values Items Tuple props c",
	reflect.TypeOf(constraints{}): "minLength maxLength minItems maxItems minProperties maxProperties uniqueItems required " +
		"forbidExtra forbidItems enumMsg enumAllowed",
	reflect.TypeOf(Field{}): "Key Pattern Group Title Description Types Enum Default HasDefault Secret Userinfo Component UI " +
		"ValuePattern Required Spec Guard QuayTyped raw",
	reflect.TypeOf(Group{}):     "Name Title Description Component Section Guard Fields",
	reflect.TypeOf(Driver{}):    "Name Title Required Args",
	reflect.TypeOf(GuardTerm{}): "Key Values",
}

func TestGeneratorKnowsEveryField(t *testing.T) {
	for typ, known := range genKnownFields {
		var have []string
		for i := 0; i < typ.NumField(); i++ {
			have = append(have, typ.Field(i).Name)
		}
		if strings.Join(have, " ") != known {
			t.Errorf("%s has fields %q; the generator (gen_test.go) writes %q: teach it the new ones", typ, strings.Join(have, " "), known)
		}
	}
}

// generateCatalogue writes the Go source of the tables of c, built from
// the schema data.
func generateCatalogue(c *Catalogue, data []byte) ([]byte, error) {
	g := &gen{regexIdx: map[string]int{}, numIdx: map[float64]int{}}
	order, links, index, err := g.layout(c)
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	b.WriteString("// Code generated by `go generate ./internal/schema` (gen_test.go) from\n")
	b.WriteString("// schemas/quay-config.schema.json. DO NOT EDIT.\n\npackage schema\n\n")
	fmt.Fprintf(&b, "func init() {\n\tgenerated = &genTables{schemaLen: %d, schemaCRC: %#08x,\n", len(data), crc32.ChecksumIEEE(data))
	b.WriteString("\t\tregexps: genRegexps[:], specs: genSpecs[:], links: genLinks[:], fields: genFields[:],\n")
	b.WriteString("\t\tfieldLinks: genFieldLinks[:], groups: genGroups[:], drivers: genDrivers[:], required: genRequired}\n}\n\n")

	// specs first: they name the regexps and numbers
	var specs strings.Builder
	fmt.Fprintf(&specs, "var genSpecs = [%d]FieldSpec{\n", len(order))
	for i, s := range order {
		lit, err := g.spec(s)
		if err != nil {
			return nil, fmt.Errorf("spec %d (%s): %w", i, s.Name, err)
		}
		fmt.Fprintf(&specs, "\t%s, // %d\n", lit, i)
	}
	specs.WriteString("}\n\n")

	// links: first, children, patterns, tuple, values, items, props, pattern, namePattern, keyPattern
	var lk strings.Builder
	fmt.Fprintf(&lk, "var genLinks = [%d]genLink{\n", len(links))
	for i, l := range links {
		s := order[i]
		l.pattern, l.namePattern, l.keyPattern = g.regex(s.Pattern), g.regex(s.NamePattern), g.regex(s.KeyPattern)
		fmt.Fprintf(&lk, "\t{%d, %d, %d, %d, %v, %v, %v, %d, %d, %d},\n", l.first, l.children, l.patterns, l.tuple,
			l.values, l.items, l.props, l.pattern, l.namePattern, l.keyPattern)
	}
	lk.WriteString("}\n\n")

	var fields, fl strings.Builder
	all := append(fieldsOf(c), c.patterns...)
	fmt.Fprintf(&fields, "var genFields = [%d]Field{\n", len(all))
	fmt.Fprintf(&fl, "var genFieldLinks = [%d]genFieldLink{\n", len(all))
	for _, f := range all {
		lit, err := g.field(f)
		if err != nil {
			return nil, fmt.Errorf("field %s: %w", f.Key, err)
		}
		fields.WriteString("\t" + lit + ",\n")
		si, ok := index[f.Spec]
		if !ok {
			return nil, fmt.Errorf("field %s: its spec is not in the tree", f.Key)
		}
		fmt.Fprintf(&fl, "\t{%d, %d},\n", si, g.regex(f.Pattern))
	}
	fields.WriteString("}\n\n")
	fl.WriteString("}\n\n")
	// the loader gives each group its fields in the order of genFields
	pos := 0
	for _, grp := range c.groups {
		var want []*Field
		for _, f := range all {
			if f.Group == grp.Name {
				want = append(want, f)
			}
		}
		if len(want) != len(grp.Fields) {
			return nil, fmt.Errorf("group %s: %d fields, %d name it", grp.Name, len(grp.Fields), len(want))
		}
		for i := range want {
			if want[i] != grp.Fields[i] {
				return nil, fmt.Errorf("group %s: fields not in key order", grp.Name)
			}
		}
		pos += len(want)
	}
	if pos != len(all) {
		return nil, fmt.Errorf("%d fields, %d in groups", len(all), pos)
	}

	var groups strings.Builder
	fmt.Fprintf(&groups, "var genGroups = [%d]Group{\n", len(c.groups))
	for _, grp := range c.groups {
		guard, err := guardLit(grp.Guard)
		if err != nil {
			return nil, err
		}
		groups.WriteString("\t{" + keyed("Name", qs(grp.Name), "Title", qs(grp.Title), "Description", qs(grp.Description),
			"Component", qs(grp.Component), "Section", qs(grp.Section), "Guard", guard) + "},\n")
	}
	groups.WriteString("}\n\n")

	var drivers strings.Builder
	fmt.Fprintf(&drivers, "var genDrivers = [%d]Driver{\n", len(c.driverOrder))
	for _, n := range c.driverOrder {
		d := c.drivers[n]
		drivers.WriteString("\t{" + keyed("Name", qs(d.Name), "Title", qs(d.Title), "Required", strs(d.Required), "Args", strs(d.Args)) + "},\n")
	}
	drivers.WriteString("}\n\n")

	req := strs(c.required)
	if req == "" {
		req = "nil"
	}
	fmt.Fprintf(&b, "var genRequired = %s\n\n", req)
	b.WriteString("var genRegexps = [...]string{\n")
	for _, r := range g.regexps {
		b.WriteString("\t" + q(r) + ",\n")
	}
	b.WriteString("}\n\n")
	b.WriteString("var genNums = [...]float64{")
	for i, n := range g.nums {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(strconv.FormatFloat(n, 'g', -1, 64))
	}
	b.WriteString("}\n\n")
	for _, part := range []*strings.Builder{&groups, &drivers, &fields, &fl, &specs, &lk} {
		b.WriteString(part.String())
	}
	if len(g.regexps) > 255 {
		return nil, fmt.Errorf("%d patterns: genLink holds 255", len(g.regexps))
	}
	return format.Source([]byte(b.String()))
}

type gen struct {
	regexps  []string
	regexIdx map[string]int
	nums     []float64
	numIdx   map[float64]int
}

// layout orders the specs breadth-first, each spec's children consecutive.
func (g *gen) layout(c *Catalogue) ([]*FieldSpec, []genLink, map[*FieldSpec]int, error) {
	order := []*FieldSpec{c.root}
	index := map[*FieldSpec]int{c.root: 0}
	var links []genLink
	var err error
	for i := 0; i < len(order); i++ {
		s := order[i]
		l := genLink{first: int32(len(order)), props: s.props != nil}
		add := func(list ...*FieldSpec) uint16 {
			for _, ch := range list {
				if _, dup := index[ch]; dup && err == nil {
					err = fmt.Errorf("spec %s appears twice in the tree", ch.Name)
				}
				index[ch] = len(order)
				order = append(order, ch)
			}
			if len(list) > 0xffff && err == nil {
				err = fmt.Errorf("a spec with %d children", len(list))
			}
			return uint16(len(list))
		}
		l.children, l.patterns, l.tuple = add(s.Children...), add(s.Patterns...), add(s.Tuple...)
		if s.Values != nil {
			l.values = add(s.Values) == 1
		}
		if s.Items != nil {
			l.items = add(s.Items) == 1
		}
		if len(s.props) != len(s.Children) {
			return nil, nil, nil, fmt.Errorf("spec %s: %d properties, %d children", s.Name, len(s.props), len(s.Children))
		}
		for _, ch := range s.Children {
			if s.props[ch.Name] != ch {
				return nil, nil, nil, fmt.Errorf("spec %s: child %s is not its property", s.Name, ch.Name)
			}
		}
		links = append(links, l)
	}
	return order, links, index, err
}

func (g *gen) regex(re *regexp.Regexp) uint8 {
	if re == nil {
		return 0
	}
	expr := re.String()
	i, ok := g.regexIdx[expr]
	if !ok {
		i = len(g.regexps)
		g.regexIdx[expr] = i
		g.regexps = append(g.regexps, expr)
	}
	return uint8(i + 1)
}

func (g *gen) num(p *float64) string {
	if p == nil {
		return ""
	}
	i, ok := g.numIdx[*p]
	if !ok {
		i = len(g.nums)
		g.numIdx[*p] = i
		g.nums = append(g.nums, *p)
	}
	return fmt.Sprintf("&genNums[%d]", i)
}

func (g *gen) spec(s *FieldSpec) (string, error) {
	enum, err := anyLit(s.Enum)
	if err != nil {
		return "", err
	}
	def, err := g.def(s.Default, s.HasDefault)
	if err != nil {
		return "", err
	}
	g.regex(s.Pattern)
	g.regex(s.NamePattern)
	g.regex(s.KeyPattern)
	cons := "constraints{" + keyed("minLength", itoa(s.c.minLength), "maxLength", itoa(s.c.maxLength),
		"minItems", itoa(s.c.minItems), "maxItems", itoa(s.c.maxItems),
		"minProperties", itoa(s.c.minProperties), "maxProperties", itoa(s.c.maxProperties),
		"uniqueItems", flagLit(s.c.uniqueItems), "required", strs(s.c.required),
		"forbidExtra", flagLit(s.c.forbidExtra), "forbidItems", flagLit(s.c.forbidItems),
		"enumMsg", qs(s.c.enumMsg), "enumAllowed", strs(s.c.enumAllowed)) + "}"
	if enum == "nil" {
		enum = ""
	}
	return "{" + keyed("Name", qs(s.Name), "Title", qs(s.Title), "Description", qs(s.Description),
		"Kind", qs(string(s.Kind)), "Widget", qs(string(s.Widget)), "Types", strs(s.Types), "Enum", enum,
		"Default", def, "HasDefault", flagLit(s.HasDefault), "Secret", qs(string(s.Secret)),
		"Group", qs(s.Group), "Component", qs(s.Component), "UI", qs(s.UI),
		"Required", flagLit(s.Required), "Common", flagLit(s.Common),
		"Minimum", g.num(s.Minimum), "Maximum", g.num(s.Maximum), "c", cons) + "}", nil
}

func (g *gen) field(f *Field) (string, error) {
	enum, err := anyLit(f.Enum)
	if err != nil {
		return "", err
	}
	if enum == "nil" {
		enum = ""
	}
	def, err := g.def(f.Default, f.HasDefault)
	if err != nil {
		return "", err
	}
	guard, err := guardLit(f.Guard)
	if err != nil {
		return "", err
	}
	g.regex(f.Pattern)
	return "{" + keyed("Key", qs(f.Key), "Group", qs(f.Group), "Title", qs(f.Title), "Description", qs(f.Description),
		"Types", strs(f.Types), "Enum", enum, "Default", def, "HasDefault", flagLit(f.HasDefault),
		"Secret", flagLit(f.Secret), "Userinfo", flagLit(f.Userinfo), "Component", qs(f.Component), "UI", qs(f.UI),
		"ValuePattern", qs(f.ValuePattern), "Required", flagLit(f.Required), "Guard", guard,
		"QuayTyped", flagLit(f.QuayTyped)) + "}", nil
}

// def is a default's literal; "" when there is none (or it is nil).
func (g *gen) def(v any, has bool) (string, error) {
	if !has {
		if v != nil {
			return "", fmt.Errorf("a default without HasDefault")
		}
		return "", nil
	}
	lit, err := anyLit(v)
	if err != nil || lit == "nil" {
		return "", err
	}
	return lit, nil
}

func guardLit(g Guard) (string, error) {
	if g == nil {
		return "", nil
	}
	var parts []string
	for _, t := range g {
		vals, err := anyLit(t.Values)
		if err != nil {
			return "", err
		}
		parts = append(parts, "{Key: "+q(t.Key)+", Values: "+vals+"}")
	}
	return "Guard{" + strings.Join(parts, ", ") + "}", nil
}

// anyLit is the Go literal of a JSON value.
func anyLit(v any) (string, error) {
	switch x := v.(type) {
	case nil:
		return "nil", nil
	case bool:
		return boolLit(x), nil
	case string:
		return q(x), nil
	case float64:
		return "float64(" + strconv.FormatFloat(x, 'g', -1, 64) + ")", nil
	case []any:
		if x == nil {
			return "nil", nil
		}
		parts := make([]string, len(x))
		for i, e := range x {
			lit, err := anyLit(e)
			if err != nil {
				return "", err
			}
			parts[i] = lit
		}
		return "[]any{" + strings.Join(parts, ", ") + "}", nil
	case map[string]any:
		if x == nil {
			return "map[string]any(nil)", nil
		}
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			lit, err := anyLit(x[k])
			if err != nil {
				return "", err
			}
			parts[i] = q(k) + ": " + lit
		}
		return "map[string]any{" + strings.Join(parts, ", ") + "}", nil
	}
	return "", fmt.Errorf("no literal for a %T", v)
}

// keyed joins the name: value pairs whose value is not "" (zero values
// are written as "": see qs and flag).
func keyed(kv ...string) string {
	var parts []string
	for i := 0; i < len(kv); i += 2 {
		if v := kv[i+1]; v != "" {
			parts = append(parts, kv[i]+": "+v)
		}
	}
	return strings.Join(parts, ", ")
}

func q(s string) string { return strconv.Quote(s) }

// qs is a string field's literal; "" (left out) for the empty string.
func qs(s string) string {
	if s == "" {
		return ""
	}
	return q(s)
}

// flagLit is a bool field's literal; "" (left out) for false.
func flagLit(b bool) string {
	if b {
		return "true"
	}
	return ""
}

func itoa(n int) string { return strconv.Itoa(n) }

func boolLit(b bool) string { return strconv.FormatBool(b) }

// strs is a []string literal; "" for nil.
func strs(s []string) string {
	if s == nil {
		return ""
	}
	parts := make([]string, len(s))
	for i, x := range s {
		parts[i] = q(x)
	}
	return "[]string{" + strings.Join(parts, ", ") + "}"
}
