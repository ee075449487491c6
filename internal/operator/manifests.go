package operator

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/quay-tools/config-editor/internal/bundle"
)

// PreferenceEnv is the environment override that picks a cluster's
// storage location in a geo-replicated deployment.
const PreferenceEnv = "QUAY_DISTRIBUTED_STORAGE_PREFERENCE"

// ManifestOptions name what the manifests describe.
type ManifestOptions struct {
	Name      string // QuayRegistry name (default "example-registry")
	Namespace string // default "quay-enterprise"
	Secret    string // configBundleSecret (default "<name>-config-bundle")
}

func (o ManifestOptions) withDefaults() ManifestOptions {
	if o.Name == "" {
		o.Name = "example-registry"
	}
	if o.Namespace == "" {
		o.Namespace = "quay-enterprise"
	}
	if o.Secret == "" {
		o.Secret = o.Name + "-config-bundle"
	}
	return o
}

// Manifest is one QuayRegistry document: one per cluster.
type Manifest struct {
	Location   string // the storage location this cluster prefers ("" unless geo-replicated)
	Components []Component
	YAML       []byte
}

// StorageLocations lists the bundle's storage locations: the
// DISTRIBUTED_STORAGE_PREFERENCE order first, then the others in the order
// DISTRIBUTED_STORAGE_CONFIG lists them.
func StorageLocations(b *bundle.Bundle) []string {
	var out []string
	seen := map[string]bool{}
	cfgNode, _ := b.Config().Lookup("DISTRIBUTED_STORAGE_CONFIG")
	inConfig := map[string]bool{}
	var order []string
	if cfgNode != nil && cfgNode.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(cfgNode.Content); i += 2 {
			order = append(order, cfgNode.Content[i].Value)
			inConfig[cfgNode.Content[i].Value] = true
		}
	}
	if pref, ok := b.Config().Value()["DISTRIBUTED_STORAGE_PREFERENCE"].([]any); ok {
		for _, p := range pref {
			if s, ok := p.(string); ok && inConfig[s] && !seen[s] {
				out = append(out, s)
				seen[s] = true
			}
		}
	}
	for _, s := range order {
		if !seen[s] {
			out = append(out, s)
			seen[s] = true
		}
	}
	return out
}

// GeoReplicated reports whether the bundle replicates storage across
// several locations (one cluster per location).
func GeoReplicated(b *bundle.Bundle) bool {
	v, _ := b.Config().Value()["FEATURE_STORAGE_REPLICATION"].(bool)
	return v && len(StorageLocations(b)) > 1
}

// ImpliedComponents are the spec.components the bundle implies: a
// dependency the bundle configures itself is unmanaged (objectstorage,
// postgres, redis, clair, clairpostgres with its own connstring), the route
// stays managed (it accepts SERVER_HOSTNAME), tls is unmanaged when the
// bundle brings ssl.cert and ssl.key or replicates across clusters. For a
// geo-replicated bundle clairpostgres is unmanaged (the clusters share
// Clair's database) and, when location is set, the quay and mirror
// components get the QUAY_DISTRIBUTED_STORAGE_PREFERENCE override.
func ImpliedComponents(b *bundle.Bundle, location string) []Component {
	cfg := b.Config().Value()
	has := func(keys ...string) bool {
		for _, k := range keys {
			if _, ok := cfg[k]; ok {
				return true
			}
		}
		return false
	}
	_, cert := b.File(FileSSLCert)
	_, key := b.File(FileSSLKey)
	geo := GeoReplicated(b)
	out := []Component{
		{Kind: ComponentObjectStorage, Managed: !has("DISTRIBUTED_STORAGE_CONFIG")},
		{Kind: ComponentRoute, Managed: true},
		{Kind: ComponentTLS, Managed: !(cert && key) && !geo},
		{Kind: ComponentPostgres, Managed: !has("DB_URI")},
	}
	if has("FEATURE_SECURITY_SCANNER", "SECURITY_SCANNER_V4_ENDPOINT") {
		out = append(out, Component{Kind: ComponentClair, Managed: false})
	}
	if geo || clairHasConnstring(b) {
		out = append(out, Component{Kind: ComponentClairPostgres, Managed: false})
	}
	out = append(out, Component{Kind: ComponentRedis, Managed: !has("BUILDLOGS_REDIS", "USER_EVENTS_REDIS")})
	if location != "" {
		for _, k := range []string{ComponentQuay, ComponentMirror} {
			out = append(out, Component{Kind: k, Managed: true, Overrides: &Overrides{
				Env: []EnvVar{{Name: PreferenceEnv, Value: location}},
			}})
		}
	}
	return out
}

