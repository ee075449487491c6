package operator

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/quay-tools/config-editor/internal/bundle"
	"github.com/quay-tools/config-editor/internal/schema"
)

// Change is one difference between two bundles. Values are rendered with
// every secret masked: a changed secret shows as Masked on both sides.
type Change struct {
	Op   string // "added", "removed", "changed"
	Path string // config path (DB_CONNECTION_ARGS.sslmode) or "file ssl.cert"
	Old  string // rendered old value ("" when added)
	New  string // rendered new value ("" when removed)
}

// Masked replaces a secret value in a diff.
const Masked = "••••••"

func (ch Change) String() string {
	switch ch.Op {
	case "added":
		return fmt.Sprintf("+ %s: %s", ch.Path, ch.New)
	case "removed":
		return fmt.Sprintf("- %s: %s", ch.Path, ch.Old)
	}
	return fmt.Sprintf("~ %s: %s → %s", ch.Path, ch.Old, ch.New)
}

// Diff compares two bundles: config.yaml value by value (maps key by key,
// lists as a whole) and the files by content. Secrets are masked.
func Diff(a, b *bundle.Bundle, cat *schema.Catalogue) []Change {
	var out []Change
	av, bv := a.Config().Value(), b.Config().Value()
	ar, br := cat.Redact(av), cat.Redact(bv)
	diffValue(&out, nil, av, bv, ar, br)
	names := map[string]bool{}
	for _, n := range a.FileNames() {
		names[n] = true
	}
	for _, n := range b.FileNames() {
		names[n] = true
	}
	files := make([]string, 0, len(names))
	for n := range names {
		files = append(files, n)
	}
	sort.Strings(files)
	for _, n := range files {
		ad, aok := a.File(n)
		bd, bok := b.File(n)
		p := "file " + n
		switch {
		case aok && !bok:
			out = append(out, Change{Op: "removed", Path: p, Old: fileSummary(n, ad)})
		case !aok && bok:
			out = append(out, Change{Op: "added", Path: p, New: fileSummary(n, bd)})
		case !bytes.Equal(ad, bd):
			out = append(out, Change{Op: "changed", Path: p, Old: fileSummary(n, ad), New: fileSummary(n, bd)})
		}
	}
	return out
}

func fileSummary(name string, data []byte) string {
	if bundle.IsKeyFile(name) {
		return fmt.Sprintf("%s (%d bytes)", Masked, len(data))
	}
	return fmt.Sprintf("%d bytes", len(data))
}

func diffValue(out *[]Change, path []string, a, b, ar, br any) {
	am, aIsMap := a.(map[string]any)
	bm, bIsMap := b.(map[string]any)
	if aIsMap && bIsMap {
		arm, _ := ar.(map[string]any)
		brm, _ := br.(map[string]any)
		keys := map[string]bool{}
		for k := range am {
			keys[k] = true
		}
		for k := range bm {
			keys[k] = true
		}
		sorted := make([]string, 0, len(keys))
		for k := range keys {
			sorted = append(sorted, k)
		}
		sort.Strings(sorted)
		for _, k := range sorted {
			av, aok := am[k]
			bv, bok := bm[k]
			p := append(append([]string(nil), path...), k)
			switch {
			case aok && !bok:
				*out = append(*out, Change{Op: "removed", Path: renderPath(p), Old: render(arm[k])})
			case !aok && bok:
				*out = append(*out, Change{Op: "added", Path: renderPath(p), New: render(brm[k])})
			default:
				diffValue(out, p, av, bv, arm[k], brm[k])
			}
		}
		return
	}
	if bundle.EqualValues(a, b) {
		return
	}
	*out = append(*out, Change{Op: "changed", Path: renderPath(path), Old: render(ar), New: render(br)})
}

func renderPath(segs []string) string {
	var b strings.Builder
	for i, s := range segs {
		if i > 0 {
			b.WriteByte('.')
		}
		if strings.ContainsAny(s, ". []\"") || s == "" {
			b.WriteString(strconv.Quote(s))
		} else {
			b.WriteString(s)
		}
	}
	return b.String()
}

func render(v any) string {
	if s, ok := v.(string); ok {
		return strconv.Quote(s)
	}
	j, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	if len(j) > 200 {
		return string(j[:200]) + "…"
	}
	return string(j)
}

// DiffSecrets compares two bundle Secrets of the registry's namespace.
func (c *Client) DiffSecrets(ctx context.Context, from, to string) ([]Change, error) {
	a, err := c.ReadBundle(ctx, from)
	if err != nil {
		return nil, err
	}
	b, err := c.ReadBundle(ctx, to)
	if err != nil {
		return nil, err
	}
	return Diff(a, b, schema.Get()), nil
}
