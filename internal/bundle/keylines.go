package bundle

// KeyLines maps each top-level key to the 1-based line of the key, read in
// one pass: Line(key) for every key of a large file would scan the
// top-level mapping once per key. Merge keys (<<) are left out, as Line
// leaves them out.
func (d *Document) KeyLines() map[string]int {
	if d.root == nil {
		return map[string]int{}
	}
	out := make(map[string]int, len(d.root.Content)/2)
	for i := 0; i+1 < len(d.root.Content); i += 2 {
		k := d.root.Content[i]
		if k.Tag == "!!merge" {
			continue
		}
		if _, dup := out[k.Value]; !dup {
			out[k.Value] = k.Line
		}
	}
	return out
}
