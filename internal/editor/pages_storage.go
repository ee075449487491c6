package editor

// The storage / geo-replication editor: locations with their driver and
// driver arguments, preference order, default (replication) locations and
// FEATURE_STORAGE_REPLICATION, edited as one form whose buttons (add,
// remove, up, down, save) all submit everything typed so far.

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
}

type storageView struct {
	Locations   []*locView
	Replication bool
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
		driver, args := splitLocation(dsc[name])
		fl := formLoc{orig: name, name: name, driver: driver, args: map[string]string{}, set: map[string]bool{}, clear: map[string]bool{},
			pref: contains(prefs, name), def: contains(defs, name)}
		for k, v := range args {
			if cat.IsSecret(keyStorageConfig, name, "1", k) {
				fl.set[k] = v != nil && v != ""
				continue
			}
			fl.args[k] = display(kindText, v, true)
		}
		out = append(out, fl)
	}
	return out
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
		if _, args := splitLocation(dsc[fl.orig]); args != nil {
			for k, v := range args {
				if v != nil && v != "" {
					fl.set[k] = true
				}
			}
		}
		out = append(out, fl)
	}
	return out
}

// buildStorageView turns locations into what the template draws.
func buildStorageView(cat *schema.Catalogue, locs []formLoc, replication bool, probs []problem.Problem) *storageView {
	sv := &storageView{Replication: replication}
	for _, d := range cat.Drivers() {
		sv.Drivers = append(sv.Drivers, option{Value: d.Name, Label: d.Title})
	}
	for i, fl := range locs {
		lv := &locView{Index: i, Orig: fl.orig, Name: fl.name, Driver: fl.driver, Pref: fl.pref, Default: fl.def,
			First: i == 0, Last: i == len(locs)-1, NameID: fmt.Sprintf("loc-%d-name", i)}
		for _, d := range sv.Drivers {
			lv.Drivers = append(lv.Drivers, option{Value: d.Value, Label: d.Label, Selected: d.Value == fl.driver})
		}
		drv := cat.Driver(fl.driver)
		if drv == nil {
			lv.DriverUnknown = true
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
	node := cat.Prop(keyStorageConfig, "x", "1", arg)
	if node == nil {
		node = map[string]any{"type": "string"}
	}
	path := keyStorageConfig + "." + fl.name + "[1]." + arg
	fv := &fieldView{ID: fieldID(fmt.Sprintf("loc-%d-%s", i, arg)), Name: fmt.Sprintf("loc.%d.a.%s", i, arg), Segs: []string{keyStorageConfig, fl.name, "1", arg},
		ClearName: fmt.Sprintf("loc.%d.clear.%s", i, arg), Path: path, schema: node, Required: required}
	fv.Label, _ = node["title"].(string)
	if fv.Label == "" {
		fv.Label = arg
	}
	fv.Help, _ = node["description"].(string)
	fv.Kind = kindOf(node, false)
	if fv.Kind == kindSelect || fv.Kind == kindCheckbox || fv.Kind == kindNested {
		fv.Kind = kindText
	}
	if fv.Kind == kindSecret {
		fv.IsSet = fl.set[arg]
		fv.Clear = fl.clear[arg]
		fv.Placeholder = "not set"
		if fv.IsSet {
			fv.Placeholder = secretPlaceholder
		}
	} else {
		fv.Value = fl.args[arg]
		fv.IsSet = fv.Value != ""
		if def, ok := node["default"]; ok {
			fv.Placeholder = scalarText(def)
		}
	}
	return fv
}

func attachStorageProblem(sv *storageView, p problem.Problem) bool {
	for _, lv := range sv.Locations {
		for _, a := range lv.Args {
			if pathWithin(p.Path, a.Path) {
				a.Problems = append(a.Problems, p)
				return true
			}
		}
		if pathWithin(p.Path, keyStorageConfig+"."+lv.Name) {
			lv.Problems = append(lv.Problems, p)
			return true
		}
	}
	return false
}

// storageSubmit applies a storage form: it returns the view to re-render
// (with the user's input) when the form has errors or the operation only
// rearranged things without errors, and the new config value to apply.
func storageSubmit(cat *schema.Catalogue, cfg map[string]any, form url.Values) (newCfg map[string]any, locs []formLoc, errs map[string]string) {
	errs = map[string]string{}
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
			errs["new"] = "Enter a location name: letters, digits, '-', '_' or '.', starting with a letter or digit."
		case cat.Driver(driver) == nil:
			errs["new"] = "Choose a storage driver for the new location."
		default:
			locs = append(locs, formLoc{name: name, driver: driver, args: map[string]string{}, set: map[string]bool{}, clear: map[string]bool{}, pref: true})
		}
	}
	seen := map[string]bool{}
	for i, fl := range locs {
		switch {
		case !locationNameRE.MatchString(fl.name):
			errs[fmt.Sprintf("loc.%d", i)] = "A location name uses letters, digits, '-', '_' or '.', and starts with a letter or digit."
		case seen[fl.name]:
			errs[fmt.Sprintf("loc.%d", i)] = "Two locations are named " + fl.name + "; names must be unique."
		case cat.Driver(fl.driver) == nil:
			errs[fmt.Sprintf("loc.%d", i)] = "Choose a storage driver."
		}
		seen[fl.name] = true
	}
	dsc, _ := cfg[keyStorageConfig].(map[string]any)
	newDSC := map[string]any{}
	var prefs, defs []any
	for i, fl := range locs {
		_, curArgs := splitLocation(dsc[fl.orig])
		curDriver, _ := splitLocation(dsc[fl.orig])
		args := map[string]any{}
		for k, v := range curArgs {
			args[k] = v
		}
		oldDrv := cat.Driver(curDriver)
		for a, s := range fl.args {
			node := cat.Prop(keyStorageConfig, "x", "1", a)
			if node == nil {
				node = map[string]any{"type": "string"}
			}
			kind := kindOf(node, false)
			if kind == kindSecret {
				if s != "" {
					args[a] = s
				}
				continue
			}
			if cv, ok := curArgs[a]; ok && display(kindText, cv, true) == s {
				continue
			}
			v, err := parseInput(kindText, node, s)
			if err != nil {
				errs[fmt.Sprintf("loc.%d.a.%s", i, a)] = err.Error()
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
		newDSC[fl.name] = []any{fl.driver, args}
		if fl.pref {
			prefs = append(prefs, fl.name)
		}
		if fl.def {
			defs = append(defs, fl.name)
		}
	}
	if len(errs) > 0 {
		return nil, locs, errs
	}
	newCfg = make(map[string]any, len(cfg)+4)
	for k, v := range cfg {
		newCfg[k] = v
	}
	setOrDrop := func(key string, v any, empty bool) {
		_, had := cfg[key]
		if empty && !had {
			delete(newCfg, key)
			return
		}
		if empty {
			v = []any{}
		}
		newCfg[key] = v
	}
	setOrDrop(keyStorageConfig, newDSC, len(newDSC) == 0)
	if len(newDSC) == 0 {
		delete(newCfg, keyStorageConfig)
	}
	setOrDrop(keyStoragePref, prefs, len(prefs) == 0)
	setOrDrop(keyStorageDefaults, defs, len(defs) == 0)
	if s, ok := formValue(form, "f."+keyReplication); ok {
		cur, had := cfg[keyReplication]
		want := s == "true"
		if had || want {
			if b, isBool := cur.(bool); !had || !isBool || b != want {
				newCfg[keyReplication] = want
			}
		}
	}
	return newCfg, locs, nil
}

// applyValue makes doc equal to v with minimal edits.
func applyValue(doc *bundle.Document, v map[string]any) error { return doc.Apply(v) }
