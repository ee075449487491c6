package schema

// House rules for the code outside this package: only the catalogue reads
// JSON-Schema keywords, and no field group's keys are written out twice.
// Both tests read the Go sources (not _test.go files) of the packages that
// use the catalogue.

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// houseDirs are the source trees (relative to the repository root) that
// must read the schema only through the typed catalogue. A directory that
// does not exist yet (internal/registry before the registry runtime lands)
// is skipped.
var houseDirs = []string{
	"internal/editor",
	"internal/operator",
	"internal/registry",
	"internal/validators",
	"cmd",
}

// keyListPending are houseDirs the key-list rule does not cover yet (none).
var keyListPending = map[string]bool{}

// keywordAllowed lists the known keyword literals outside the catalogue,
// by directory and enclosing function.
var keywordAllowed = map[string]bool{}

// genericKeywords are JSON-Schema keywords that are also ordinary words a
// form or a message uses ("default" is a storage form field); they are
// not looked for.
var genericKeywords = map[string]bool{
	"title": true, "description": true, "default": true, "examples": true,
	"deprecated": true, "required": true,
}

// schemaKeywords are the keywords the catalogue understands (except the
// generic words) and every x-* annotation the embedded schema uses.
func schemaKeywords(t *testing.T) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	for k := range specKeywords {
		if !genericKeywords[k] {
			out[k] = true
		}
	}
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, val := range x {
				if strings.HasPrefix(k, "x-") {
					out[k] = true
				}
				walk(val)
			}
		case []any:
			for _, val := range x {
				walk(val)
			}
		}
	}
	walk(Get().rawSchema())
	if !out["x-secret"] || !out["enum"] || !out["properties"] {
		t.Fatalf("the keyword list misses basics: %v", out)
	}
	return out
}

// repoRoot is the repository root (this package is internal/schema).
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("repository root not found from %s: %v", root, err)
	}
	return root
}

// srcFile is one parsed Go source file.
type srcFile struct {
	dir, rel string // houseDirs entry, path from the repository root
	fset     *token.FileSet
	f        *ast.File
}

// houseSources parses the non-test Go files of dirs, recursively (testdata
// excluded).
func houseSources(t *testing.T, dirs []string) []srcFile {
	t.Helper()
	root := repoRoot(t)
	var out []srcFile
	for _, dir := range dirs {
		abs := filepath.Join(root, dir)
		if _, err := os.Stat(abs); os.IsNotExist(err) {
			continue
		}
		err := filepath.WalkDir(abs, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if d.Name() == "testdata" {
					return filepath.SkipDir
				}
				return nil
			}
			if !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
				return nil
			}
			fset := token.NewFileSet()
			f, err := parser.ParseFile(fset, p, nil, parser.SkipObjectResolution)
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(root, p)
			out = append(out, srcFile{dir: dir, rel: filepath.ToSlash(rel), fset: fset, f: f})
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(out) == 0 {
		t.Fatal("no Go sources found")
	}
	return out
}

// stringLits calls fn with every string literal of a file that is not a
// struct tag or an import path, and the function it is in ("" at package
// level).
func stringLits(f *ast.File, fn func(lit *ast.BasicLit, value, fun string)) {
	skip := map[*ast.BasicLit]bool{}
	ast.Inspect(f, func(n ast.Node) bool {
		switch x := n.(type) {
		case *ast.Field:
			if x.Tag != nil {
				skip[x.Tag] = true
			}
		case *ast.ImportSpec:
			skip[x.Path] = true
		}
		return true
	})
	var visit func(n ast.Node, fun string)
	visit = func(n ast.Node, fun string) {
		ast.Inspect(n, func(n ast.Node) bool {
			switch x := n.(type) {
			case *ast.FuncDecl:
				if x.Body != nil && x.Name.Name != fun {
					visit(x.Body, x.Name.Name)
					return false
				}
			case *ast.BasicLit:
				if x.Kind == token.STRING && !skip[x] {
					if v, err := strconv.Unquote(x.Value); err == nil {
						fn(x, v, fun)
					}
				}
			}
			return true
		})
	}
	visit(f, "")
}

// Only internal/schema reads JSON-Schema keywords: the editor, the
// validators, the Operator code, the registry runtime and the CLI read the
// typed catalogue (Spec, DriverSpec, ...).
func TestNoSchemaKeywordsOutsideCatalogue(t *testing.T) {
	kw := schemaKeywords(t)
	var found []string
	for _, sf := range houseSources(t, houseDirs) {
		stringLits(sf.f, func(lit *ast.BasicLit, v, fun string) {
			if !kw[v] || keywordAllowed[sf.dir+":"+fun+":"+v] {
				return
			}
			found = append(found, fmt.Sprintf("%s: %q in %s", sf.fset.Position(lit.Pos()), v, funcName(fun)))
		})
	}
	if len(found) > 0 {
		sort.Strings(found)
		t.Errorf("JSON-Schema keywords outside internal/schema (read the typed catalogue instead):\n%s", strings.Join(found, "\n"))
	}
}

