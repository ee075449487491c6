package schema

// The catalogue of the embedded schema comes from tables generated at
// build time (catalogue_gen.go, written by `go generate` with the
// generator in gen_test.go), so a process does not decode the 150 KB
// schema and build its specs at start-up (about 3 ms and 1.1 MB of
// allocations each run). The schema stays the single source: the tables
// are a dump of what build makes of it, a test fails when they are stale
// or differ from build's catalogue in any field, and Get builds from the
// schema itself when the embedded schema is not the one the tables were
// generated from.
//
// The specs are one array, in breadth-first order so the children of a
// spec are consecutive: its Children, Patterns, Tuple, Values and Items,
// in this order, from links[i].first on. The arrays are package data the
// linker lays out; the loader only compiles the patterns, sets the
// pointers and builds the lookup maps.

import (
	"fmt"
	"hash/crc32"
	"regexp"
	"sync"
)

//go:generate go test -run TestGeneratedCatalogueFresh . -args -update

// genTables are the generated tables of one schema.
type genTables struct {
	schemaLen  int    // of the schema the tables were generated from
	schemaCRC  uint32 // its CRC-32 (IEEE)
	regexps    []string
	specs      []FieldSpec
	links      []genLink // one per spec
	fields     []Field   // the literal keys, sorted, then the pattern fields, sorted
	fieldLinks []genFieldLink
	groups     []Group // without Fields
	drivers    []Driver
	required   []string
}

// genLink places specs[i] in the tree.
type genLink struct {
	first                     int32  // index of its first child spec
	children, patterns, tuple uint16 // how many of each
	values, items             bool   // whether it has them
	props                     bool   // whether it declares properties (even none)
	// 1 + the index in regexps of Pattern, NamePattern, KeyPattern; 0: nil
	pattern, namePattern, keyPattern uint8
}

// genFieldLink gives fields[i] its spec and, for a pattern field, its pattern.
type genFieldLink struct {
	spec    int32 // index in specs
	pattern uint8 // 1 + index in regexps; 0: a literal key
}

var (
	// generated is set by catalogue_gen.go; nil without it (then Get
	// builds from the schema).
	generated *genTables
	genOnce   sync.Once
	genCat    *Catalogue
	genErr    error
)

// embedded returns the catalogue of the embedded schema data: the
// generated one when it was generated from data, else build's.
func embedded(data []byte) (*Catalogue, error) {
	if generated != nil && generated.schemaLen == len(data) && generated.schemaCRC == crc32.ChecksumIEEE(data) {
		return generatedCatalogue()
	}
	return build(data)
}

// generatedCatalogue loads the generated tables, once: the loader sets
// pointers inside the package's tables, so there is only ever one.
func generatedCatalogue() (*Catalogue, error) {
	genOnce.Do(func() {
		if generated == nil {
			genErr = fmt.Errorf("no generated catalogue: run go generate ./internal/schema")
			return
		}
		genCat, genErr = generated.load()
	})
	return genCat, genErr
}

func (t *genTables) load() (*Catalogue, error) {
	if len(t.links) != len(t.specs) || len(t.fieldLinks) != len(t.fields) || len(t.specs) == 0 {
		return nil, fmt.Errorf("generated catalogue: tables of unequal length")
	}
	res := make([]*regexp.Regexp, len(t.regexps))
	for i, expr := range t.regexps {
		re, err := regexp.Compile(expr)
		if err != nil {
			return nil, fmt.Errorf("generated catalogue: pattern %q: %w", expr, err)
		}
		res[i] = re
	}
	re := func(i uint8) *regexp.Regexp {
		if i == 0 {
			return nil
		}
		return res[i-1]
	}
	ptrs := make([]*FieldSpec, len(t.specs))
	for i := range t.specs {
		ptrs[i] = &t.specs[i]
	}
	for i := range t.specs {
		s, l := ptrs[i], t.links[i]
		s.Pattern, s.NamePattern, s.KeyPattern = re(l.pattern), re(l.namePattern), re(l.keyPattern)
		next := int(l.first)
		take := func(n uint16) []*FieldSpec {
			if n == 0 {
				return nil
			}
			out := ptrs[next : next+int(n) : next+int(n)]
			next += int(n)
			return out
		}
		s.Children, s.Patterns, s.Tuple = take(l.children), take(l.patterns), take(l.tuple)
		if l.values {
			s.Values = ptrs[next]
			next++
		}
		if l.items {
			s.Items = ptrs[next]
		}
		if l.props {
			s.props = make(map[string]*FieldSpec, len(s.Children))
			for _, ch := range s.Children {
				s.props[ch.Name] = ch
			}
		}
	}
	c := &Catalogue{root: ptrs[0], required: t.required,
		byGroup: make(map[string]*Group, len(t.groups)), byKey: make(map[string]*Field, len(t.fields)),
		drivers: make(map[string]*Driver, len(t.drivers)), defaults: map[string]any{}}
	c.groups = make([]*Group, len(t.groups))
	for i := range t.groups {
		g := &t.groups[i]
		g.Fields = nil
		c.groups[i] = g
		c.byGroup[g.Name] = g
	}
	for i := range t.fields {
		f, l := &t.fields[i], t.fieldLinks[i]
		f.Spec = ptrs[l.spec]
		if g := c.byGroup[f.Group]; g != nil {
			g.Fields = append(g.Fields, f)
		}
		if l.pattern != 0 {
			f.Pattern = re(l.pattern)
			c.patterns = append(c.patterns, f)
			continue
		}
		c.byKey[f.Key] = f
		c.keyList = append(c.keyList, f.Key)
		c.keySigs = append(c.keySigs, charSet(f.Key))
		if f.HasDefault {
			c.defaults[f.Key] = f.Default
		}
	}
	for i := range t.drivers {
		d := &t.drivers[i]
		c.drivers[d.Name] = d
		c.driverOrder = append(c.driverOrder, d.Name)
	}
	if err := c.buildDriverSpecs(); err != nil {
		return nil, err
	}
	return c, nil
}
