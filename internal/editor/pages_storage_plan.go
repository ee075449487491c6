package editor

// What the registry runtime does with the saved storage locations, shown
// next to the storage editor: the location each cluster writes to, where
// blobs are copied, and which clusters need the environment override.

import (
	"strings"

	"github.com/quay-tools/config-editor/internal/problem"
	"github.com/quay-tools/config-editor/internal/schema"
)

// storagePlan is the runtime's reading of the saved storage keys.
type storagePlan struct {
	Locations   int
	Preferred   string   // first of DISTRIBUTED_STORAGE_PREFERENCE that exists
	NoPref      bool     // the preference list names no location
	Replication bool     // FEATURE_STORAGE_REPLICATION
	Defaults    []string // DISTRIBUTED_STORAGE_DEFAULT_LOCATIONS that exist
	Overrides   []envOverride
}

// envOverride is the environment a cluster local to Location needs.
type envOverride struct {
	Location, Value string
}

func storagePlanOf(cfg map[string]any) *storagePlan {
	dsc, _ := cfg[keyStorageConfig].(map[string]any)
	if len(dsc) == 0 {
		return nil
	}
	pl := &storagePlan{Locations: len(dsc)}
	var prefs []string
	for _, p := range stringList(cfg[keyStoragePref]) {
		if _, ok := dsc[p]; ok && !contains(prefs, p) {
			prefs = append(prefs, p)
		}
	}
	if len(prefs) > 0 {
		pl.Preferred = prefs[0]
	} else {
		pl.NoPref = true
	}
	pl.Replication, _ = cfg[keyReplication].(bool)
	for _, d := range stringList(cfg[keyStorageDefaults]) {
		if _, ok := dsc[d]; ok && !contains(pl.Defaults, d) {
			pl.Defaults = append(pl.Defaults, d)
		}
	}
	for _, name := range sortedKeys(dsc) {
		if name == pl.Preferred {
			continue
		}
		order := []string{name}
		for _, p := range prefs {
			if p != name {
				order = append(order, p)
			}
		}
		pl.Overrides = append(pl.Overrides, envOverride{Location: name, Value: strings.Join(order, " ")})
	}
	return pl
}

// Elsewhere is the link to the section that owns a problem's key when
// that is not this page's section ("" otherwise), so an error such as
// PREFERRED_URL_SCHEME shown on the storage page leads to where it is
// fixed.
func (d *groupData) Elsewhere(pr problem.Problem) string {
	if pr.Path == nil || pr.Path.IsFile() {
		return ""
	}
	key := pr.Path.Root()
	g := schema.Get().GroupOf(key)
	if g == "" || d.Group == nil || g == d.Group.Name {
		return ""
	}
	return "/group/" + g + "#" + fieldID(key)
}