func funcName(fun string) string {
	if fun == "" {
		return "package scope"
	}
	return fun + "()"
}

// keyList is a composite literal naming top-level keys of config.yaml.
type keyList struct {
	where string
	keys  map[string][]string // group -> its keys named in the literal
}

// houseKeyLists finds every composite literal (slice, array or map
// literal) that names at least 3 top-level keys of one field group, as
// string literals or as string constants declared in the same package.
func houseKeyLists(t *testing.T, files []srcFile) []keyList {
	t.Helper()
	cat := Get()
	consts := map[string]map[string]string{} // package dir -> name -> value
	for _, sf := range files {
		pkg := filepath.Dir(sf.rel)
		if consts[pkg] == nil {
			consts[pkg] = map[string]string{}
		}
		ast.Inspect(sf.f, func(n ast.Node) bool {
			gd, ok := n.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST {
				return true
			}
			for _, spec := range gd.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, name := range vs.Names {
					if i < len(vs.Values) {
						if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
							if v, err := strconv.Unquote(lit.Value); err == nil {
								consts[pkg][name.Name] = v
							}
						}
					}
				}
			}
			return true
		})
	}
	var out []keyList
	for _, sf := range files {
		pkgConsts := consts[filepath.Dir(sf.rel)]
		str := func(e ast.Expr) (string, bool) {
			switch x := e.(type) {
			case *ast.BasicLit:
				if x.Kind == token.STRING {
					v, err := strconv.Unquote(x.Value)
					return v, err == nil
				}
			case *ast.Ident:
				v, ok := pkgConsts[x.Name]
				return v, ok
			}
			return "", false
		}
		ast.Inspect(sf.f, func(n ast.Node) bool {
			cl, ok := n.(*ast.CompositeLit)
			if !ok {
				return true
			}
			kl := keyList{where: sf.fset.Position(cl.Pos()).String(), keys: map[string][]string{}}
			seen := map[string]bool{}
			for _, el := range cl.Elts {
				if kv, ok := el.(*ast.KeyValueExpr); ok {
					el = kv.Key
				}
				s, ok := str(el)
				if !ok || seen[s] {
					continue
				}
				seen[s] = true
				if f, known := cat.byKey[s]; known {
					kl.keys[f.Group] = append(kl.keys[f.Group], s)
				}
			}
			for g, ks := range kl.keys {
				if len(ks) < 3 {
					delete(kl.keys, g)
				}
			}
			if len(kl.keys) > 0 {
				out = append(out, kl)
			}
			return true
		})
	}
	return out
}

// A field group's keys live in the catalogue (g.Keys()). Code may name a
// few of them, but no literal copies a whole group (of 3 or more keys),
// and no two literals list the same 3 or more keys of a group: such a list
// is written once, as a named variable, or read from the catalogue.
func TestNoGroupKeyListTwice(t *testing.T) {
	var dirs []string
	for _, d := range houseDirs {
		if !keyListPending[d] {
			dirs = append(dirs, d)
		}
	}
	lists := houseKeyLists(t, houseSources(t, dirs))
	var bad []string
	for _, kl := range lists {
		for g, ks := range kl.keys {
			if all := Get().Group(g).Keys(); len(ks) == len(all) {
				bad = append(bad, fmt.Sprintf("%s: lists every key of %s (%s): use Group(%q).Keys()", kl.where, g, strings.Join(ks, ", "), g))
			}
		}
	}
	for i, a := range lists {
		for _, b := range lists[i+1:] {
			for g, ka := range a.keys {
				if shared := intersect(ka, b.keys[g]); len(shared) >= 3 {
					bad = append(bad, fmt.Sprintf("%s and %s both list %s keys %s: write the list once", a.where, b.where, g, strings.Join(shared, ", ")))
				}
			}
		}
	}
	if len(bad) > 0 {
		sort.Strings(bad)
		t.Errorf("field-group key lists written out more than once:\n%s", strings.Join(bad, "\n"))
	}
}

func intersect(a, b []string) []string {
	in := map[string]bool{}
	for _, x := range b {
		in[x] = true
	}
	var out []string
	for _, x := range a {
		if in[x] {
			out = append(out, x)
		}
	}
	sort.Strings(out)
	return out
}
