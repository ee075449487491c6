package editor

// The order of a section's form: the required and commonly set fields
// first, the rarely used ones in a closed "Advanced" block. Which is which
// comes from the catalogue (FieldSpec.Required and FieldSpec.Common, the
// schema's "required" lists and x-common annotations), never a hand list.

import "sort"

// commonField reports whether a field belongs in the first part of its
// section's form.
func commonField(f *fieldView) bool {
	if f.Required || f.Removable { // OIDC providers the admin added
		return true
	}
	return f.spec != nil && (f.spec.Common || f.spec.Required)
}

// needsAttention reports whether a field, or a field inside it, shows a
// problem, or a value the widget cannot show as it is: such a field must
// not be hidden in a closed block.
func needsAttention(f *fieldView) bool {
	if len(f.Problems) > 0 || f.Misfit != "" {
		return true
	}
	for _, ch := range f.Children {
		if needsAttention(ch) {
			return true
		}
	}
	return false
}

// splitAdvanced divides a section's fields into the common ones (required
// first, nested blocks last) and the advanced ones (in the catalogue's
// order). A section without common
// fields shows all of them without an Advanced block. The block is drawn
// open when one of its fields needs attention or is the one the page was
// asked to show (?field=KEY, from the search).
func splitAdvanced(fields []*fieldView, focus string) (first, advanced []*fieldView, open bool) {
	for _, f := range fields {
		if commonField(f) {
			first = append(first, f)
		} else {
			advanced = append(advanced, f)
		}
	}
	if len(first) == 0 {
		return advanced, nil, false
	}
	// required before merely common, single values before whole blocks
	// (DB_URI before the many DB_CONNECTION_ARGS): fewer Tabs to the
	// settings every deployment needs
	weight := func(f *fieldView) int {
		w := 0
		if !f.Required && (f.spec == nil || !f.spec.Required) {
			w++
		}
		if f.Kind == kindNested {
			w += 2
		}
		return w
	}
	sort.SliceStable(first, func(i, j int) bool { return weight(first[i]) < weight(first[j]) })
	for _, f := range advanced {
		if needsAttention(f) || (focus != "" && (f.Path == focus || f.ID == focus)) {
			open = true
		}
	}
	return first, advanced, open
}
