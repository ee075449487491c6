package bundle

import (
	"errors"
	"strings"
	"testing"
)

func TestParseDocumentRefusesHostileYAML(t *testing.T) {
	laughs := "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n"
	prev := "a"
	for _, n := range []string{"b", "c", "d", "e", "f", "g", "h", "i"} {
		laughs += n + ": &" + n + " [*" + prev + ",*" + prev + ",*" + prev + ",*" + prev + ",*" + prev + ",*" + prev + ",*" + prev + ",*" + prev + ",*" + prev + "]\n"
		prev = n
	}
	deep := strings.Repeat("[", 100) + strings.Repeat("]", 100)
	cases := []struct {
		name, src string
		line      int
		want      string
	}{
		{"not utf-8", "A: ok\nB: \xc3\x28\n", 2, "not valid UTF-8"},
		{"latin-1", "TITLE: caf\xe9\n", 1, "not valid UTF-8"},
		{"duplicate key", "A: 1\nB: 2\nA: 3\n", 3, `key "A" is repeated (first at line 1)`},
		{"duplicate nested key", "A:\n  x: 1\n  x: 2\n", 3, `key "x" is repeated`},
		{"billion laughs", laughs, 0, "alias bomb"},
		{"two documents", "A: 1\n---\nB: 2\n", 2, "more than one YAML document"},
		{"list at top", "- a\n- b\n", 1, "top level must be a mapping"},
		{"scalar at top", "just text\n", 1, "top level must be a mapping"},
		{"complex key", "? [a, b]\n: c\n", 1, "mapping keys must be plain scalars"},
		{"syntax error", "A: [1, 2\nB: 3\n", 0, "did not find expected"},
		{"tab indentation", "A:\n\tb: 1\n", 2, "tab"},
		{"unknown alias", "A: *nope\n", 1, "unknown anchor"},
		{"recursive alias", "A: &a\n  b: *a\n", 2, "recursive structure"},
		{"recursive root", "&r\nA: *r\n", 0, "recursive structure"},
		{"too deep", "A: " + deep + "\n", 1, "nesting deeper than"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseDocument([]byte(tc.src), Limits{})
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("error = %v, want a *SyntaxError", err)
			}
			if !strings.Contains(se.Msg, tc.want) {
				t.Errorf("message %q, want it to contain %q", se.Msg, tc.want)
			}
			if tc.line > 0 && se.Line != tc.line {
				t.Errorf("line %d, want %d (%v)", se.Line, tc.line, err)
			}
		})
	}
}
