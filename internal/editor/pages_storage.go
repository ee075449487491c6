package editor

// The storage / geo-replication editor: locations with their driver and
// driver arguments, preference order, default (replication) locations and
// FEATURE_STORAGE_REPLICATION, edited as one form whose buttons (add,
// remove, up, down, save) all submit everything typed so far.
//
// As in the section forms, saving writes only what the user changed: a
// location whose driver and arguments were not touched is written back
// exactly as stored (an unknown driver, arguments that are not a map, a
// value that is not [driver, {arguments}]), and each of the four keys keeps
// its stored value when the form asks for what it showed.

import (
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/quay-tools/config-editor/internal/bundle"
	"github.com/quay-tools/config-editor/internal/problem"
	"github.com/quay-tools/config-editor/internal/schema"
)

const (
	keyStorageConfig   = "DISTRIBUTED_STORAGE_CONFIG"
	keyStoragePref     = "DISTRIBUTED_STORAGE_PREFERENCE"
	keyStorageDefaults = "DISTRIBUTED_STORAGE_DEFAULT_LOCATIONS"
	keyReplication     = "FEATURE_STORAGE_REPLICATION"
	groupStorage       = "DistributedStorage"
)

// storageKeys are edited by the storage editor, not the generic form.
var storageKeys = map[string]bool{keyStorageConfig: true, keyStoragePref: true, keyStorageDefaults: true, keyReplication: true}

var locationNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$`)

type locView struct {
	Index           int
	Orig, Name      string
	NameID, NameErr string
	Driver          string
	Drivers         []option
	Args            []*fieldView
	Pref, Default   bool
	First, Last     bool
	Problems        []problem.Problem
	DriverUnknown   bool
	DriverMsg       string // the stored driver is not one the editor knows
}

type storageView struct {
	Locations   []*locView
	Replication *fieldView
	Drivers     []option
	NewName     string
	NewErr      string
	Problems    []problem.Problem // not attached to a location or argument
}

// formLoc is one location as submitted (or as stored, for display).
type formLoc struct {
	orig, name, driver string
	args               map[string]string
	set                map[string]bool // secret args present in the working copy
	clear              map[string]bool
	pref, def          bool
	stored             storedLoc // the working copy's location named orig
}

// storedLoc is a location as the working copy holds it.
type storedLoc struct {
	had    bool
	value  any // verbatim
	driver string
	args   map[string]any
	shape  bool // value is [driver, {arguments}]
}

func storedLocation(dsc map[string]any, name string) storedLoc {
	v, had := dsc[name]
	if !had || name == "" {
		return storedLoc{}
	}
	driver, args := splitLocation(v)
	st := storedLoc{had: true, value: v, driver: driver, args: args}
	if pair, _ := v.([]any); len(pair) == 2 {
		_, isText := pair[0].(string)
		_, isMap := pair[1].(map[string]any)
		st.shape = isText && isMap
	}
	return st
}

// argNode is the schema of a driver argument and the widget it gets: a
// text input stands in for selects, checkboxes and nested objects.
func argNode(cat *schema.Catalogue, arg string) (map[string]any, string) {
	node := cat.Prop(keyStorageConfig, "x", "1", arg)
	if node == nil {
		node = map[string]any{"type": "string"}
	}
	kind := kindOf(node, false)
	if kind == kindSelect || kind == kindCheckbox || kind == kindNested {
		kind = kindText
	}
	return node, kind
}

// locationsFromConfig lists the stored locations, preferred ones first in
// preference order.
func locationsFromConfig(cat *schema.Catalogue, cfg map[string]any) []formLoc {
	dsc, _ := cfg[keyStorageConfig].(map[string]any)
	prefs := stringList(cfg[keyStoragePref])
	defs := stringList(cfg[keyStorageDefaults])
	var order []string
	seen := map[string]bool{}
	for _, p := range prefs {
		if _, ok := dsc[p]; ok && !seen[p] {
			order = append(order, p)
			seen[p] = true
		}
	}
	for _, n := range sortedKeys(dsc) {
		if !seen[n] {
			order = append(order, n)
		}
	}
	var out []formLoc
	for _, name := range order {
		st := storedLocation(dsc, name)
		fl := formLoc{orig: name, name: name, driver: st.driver, args: map[string]string{}, set: map[string]bool{}, clear: map[string]bool{},
			pref: contains(prefs, name), def: contains(defs, name), stored: st}
		for k, v := range st.args {
			if _, kind := argNode(cat, k); kind == kindSecret {
				fl.set[k] = v != nil && v != ""
				continue
			}
			fl.args[k] = argText(cat, k, v)
		}
		out = append(out, fl)
	}
	return out
}

// argText is what the widget of a driver argument shows for a value.
func argText(cat *schema.Catalogue, arg string, v any) string {
	_, kind := argNode(cat, arg)
	return display(kind, v, true)
}

// prefsOf lists the locations in the preference list and the default
// locations, in the form's order.
func prefsOf(locs []formLoc) (prefs, defs []any) {
	for _, fl := range locs {
		if fl.pref {
			prefs = append(prefs, fl.name)
		}
		if fl.def {
			defs = append(defs, fl.name)
		}
	}
	return prefs, defs
}

func splitLocation(v any) (string, map[string]any) {
	pair, _ := v.([]any)
	var driver string
	var args map[string]any
	if len(pair) > 0 {
		driver, _ = pair[0].(string)
	}
	if len(pair) > 1 {
		args, _ = pair[1].(map[string]any)
	}
	return driver, args
}

func stringList(v any) []string {
	l, _ := v.([]any)
	out := make([]string, 0, len(l))
	for _, x := range l {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// locationsFromForm reads the submitted locations in their shown order.
func locationsFromForm(form url.Values, cfg map[string]any) []formLoc {
	n, _ := strconv.Atoi(form.Get("locs"))
	if n > 200 {
		n = 200
	}
	dsc, _ := cfg[keyStorageConfig].(map[string]any)
	var out []formLoc
	for i := 0; i < n; i++ {
		p := fmt.Sprintf("loc.%d.", i)
		if _, ok := form[p+"name"]; !ok {
			continue
		}
		fl := formLoc{orig: form.Get(p + "orig"), name: strings.TrimSpace(form.Get(p + "name")), driver: form.Get(p + "driver"),
			args: map[string]string{}, set: map[string]bool{}, clear: map[string]bool{}}
		fl.stored = storedLocation(dsc, fl.orig)
		_, fl.pref = form[p+"pref"]
		_, fl.def = form[p+"default"]
		for k, vs := range form {
			if a, ok := strings.CutPrefix(k, p+"a."); ok && len(vs) > 0 {
				fl.args[a] = vs[len(vs)-1]
			}
			if a, ok := strings.CutPrefix(k, p+"clear."); ok {
				fl.clear[a] = true
			}
		}
		for k, v := range fl.stored.args {
			if v != nil && v != "" {
				fl.set[k] = true
			}
		}
		out = append(out, fl)
	}
	return out
}

// buildStorageView turns locations into what the template draws; form,
// when set, is the submitted form shown again.
func buildStorageView(cat *schema.Catalogue, cfg map[string]any, locs []formLoc, form url.Values, probs []problem.Problem) *storageView {
	rv, present := cfg[keyReplication]
	repl := newFieldView(cat, []string{keyReplication}, cat.Prop(keyReplication), rv, present, false)
	repl.Label = "Enable storage replication"
	repl.Help = "Copy every blob to the default locations so that each region can serve it."
	repl.applyForm(form)
	sv := &storageView{Replication: repl, Problems: storageMisfits(cfg, locs)}
	for _, d := range cat.Drivers() {
		sv.Drivers = append(sv.Drivers, option{Value: d.Name, Label: d.Title})
	}
	for i, fl := range locs {
		lv := &locView{Index: i, Orig: fl.orig, Name: fl.name, Driver: fl.driver, Pref: fl.pref, Default: fl.def,
			First: i == 0, Last: i == len(locs)-1, NameID: fmt.Sprintf("loc-%d-name", i)}
		for _, d := range sv.Drivers {
			lv.Drivers = append(lv.Drivers, option{Value: d.Value, Label: d.Label, Selected: d.Value == fl.driver})
		}
		if fl.stored.had && !fl.stored.shape {
			lv.Problems = append(lv.Problems, problem.Problem{Severity: problem.Error, Path: problem.NewPath(keyStorageConfig).Key(fl.orig),
				Message: "This location is not written as [driver, {arguments}]. It is kept as it is unless you change its driver or arguments."})
		}
		drv := cat.Driver(fl.driver)
		if drv == nil {
			lv.DriverUnknown = true
			if fl.stored.had && fl.driver == fl.stored.driver {
				what := shortText(fl.driver) + " is not a storage driver the editor knows."
				if fl.driver == "" {
					what = "The location names no storage driver."
				}
				lv.DriverMsg = what + " The location is kept as it is unless you choose a driver."
			}
		} else {
			for _, arg := range drv.Args {
				lv.Args = append(lv.Args, argView(cat, i, fl, arg, contains(drv.Required, arg)))
			}
		}
		sv.Locations = append(sv.Locations, lv)
	}
	for _, p := range probs {
		if !attachStorageProblem(sv, p) {
			sv.Problems = append(sv.Problems, p)
		}
	}
	return sv
}

func argView(cat *schema.Catalogue, i int, fl formLoc, arg string, required bool) *fieldView {
	node, kind := argNode(cat, arg)
	path := problem.NewPath(keyStorageConfig).Key(fl.name).Index(1).Child(arg)
	fv := &fieldView{ID: fieldID(fmt.Sprintf("loc-%d-%s", i, arg)), Name: fmt.Sprintf("loc.%d.a.%s", i, arg), Segs: []string{keyStorageConfig, fl.name, "1", arg},
		ClearName: fmt.Sprintf("loc.%d.clear.%s", i, arg), Path: path.String(), schema: node, Required: required, Kind: kind}
	fv.Label, _ = node["title"].(string)
	if fv.Label == "" {
		fv.Label = arg
	}
	fv.Help, _ = node["description"].(string)
	cur, had := fl.stored.args[arg]
	if fv.Kind == kindSecret {
		fv.IsSet = fl.set[arg]
		fv.Clear = fl.clear[arg]
		fv.Placeholder = "not set"
		if fv.IsSet {
			fv.Placeholder = secretPlaceholder
		}
		if had && cur != nil {
			fv.Misfit = misfit(kindSecret, node, cur, nil)
		}
	} else {
		fv.Value = fl.args[arg]
		fv.IsSet = fv.Value != ""
		fv.Multiline = fv.Kind != kindList && fv.Kind != kindYAML && strings.ContainsAny(fv.Value, "\r\n")
		if def, ok := node["default"]; ok {
			fv.Placeholder = scalarText(def)
		}
		if had && cur != nil && sameText(fv.Value, argText(cat, arg, cur)) {
			fv.Misfit = misfit(kind, node, cur, cur)
		}
	}
	if fv.Misfit != "" {
		fv.Problems = append(fv.Problems, problem.Problem{Severity: problem.Error, Path: path, Message: fv.Misfit})
	}
	return fv
}

// storageMisfits explains stored storage keys the editor shows differently
// from how they are written; each is kept as it is until the user changes
// what it stands for.
func storageMisfits(cfg map[string]any, locs []formLoc) []problem.Problem {
	var out []problem.Problem
	add := func(key, msg string) {
		out = append(out, problem.Problem{Severity: problem.Error, Path: problem.NewPath(key), Message: msg})
	}
	if v, ok := cfg[keyStorageConfig]; ok && v != nil {
		if _, isMap := v.(map[string]any); !isMap {
			add(keyStorageConfig, "The current value "+describeValue(v)+", not a map of locations. It is kept as it is unless you add a location.")
		}
	}
	dsc, _ := cfg[keyStorageConfig].(map[string]any)
	for _, key := range []string{keyStoragePref, keyStorageDefaults} {
		v, ok := cfg[key]
		if !ok || v == nil {
			continue
		}
		what := "the preference list"
		if key == keyStorageDefaults {
			what = "the default locations"
		}
		l, isList := v.([]any)
		if !isList {
			add(key, "The current value "+describeValue(v)+", not a list of location names. It is kept as it is unless you change "+what+".")
			continue
		}
		for _, x := range l {
			name, isText := x.(string)
			if _, exists := dsc[name]; !isText || !exists {
				add(key, "The list names "+shortText(display(kindText, x, true))+", which is not a location. It is kept as it is unless you change "+what+".")
				break
			}
		}
	}
	return out
}

func attachStorageProblem(sv *storageView, p problem.Problem) bool {
	for _, lv := range sv.Locations {
		for _, a := range lv.Args {
			if p.Path.WithinSegments(a.Segs...) {
				a.Problems = append(a.Problems, p)
				return true
			}
		}
		if p.Path.WithinSegments(keyStorageConfig, lv.Name) {
			lv.Problems = append(lv.Problems, p)
			return true
		}
	}
	return false
}

// storageField names the input of the storage form an error belongs to:
// location loc's name (arg ""), one of its driver arguments, or with loc -1
// the new location's inputs (arg "") or another field (arg its path).
type storageField struct {
	loc int
	arg string
}

// storageSubmit applies a storage form: it returns the view to re-render
// (with the user's input) when the form has errors or the operation only
// rearranged things without errors, and the new config value to apply.
func storageSubmit(cat *schema.Catalogue, cfg map[string]any, form url.Values) (newCfg map[string]any, locs []formLoc, errs map[storageField]string) {
	errs = map[storageField]string{}
	locs = locationsFromForm(form, cfg)
	op := form.Get("op")
	switch {
	case strings.HasPrefix(op, "up:"), strings.HasPrefix(op, "down:"):
		i, err := strconv.Atoi(op[strings.Index(op, ":")+1:])
		j := i - 1
		if strings.HasPrefix(op, "down:") {
			j = i + 1
		}
		if err == nil && i >= 0 && j >= 0 && i < len(locs) && j < len(locs) {
			locs[i], locs[j] = locs[j], locs[i]
		}
	case strings.HasPrefix(op, "remove:"):
		if i, err := strconv.Atoi(strings.TrimPrefix(op, "remove:")); err == nil && i >= 0 && i < len(locs) {
			locs = append(locs[:i], locs[i+1:]...)
		}
	case op == "add":
		name := strings.TrimSpace(form.Get("new.name"))
		driver := form.Get("new.driver")
		switch {
		case !locationNameRE.MatchString(name):
			errs[storageField{loc: -1}] = "Enter a location name: letters, digits, '-', '_' or '.', starting with a letter or digit."
		case cat.Driver(driver) == nil:
			errs[storageField{loc: -1}] = "Choose a storage driver for the new location."
		default:
			locs = append(locs, formLoc{name: name, driver: driver, args: map[string]string{}, set: map[string]bool{}, clear: map[string]bool{}, pref: true})
		}
	}
	seen := map[string]bool{}
	for i, fl := range locs {
		// a stored name or driver the form would refuse is kept as it is
		switch {
		case fl.name != fl.orig && !locationNameRE.MatchString(fl.name), fl.orig == "" && !locationNameRE.MatchString(fl.name):
			errs[storageField{loc: i}] = "A location name uses letters, digits, '-', '_' or '.', and starts with a letter or digit."
		case seen[fl.name]:
			errs[storageField{loc: i}] = "Two locations are named " + fl.name + "; names must be unique."
		case cat.Driver(fl.driver) == nil && !(fl.stored.had && fl.driver == fl.stored.driver):
			errs[storageField{loc: i}] = "Choose a storage driver."
		}
		seen[fl.name] = true
	}
	dsc, _ := cfg[keyStorageConfig].(map[string]any)
	newDSC := map[string]any{}
	for i, fl := range locs {
		curArgs := fl.stored.args
		args := map[string]any{}
		for k, v := range curArgs {
			args[k] = v
		}
		oldDrv := cat.Driver(fl.stored.driver)
		for a, s := range fl.args {
			node, kind := argNode(cat, a)
			if kind == kindSecret {
				if s != "" {
					args[a] = s
				}
				continue
			}
			if s == keepToken {
				continue
			}
			if cv, ok := curArgs[a]; ok && sameText(s, argText(cat, a, cv)) {
				continue
			}
			v, err := parseInput(kind, node, strings.ReplaceAll(s, "\r\n", "\n"))
			if err != nil {
				errs[storageField{i, a}] = err.Error()
				continue
			}
			if v == nil {
				delete(args, a)
			} else {
				args[a] = v
			}
		}
		for a := range fl.clear {
			delete(args, a)
		}
		if newDrv := cat.Driver(fl.driver); newDrv != nil && oldDrv != nil && newDrv != oldDrv {
			for a := range args {
				if contains(oldDrv.Args, a) && !contains(newDrv.Args, a) {
					delete(args, a)
				}
			}
		}
		if fl.stored.had && fl.driver == fl.stored.driver && bundle.EqualValues(args, map[string]any(curArgs)) {
			// untouched: written back as stored, whatever its shape
			newDSC[fl.name] = fl.stored.value
			continue
		}
		newDSC[fl.name] = []any{fl.driver, args}
	}
	if len(errs) > 0 {
		return nil, locs, errs
	}
	newCfg = make(map[string]any, len(cfg)+4)
	for k, v := range cfg {
		newCfg[k] = v
	}
	// each key keeps its stored value when the form asks for what it
	// showed; otherwise an emptied list stays an empty list and an
	// emptied map of locations goes away
	shownPrefs, shownDefs := prefsOf(locationsFromConfig(cat, cfg))
	prefs, defs := prefsOf(locs)
	setList := func(key string, v, shown []any) {
		if bundle.EqualValues(v, shown) || len(v) == 0 && len(shown) == 0 {
			return
		}
		if len(v) == 0 {
			if _, had := cfg[key]; !had {
				delete(newCfg, key)
				return
			}
			v = []any{}
		}
		newCfg[key] = v
	}
	switch {
	case len(newDSC) == 0 && len(dsc) == 0:
		// nothing shown, nothing asked: keep whatever is stored
	case len(newDSC) == 0:
		delete(newCfg, keyStorageConfig)
	case !bundle.EqualValues(newDSC, map[string]any(dsc)):
		newCfg[keyStorageConfig] = newDSC
	}
	setList(keyStoragePref, prefs, shownPrefs)
	setList(keyStorageDefaults, defs, shownDefs)
	rv, present := cfg[keyReplication]
	repl := newFieldView(cat, []string{keyReplication}, cat.Prop(keyReplication), rv, present, false)
	replErrs := map[string]string{}
	e, ok := fieldEdit(cat, repl, cfg, form, replErrs)
	for path, msg := range replErrs {
		errs[storageField{-1, path}] = msg
	}
	if ok {
		if e.del {
			delete(newCfg, keyReplication)
		} else {
			newCfg[keyReplication] = e.value
		}
	}
	if len(errs) > 0 {
		return nil, locs, errs
	}
	return newCfg, locs, nil
}

// applyValue makes doc equal to v with minimal edits.
func applyValue(doc *bundle.Document, v map[string]any) error { return doc.Apply(v) }