// Manifests returns the QuayRegistry manifests for a bundle: one, or for a
// geo-replicated bundle one per storage location, each preferring its
// location through QUAY_DISTRIBUTED_STORAGE_PREFERENCE on the quay and
// mirror components (the pattern of the Quay documentation's
// geo-replication example). Every cluster shares the one config bundle.
func Manifests(b *bundle.Bundle, o ManifestOptions) []Manifest {
	o = o.withDefaults()
	if !GeoReplicated(b) {
		comps := ImpliedComponents(b, "")
		return []Manifest{{Components: comps, YAML: renderRegistry(o, comps, "")}}
	}
	locs := StorageLocations(b)
	out := make([]Manifest, 0, len(locs))
	for i, loc := range locs {
		head := fmt.Sprintf("# Cluster %d of %d: prefers storage location %s\n", i+1, len(locs), loc)
		comps := ImpliedComponents(b, loc)
		out = append(out, Manifest{Location: loc, Components: comps, YAML: renderRegistry(o, comps, head)})
	}
	return out
}

// JoinManifests joins manifests into one multi-document YAML stream.
func JoinManifests(ms []Manifest) []byte {
	var b strings.Builder
	for i, m := range ms {
		if i > 0 {
			b.WriteString("---\n")
		}
		b.Write(m.YAML)
	}
	return []byte(b.String())
}

// renderRegistry writes the manifest in the layout of the Quay docs.
func renderRegistry(o ManifestOptions, comps []Component, head string) []byte {
	var b strings.Builder
	b.WriteString(head)
	fmt.Fprintf(&b, "apiVersion: %s\nkind: %s\nmetadata:\n  name: %s\n  namespace: %s\nspec:\n  configBundleSecret: %s\n  components:\n",
		APIVersion, Kind, scalar(o.Name), scalar(o.Namespace), scalar(o.Secret))
	for _, c := range comps {
		fmt.Fprintf(&b, "    - kind: %s\n      managed: %t\n", c.Kind, c.Managed)
		if c.Overrides != nil && len(c.Overrides.Env) > 0 {
			b.WriteString("      overrides:\n        env:\n")
			for _, e := range c.Overrides.Env {
				fmt.Fprintf(&b, "        - name: %s\n          value: %s\n", scalar(e.Name), scalar(e.Value))
			}
		}
	}
	return []byte(b.String())
}

var plainScalar = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._/-]*$`)

// scalar renders a string as a YAML scalar, quoted when plain would change
// its meaning.
func scalar(s string) string {
	if plainScalar.MatchString(s) {
		var v any
		if err := yaml.Unmarshal([]byte(s), &v); err == nil {
			if str, ok := v.(string); ok && str == s {
				return s
			}
		}
	}
	out, err := yaml.Marshal(s)
	if err != nil {
		return fmt.Sprintf("%q", s)
	}
	return strings.TrimSuffix(string(out), "\n")
}

// SecretCommand is the `oc create secret generic` command that stores the
// bundle (from a directory holding it) as the configBundleSecret.
func SecretCommand(b *bundle.Bundle, o ManifestOptions) string {
	o = o.withDefaults()
	parts := []string{"oc create secret generic", "--from-file config.yaml=./config.yaml"}
	names := b.FileNames()
	sort.Strings(names)
	for _, n := range names {
		key := n
		if strings.HasPrefix(n, bundle.ExtraCAPrefix) {
			key = bundle.FlatExtraCAPrefix + strings.TrimPrefix(n, bundle.ExtraCAPrefix)
		}
		if NotPushed[key] {
			continue
		}
		parts = append(parts, "--from-file "+shellQuote(key+"=./"+n))
	}
	parts = append(parts, shellQuote(o.Secret), "-n", shellQuote(o.Namespace))
	return strings.Join(parts, " ")
}

var shellSafe = regexp.MustCompile(`^[A-Za-z0-9._/=:-]+$`)

func shellQuote(s string) string {
	if shellSafe.MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
