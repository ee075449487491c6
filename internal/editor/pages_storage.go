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
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

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

// storageEditorKeys are edited by the storage editor, not the generic form.
var storageEditorKeys = []string{keyStorageConfig, keyStoragePref, keyStorageDefaults, keyReplication}

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
	Plan        *storagePlan      // what the runtime does with the saved locations
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

// argSpec is the spec of a driver argument and the widget it gets: a
// text input stands in for selects, checkboxes and nested objects. An
// argument the driver does not take (or of an unknown driver) is read
// with the spec the storage arguments share, or as text.
func argSpec(cat *schema.Catalogue, driver, arg string) (*schema.FieldSpec, string) {
	var spec *schema.FieldSpec
	if d := cat.DriverSpec(driver); d != nil {
		if a := d.Arg(arg); a != nil {
			spec = a.Spec
		}
	}
	if spec == nil {
		spec = cat.Spec(keyStorageConfig, "x", "1", arg)
	}
	spec = specOrText(spec, arg)
	kind := string(spec.Widget)
	if kind == kindSelect || kind == kindCheckbox || kind == kindNested {
		kind = kindText
	}
	return spec, kind
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
			if _, kind := argSpec(cat, st.driver, k); kind == kindSecret {
				fl.set[k] = v != nil && v != ""
				continue
			}
			fl.args[k] = argText(cat, st.driver, k, v)
		}
		out = append(out, fl)
	}
	return out
}

