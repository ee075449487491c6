package operator

import (
	"fmt"
	"net"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/quay-tools/config-editor/internal/bundle"
	"github.com/quay-tools/config-editor/internal/problem"
	"github.com/quay-tools/config-editor/internal/schema"
	"github.com/quay-tools/config-editor/internal/validators"
)

// FieldGroup is the FieldGroup of every pre-flight problem.
const FieldGroup = "Operator"

// requiredComponents must be configured in the bundle when unmanaged.
var requiredComponents = []string{ComponentPostgres, ComponentObjectStorage, ComponentRoute, ComponentRedis, ComponentTLS}

// configWhenManaged are components the Operator accepts user fields for
// while managing them (../shared/reference/quay-config.md §7).
var configWhenManaged = map[string]bool{ComponentRoute: true, ComponentMirror: true, ComponentRedis: true}

// Override support per component, as the Operator validates it.
var (
	envOverride      = map[string]bool{ComponentQuay: true, ComponentClair: true, ComponentMirror: true, ComponentPostgres: true, ComponentRedis: true}
	replicasOverride = map[string]bool{ComponentQuay: true, ComponentClair: true, ComponentMirror: true}
	volumeOverride   = map[string]bool{ComponentPostgres: true, ComponentClair: true}
	affinityOverride = map[string]bool{ComponentQuay: true, ComponentClair: true, ComponentMirror: true}
)

// ClairConfigFile is the user's Clair configuration in the bundle.
const ClairConfigFile = "clair-config.yaml"

// Preflight checks the Operator's own rules on a bundle and the
// QuayRegistry's components, the rules it enforces with RolloutBlocked /
// ConfigInvalid, and returns them as problems of group "Operator", in the
// Operator's wording where it has one. now is the clock for certificate
// validity (zero: time.Now()).
func Preflight(spec Spec, b *bundle.Bundle, cat *schema.Catalogue, now time.Time) []problem.Problem {
	if now.IsZero() {
		now = time.Now()
	}
	var l problem.List
	cfg := b.Config().Value()
	comp := func(kind string) *problem.Path { return problem.NewPath("spec", "components", kind) }

	for _, kind := range AllComponents {
		managed := Managed(spec, b, kind)
		has, keys := containsConfig(kind, cfg, b, cat)
		switch {
		case managed && has && !configWhenManaged[kind]:
			l.ErrorTags(FieldGroup, comp(kind), keys,
				"%s component marked as managed, but `configBundleSecret` contains required fields (%s): remove them, or mark %s as managed: false",
				kind, strings.Join(keys, ", "), kind)
		case !managed && isRequired(kind) && !has:
			need := ownedKeys(kind, cat)
			l.ErrorTags(FieldGroup, comp(kind), need,
				"required component `%s` marked as unmanaged, but `configBundleSecret` is missing necessary fields (%s)",
				kind, strings.Join(need, ", "))
		}
	}

	tlsManaged := Managed(spec, b, ComponentTLS)
	routeManaged := Managed(spec, b, ComponentRoute)
	if tlsManaged && !routeManaged {
		l.ErrorTags(FieldGroup, comp(ComponentTLS), []string{ComponentTLS, ComponentRoute},
			"managed `tls` requires a managed `route`: the Operator's TLS is the route's edge certificate; mark tls as managed: false and bring ssl.cert and ssl.key, or manage the route")
	}
	if !tlsManaged {
		checkTLSPair(&l, b, cfg, now)
	}

	if !Managed(spec, b, ComponentClairPostgres) && Managed(spec, b, ComponentClair) && !clairHasConnstring(b) {
		l.ErrorTags(FieldGroup, comp(ComponentClairPostgres), []string{ClairConfigFile},
			"clairpostgres is unmanaged while clair is managed: %s in the bundle must give Clair its database (indexer, matcher and notifier connstring)", ClairConfigFile)
	}

	hpaManaged := Managed(spec, b, ComponentHPA)
	for _, c := range spec.Components {
		o := c.Overrides
		if o == nil {
			continue
		}
		p := comp(c.Kind).Child("overrides")
		hasEnv, hasRep, hasVol, hasAff := len(o.Env) > 0, o.Replicas != nil, len(o.VolumeSize) > 0, len(o.Affinity) > 0
		if (hasEnv || hasRep || hasVol || hasAff) && !Managed(spec, b, c.Kind) {
			l.ErrorTags(FieldGroup, p, []string{c.Kind}, "cannot set overrides on unmanaged %s", c.Kind)
		}
		if hasRep && hpaManaged && *o.Replicas != 0 {
			l.ErrorTags(FieldGroup, p.Child("replicas"), []string{c.Kind, ComponentHPA},
				"cannot override replicas with managed HPA (%s asks for %d; only 0 is accepted while horizontalpodautoscaler is managed)", c.Kind, *o.Replicas)
		}
		for _, s := range []struct {
			has  bool
			name string
			ok   map[string]bool
		}{{hasEnv, "env", envOverride}, {hasRep, "replicas", replicasOverride}, {hasVol, "volumeSize", volumeOverride}, {hasAff, "affinity", affinityOverride}} {
			if s.has && !s.ok[c.Kind] {
				l.ErrorTags(FieldGroup, p.Child(s.name), []string{c.Kind}, "component %s does not support %s overrides", c.Kind, s.name)
			}
		}
	}
	problem.Sort(l)
	return l
}

