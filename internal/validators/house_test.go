package validators

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"sort"
	"strings"
	"testing"
)

// helperFiles are the files that are not a field group's: the runner and
// what several groups share. Everything else (tests aside) is one group.
var helperFiles = []string{
	"validators.go", "checks.go", "context.go", "rules.go", "certs.go",
	"dial.go", "sigv4.go", "oauthapp.go", "redisclient.go",
	"blobstore.go", "blobstore_s3.go", "blobstore_azure.go", "blobstore_swift.go", "blobstore_local.go",
}

// groupFile is where a field group lives: its name in lower case.
func groupFile(group string) string { return strings.ToLower(group) + ".go" }

func funcFile(f any) string {
	pc := reflect.ValueOf(f).Pointer()
	fn := runtime.FuncForPC(pc)
	if fn == nil {
		return "?"
	}
	file, _ := fn.FileLine(fn.Entry())
	return filepath.Base(file)
}

// A newcomer who knows a group's name finds its rules and probes with ls:
// every Check's offline rules and probes are defined in the group's file,
// and every source file is a group's or one of the few shared helpers.
func TestEveryGroupLivesInItsFile(t *testing.T) {
	groups := map[string]bool{}
	for _, chk := range allChecks() {
		want := groupFile(chk.Group)
		groups[want] = true
		if _, err := os.Stat(want); err != nil {
			t.Errorf("group %s: no file %s", chk.Group, want)
		}
		if chk.Offline != nil {
			if got := funcFile(chk.Offline); got != want {
				t.Errorf("group %s: offline rules defined in %s, want %s", chk.Group, got, want)
			}
		}
		if chk.Probes != nil {
			if got := funcFile(chk.Probes); got != want {
				t.Errorf("group %s: probes defined in %s, want %s", chk.Group, got, want)
			}
		}
	}
	helpers := map[string]bool{}
	for _, h := range helperFiles {
		helpers[h] = true
	}
	names, _ := filepath.Glob("*.go")
	var stray []string
	for _, name := range names {
		if strings.HasSuffix(name, "_test.go") || groups[name] || helpers[name] {
			continue
		}
		stray = append(stray, name)
	}
	if len(stray) > 0 {
		t.Errorf("files that are neither a field group's nor a listed helper: %v", stray)
	}
}

// No init() registers anything and no package-level variable is changed
// after start-up: the list of checks is a literal, per-validation state
// lives in the Context.
func TestNoInitNoMutablePackageState(t *testing.T) {
	fset := token.NewFileSet()
	names, _ := filepath.Glob("*.go")
	var files []*ast.File
	for _, name := range names {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	vars := map[string]bool{}
	for _, f := range files {
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				if d.Recv == nil && d.Name.Name == "init" {
					t.Errorf("%s: func init()", fset.Position(d.Pos()))
				}
			case *ast.GenDecl:
				if d.Tok != token.VAR {
					continue
				}
				for _, s := range d.Specs {
					for _, n := range s.(*ast.ValueSpec).Names {
						vars[n.Name] = true
					}
				}
			}
		}
	}
	// root returns the variable an assignment target writes into:
	// x, x[i], x.f, *x.
	var root func(e ast.Expr) *ast.Ident
	root = func(e ast.Expr) *ast.Ident {
		switch x := e.(type) {
		case *ast.Ident:
			return x
		case *ast.IndexExpr:
			return root(x.X)
		case *ast.SelectorExpr:
			return root(x.X)
		case *ast.StarExpr:
			return root(x.X)
		case *ast.ParenExpr:
			return root(x.X)
		}
		return nil
	}
	// a package-level variable: declared at the top of a file (resolved to
	// a top-level ValueSpec) or in another file (unresolved), never local
	isPkgVar := func(id *ast.Ident, f *ast.File) bool {
		if id == nil || !vars[id.Name] {
			return false
		}
		if id.Obj == nil {
			return true
		}
		for _, d := range f.Decls {
			if g, ok := d.(*ast.GenDecl); ok && g.Tok == token.VAR {
				for _, s := range g.Specs {
					if s == id.Obj.Decl {
						return true
					}
				}
			}
		}
		return false
	}
	var bad []string
	for _, f := range files {
		ast.Inspect(f, func(n ast.Node) bool {
			switch x := n.(type) {
			case *ast.AssignStmt:
				if x.Tok == token.DEFINE {
					return true
				}
				for _, lhs := range x.Lhs {
					if id := root(lhs); isPkgVar(id, f) {
						bad = append(bad, fset.Position(x.Pos()).String()+": assigns "+id.Name)
					}
				}
			case *ast.IncDecStmt:
				if id := root(x.X); isPkgVar(id, f) {
					bad = append(bad, fset.Position(x.Pos()).String()+": changes "+id.Name)
				}
			case *ast.CallExpr:
				if fn, ok := x.Fun.(*ast.Ident); ok && (fn.Name == "delete" || fn.Name == "clear") && len(x.Args) > 0 {
					if id := root(x.Args[0]); isPkgVar(id, f) {
						bad = append(bad, fset.Position(x.Pos()).String()+": "+fn.Name+"s from "+id.Name)
					}
				}
			}
			return true
		})
	}
	sort.Strings(bad)
	for _, b := range bad {
		t.Errorf("package-level state changed: %s", b)
	}
}