// argText is what the widget of a driver argument shows for a value.
func argText(cat *schema.Catalogue, driver, arg string, v any) string {
	_, kind := argSpec(cat, driver, arg)
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
	repl := newFieldView(cat, []string{keyReplication}, replicationSpec(cat), rv, present)
	repl.Label = "Enable storage replication"
	repl.Help = "Copy every blob to the default locations so that each region can serve it."
	repl.applyForm(form)
	sv := &storageView{Replication: repl, Problems: storageMisfits(cfg, locs), Plan: storagePlanOf(cfg)}
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
		drv := cat.DriverSpec(fl.driver)
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
				lv.Args = append(lv.Args, argView(cat, i, fl, arg))
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

func argView(cat *schema.Catalogue, i int, fl formLoc, a *schema.ArgSpec) *fieldView {
	arg := a.Name
	spec, kind := argSpec(cat, fl.driver, arg)
	path := problem.NewPath(keyStorageConfig).Key(fl.name).Index(1).Child(arg)
	fv := &fieldView{ID: fieldID(fmt.Sprintf("loc-%d-%s", i, arg)), Name: fmt.Sprintf("loc.%d.a.%s", i, arg), Segs: []string{keyStorageConfig, fl.name, "1", arg},
		ClearName: fmt.Sprintf("loc.%d.clear.%s", i, arg), Path: path.String(), spec: spec, Required: a.Required, Kind: kind}
	fv.Label = spec.Title
	if fv.Label == "" {
		fv.Label = arg
	}
	fv.Help = spec.Description
	cur, had := fl.stored.args[arg]
	if fv.Kind == kindSecret {
		fv.IsSet = fl.set[arg]
		fv.Clear = fl.clear[arg]
		fv.Placeholder = "not set"
		if fv.IsSet {
			fv.Placeholder = secretPlaceholder
		}
		if had && cur != nil {
			fv.Misfit = misfit(kindSecret, spec, cur, nil)
		}
	} else {
		fv.Value = fl.args[arg]
		fv.IsSet = fv.Value != ""
		fv.Multiline = fv.Kind != kindList && fv.Kind != kindYAML && strings.ContainsAny(fv.Value, "\r\n")
		if spec.HasDefault {
			fv.Placeholder = scalarText(spec.Default)
		}
		if had && cur != nil && sameText(fv.Value, argText(cat, fl.driver, arg, cur)) {
			fv.Misfit = misfit(kind, spec, cur, cur)
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

// storageErrs are the storage form's input errors, by where the page
// shows them.
type storageErrs struct {
	New    string                    // the row that adds a location
	Loc    map[int]string            // a location's name or driver, by index
	Arg    map[int]map[string]string // a driver argument, by location index and argument
	Fields map[string]string         // the other inputs (replication), by path
}

func newStorageErrs() *storageErrs {
	return &storageErrs{Loc: map[int]string{}, Arg: map[int]map[string]string{}, Fields: map[string]string{}}
}

func (e *storageErrs) empty() bool {
	return e.New == "" && len(e.Loc) == 0 && len(e.Arg) == 0 && len(e.Fields) == 0
}

// storageSubmit applies a storage form in three steps: parse the submitted
// locations and the operation (add, remove, move), apply each location's
// driver and arguments to its stored value, and assemble the four storage
// keys. It returns the new config value, or the locations to show again
// with the input errors (nil when there are none).
func storageSubmit(cat *schema.Catalogue, cfg map[string]any, form url.Values) (map[string]any, []formLoc, *storageErrs) {
	errs := newStorageErrs()
	locs := applyStorageOp(cat, locationsFromForm(form, cfg), form, errs)
	checkLocations(cat, locs, errs)
	newDSC := make(map[string]any, len(locs))
	for i, fl := range locs {
		v, argErrs := locationValue(cat, fl)
		if len(argErrs) > 0 {
			errs.Arg[i] = argErrs
		}
		newDSC[fl.name] = v
	}
	if !errs.empty() {
		return nil, locs, errs
	}
	newCfg := assembleStorage(cat, cfg, form, locs, newDSC, errs)
	if !errs.empty() {
		return nil, locs, errs
	}
	return newCfg, locs, nil
}

// applyStorageOp performs the form's operation (op=up:i, down:i,
// remove:i or add) on the submitted locations.
func applyStorageOp(cat *schema.Catalogue, locs []formLoc, form url.Values, errs *storageErrs) []formLoc {
	op := form.Get("op")
	verb, arg, _ := strings.Cut(op, ":")
	i, numErr := strconv.Atoi(arg)
	inRange := func(k int) bool { return numErr == nil && k >= 0 && k < len(locs) }
	switch verb {
	case "up", "down":
		j := i - 1
		if verb == "down" {
			j = i + 1
		}
		if inRange(i) && inRange(j) {
			locs[i], locs[j] = locs[j], locs[i]
		}
	case "remove":
		if inRange(i) {
			locs = append(locs[:i], locs[i+1:]...)
		}
	case "add", "save", "":
		// Enter in "Add a location" submits the form's default button
		// (save): a typed name is added rather than lost
		if op != "add" && strings.TrimSpace(form.Get("new.name")) == "" || strings.Contains(op, ":") {
			break
		}
		name := strings.TrimSpace(form.Get("new.name"))
		driver := form.Get("new.driver")
		switch {
		case cat.ValidLocationName(name) != nil:
			errs.New = "Enter a location name: letters, digits, '-', '_' or '.', starting with a letter or digit."
		case cat.DriverSpec(driver) == nil:
			errs.New = "Choose a storage driver for the new location."
		default:
			locs = append(locs, formLoc{name: name, driver: driver, args: map[string]string{}, set: map[string]bool{}, clear: map[string]bool{}, pref: true})
		}
	}
	return locs
}

// checkLocations refuses new or renamed locations with a name the schema
// does not allow, twice-used names and unknown drivers; a stored name or
// driver the form would refuse is kept as it is.
func checkLocations(cat *schema.Catalogue, locs []formLoc, errs *storageErrs) {
	seen := map[string]bool{}
	for i, fl := range locs {
		switch {
		case (fl.name != fl.orig || fl.orig == "") && cat.ValidLocationName(fl.name) != nil:
			errs.Loc[i] = "A location name uses letters, digits, '-', '_' or '.', and starts with a letter or digit."
		case seen[fl.name]:
			errs.Loc[i] = "Two locations are named " + fl.name + "; names must be unique."
		case cat.DriverSpec(fl.driver) == nil && !(fl.stored.had && fl.driver == fl.stored.driver):
			errs.Loc[i] = "Choose a storage driver."
		}
		seen[fl.name] = true
	}
}

// locationValue is the value a submitted location is written as: its
// stored arguments with the submitted changes, as [driver, {arguments}],
// or the stored value verbatim when neither its driver nor its arguments
// changed. Input errors are returned by argument.
func locationValue(cat *schema.Catalogue, fl formLoc) (any, map[string]string) {
	errs := map[string]string{}
	curArgs := fl.stored.args
	args := make(map[string]any, len(curArgs)+len(fl.args))
	for k, v := range curArgs {
		args[k] = v
	}
	for a, s := range fl.args {
		spec, kind := argSpec(cat, fl.driver, a)
		if kind == kindSecret {
			if s != "" {
				args[a] = s
			}
			continue
		}
		if s == keepToken {
			continue
		}
		if cv, ok := curArgs[a]; ok && sameText(s, argText(cat, fl.stored.driver, a, cv)) {
			continue
		}
		v, err := parseInput(kind, spec, strings.ReplaceAll(s, "\r\n", "\n"))
		switch {
		case err != nil:
			errs[a] = err.Error()
		case v == nil:
			delete(args, a)
		default:
			args[a] = v
		}
	}
	for a := range fl.clear {
		delete(args, a)
	}
	// arguments only the old driver takes go with it
	oldDrv, newDrv := cat.DriverSpec(fl.stored.driver), cat.DriverSpec(fl.driver)
	if newDrv != nil && oldDrv != nil && newDrv != oldDrv {
		for a := range args {
			if oldDrv.Arg(a) != nil && newDrv.Arg(a) == nil {
				delete(args, a)
			}
		}
	}
	if fl.stored.had && fl.driver == fl.stored.driver && bundle.EqualValues(args, map[string]any(curArgs)) {
		// untouched: written back as stored, whatever its shape
		return fl.stored.value, errs
	}
	return []any{fl.driver, args}, errs
}

// assembleStorage returns cfg with the new map of locations, the
// preference list, the default locations and the replication switch.
// Each key keeps its stored value when the form asks for what it showed;
// otherwise an emptied list stays an empty list and an emptied map of
// locations goes away.
func assembleStorage(cat *schema.Catalogue, cfg map[string]any, form url.Values, locs []formLoc, newDSC map[string]any, errs *storageErrs) map[string]any {
	newCfg := make(map[string]any, len(cfg)+4)
	for k, v := range cfg {
		newCfg[k] = v
	}
	dsc, _ := cfg[keyStorageConfig].(map[string]any)
	switch {
	case len(newDSC) == 0 && len(dsc) == 0:
		// nothing shown, nothing asked: keep whatever is stored
	case len(newDSC) == 0:
		delete(newCfg, keyStorageConfig)
	case !bundle.EqualValues(newDSC, map[string]any(dsc)):
		newCfg[keyStorageConfig] = newDSC
	}
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
	setList(keyStoragePref, prefs, shownPrefs)
	setList(keyStorageDefaults, defs, shownDefs)
	rv, present := cfg[keyReplication]
	repl := newFieldView(cat, []string{keyReplication}, replicationSpec(cat), rv, present)
	if e, ok := fieldEdit(cat, repl, cfg, form, errs.Fields); ok {
		if e.del {
			delete(newCfg, keyReplication)
		} else {
			newCfg[keyReplication] = e.value
		}
	}
	return newCfg
}

// replicationSpec is the spec of FEATURE_STORAGE_REPLICATION.
func replicationSpec(cat *schema.Catalogue) *schema.FieldSpec {
	return specOrText(cat.Spec(keyReplication), keyReplication)
}

// applyValue makes doc equal to v with minimal edits.
func applyValue(doc *bundle.Document, v map[string]any) error { return doc.Apply(v) }

type storageRender struct {
	locs    []formLoc
	form    url.Values // the submitted form, for the replication choice
	errs    *storageErrs
	newName string
}

func applyStorageErrors(sv *storageView, errs *storageErrs) {
	if errs == nil {
		return
	}
	sv.NewErr = errs.New
	for i, msg := range errs.Loc {
		if i >= 0 && i < len(sv.Locations) {
			sv.Locations[i].NameErr = msg
		}
	}
	for i, byArg := range errs.Arg {
		if i < 0 || i >= len(sv.Locations) {
			continue
		}
		for _, fv := range sv.Locations[i].Args {
			if msg, ok := byArg[fv.Segs[len(fv.Segs)-1]]; ok {
				fv.Problems = append(fv.Problems, problem.Problem{Severity: problem.Error, Message: msg})
			}
		}
	}
	if msg, ok := errs.Fields[sv.Replication.Path]; ok {
		sv.Replication.Problems = append(sv.Replication.Problems, problem.Problem{Severity: problem.Error, Path: keysPath(sv.Replication.Segs), Message: msg})
	}
}

func (p *pages) storageSave(c echo.Context) error {
	sess, err := p.session(c)
	if err != nil {
		return err
	}
	form, err := c.FormParams()
	if err != nil {
		return echo.NewHTTPError(http.StatusBadRequest, "the form could not be read")
	}
	sess.Lock()
	defer sess.Unlock()
	if ok, err := p.saveStorageForm(c, sess, form); !ok {
		return err
	}
	return p.redirect(c, "/group/"+groupStorage+"#storage")
}

// saveStorageForm is saveGroupForm for the storage editor.
func (p *pages) saveStorageForm(c echo.Context, sess *Session, form url.Values) (bool, error) {
	cat := schema.Get()
	cfg := sess.Work.Config().Value()
	if p.s.readOnly[groupStorage] {
		return false, p.renderGroup(c, sess, http.StatusForbidden, groupStorage, groupInput{msg: "Storage is managed by the Operator and cannot be edited here."})
	}
	if form.Get("op") == "refresh" {
		// the driver changed: show its arguments, save nothing
		return false, p.renderGroup(c, sess, http.StatusOK, groupStorage,
			groupInput{form: form, storage: &storageRender{locs: locationsFromForm(form, cfg), form: form, newName: form.Get("new.name")}})
	}
	if !checkRev(c, sess) {
		locs := locationsFromForm(form, cfg)
		return false, p.renderGroup(c, sess, http.StatusConflict, groupStorage,
			groupInput{storage: &storageRender{locs: locs, form: form, newName: form.Get("new.name")}, msg: conflictMsg})
	}
	newCfg, locs, errs := storageSubmit(cat, cfg, form)
	if errs != nil {
		return false, p.renderGroup(c, sess, http.StatusUnprocessableEntity, groupStorage,
			groupInput{storage: &storageRender{locs: locs, form: form, errs: errs, newName: form.Get("new.name")},
				msg: "Nothing was saved: correct the highlighted entries."})
	}
	// the page's other storage settings are in the same form (one Save)
	edits, ferrs := collectEdits(cat, p.groupFields(cat, cat.Group(groupStorage), cfg, nil), cfg, form)
	if len(ferrs) > 0 {
		return false, p.renderGroup(c, sess, http.StatusUnprocessableEntity, groupStorage,
			groupInput{form: form, errs: ferrs, storage: &storageRender{locs: locs, form: form, newName: form.Get("new.name")},
				msg: "Nothing was saved: correct the highlighted fields."})
	}
	storageChanged := !bundle.EqualValues(any(newCfg), any(cfg))
	if !storageChanged && len(edits) == 0 {
		sess.Flash = "No changes to the storage locations."
		return true, nil
	}
	work := sess.Work.Clone()
	err := error(nil)
	if storageChanged {
		err = applyValue(work.Config(), newCfg)
	}
	if err == nil {
		err = applyEdits(work.Config(), edits)
	}
	if err != nil {
		return false, p.renderGroup(c, sess, http.StatusUnprocessableEntity, groupStorage,
			groupInput{storage: &storageRender{locs: locs, form: form}, msg: "Nothing was saved: " + err.Error()})
	}
	sess.Work = work
	sess.Changed()
	sess.forgetValidation(groupStorage)
	sess.Flash = "Saved the storage locations."
	return true, nil
}