func isRequired(kind string) bool {
	for _, k := range requiredComponents {
		if k == kind {
			return true
		}
	}
	return false
}

// ownedKeys lists the config keys (or files) a component owns.
func ownedKeys(kind string, cat *schema.Catalogue) []string {
	if files, ok := componentFiles[kind]; ok {
		return files
	}
	var out []string
	for _, g := range cat.Groups() {
		for _, f := range g.Fields {
			if f.Component == kind && f.Pattern == nil {
				out = append(out, f.Key)
			}
		}
	}
	return out
}

// containsConfig is the Operator's test of whether a bundle configures a
// component: any of the component's keys is present (for tls: both files;
// for clairpostgres: a connstring in clair-config.yaml). It returns the
// keys found.
func containsConfig(kind string, cfg map[string]any, b *bundle.Bundle, cat *schema.Catalogue) (bool, []string) {
	switch kind {
	case ComponentTLS:
		_, c := b.File(FileSSLCert)
		_, k := b.File(FileSSLKey)
		return c && k, []string{FileSSLCert, FileSSLKey}
	case ComponentClairPostgres:
		return clairHasConnstring(b), []string{ClairConfigFile}
	case ComponentQuay, ComponentHPA, ComponentMonitoring:
		return false, nil
	}
	var found []string
	for _, k := range ownedKeys(kind, cat) {
		if _, ok := cfg[k]; ok {
			found = append(found, k)
		}
	}
	return len(found) > 0, found
}

func clairHasConnstring(b *bundle.Bundle) bool {
	data, ok := b.File(ClairConfigFile)
	if !ok {
		return false
	}
	var cc struct {
		Indexer  struct{ Connstring string } `yaml:"indexer"`
		Matcher  struct{ Connstring string } `yaml:"matcher"`
		Notifier struct{ Connstring string } `yaml:"notifier"`
	}
	if err := yaml.Unmarshal(data, &cc); err != nil {
		return false
	}
	return cc.Indexer.Connstring != "" || cc.Matcher.Connstring != "" || cc.Notifier.Connstring != ""
}

// checkTLSPair: with tls unmanaged the bundle's ssl.cert/ssl.key must be a
// pair valid for SERVER_HOSTNAME and BUILDMAN_HOSTNAME (ports stripped).
func checkTLSPair(l *problem.List, b *bundle.Bundle, cfg map[string]any, now time.Time) {
	certPEM, hasCert := b.File(FileSSLCert)
	keyPEM, hasKey := b.File(FileSSLKey)
	if !hasCert || !hasKey {
		return // reported as a missing required component
	}
	path := problem.File(FileSSLCert)
	tags := []string{FileSSLCert, FileSSLKey}
	certs, err := validators.ParseCertPEM(certPEM)
	if err != nil || len(certs) == 0 {
		l.ErrorTags(FieldGroup, path, tags, "tls is unmanaged, but ssl.cert is not a PEM certificate: %v", err)
		return
	}
	key, err := validators.ParseKeyPEM(keyPEM)
	if err != nil {
		l.ErrorTags(FieldGroup, problem.File(FileSSLKey), tags, "tls is unmanaged, but ssl.key is not a PEM private key: %v", err)
		return
	}
	leaf := certs[0]
	if !validators.KeyMatches(leaf, key) {
		l.ErrorTags(FieldGroup, path, tags, "tls is unmanaged, but ssl.key is not the key of ssl.cert")
		return
	}
	if now.After(leaf.NotAfter) {
		l.ErrorTags(FieldGroup, path, tags, "tls is unmanaged, but ssl.cert expired on %s", leaf.NotAfter.UTC().Format("2006-01-02"))
	}
	for _, key := range []string{"SERVER_HOSTNAME", "BUILDMAN_HOSTNAME"} {
		h, _ := cfg[key].(string)
		if h == "" {
			continue
		}
		host := stripPort(h)
		if err := leaf.VerifyHostname(host); err != nil {
			l.ErrorTags(FieldGroup, problem.NewPath(key), []string{key, FileSSLCert},
				"provided certificate pair not valid for host '%s' (%s): %v", host, key, err)
		}
	}
}

func stripPort(h string) string {
	if host, _, err := net.SplitHostPort(h); err == nil {
		return host
	}
	return h
}

// RefuseMessage words a refusal to push because of errors.
func RefuseMessage(errs int) string {
	return fmt.Sprintf("refusing to push: the bundle has %d error(s); fix them or push with force", errs)
}
