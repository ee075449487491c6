package operator

import (
	"fmt"
	"sort"

	"github.com/quay-tools/config-editor/internal/bundle"
	"github.com/quay-tools/config-editor/internal/schema"
)

// TLS files: the Operator's tls component owns them (when managed it
// generates the pair, or uses the cluster's wildcard certificate).
const (
	FileSSLCert = "ssl.cert"
	FileSSLKey  = "ssl.key"
)

// componentFiles are bundle files owned by a component. config.yaml keys
// are owned through the catalogue's x-component annotation; files are not
// config keys, so the one file-owning component is listed here.
var componentFiles = map[string][]string{ComponentTLS: {FileSSLCert, FileSSLKey}}

// Managed reports whether a component kind is managed by the Operator for
// this spec and bundle. Undeclared components take the Operator's
// defaults: managed, except tls, which the Operator leaves unmanaged when
// the bundle brings its own ssl.cert and ssl.key. quay is always managed.
func Managed(spec Spec, b *bundle.Bundle, kind string) bool {
	if kind == ComponentQuay {
		return true
	}
	if c := spec.Component(kind); c != nil {
		return c.Managed
	}
	if kind == ComponentTLS && b != nil {
		_, cert := b.File(FileSSLCert)
		_, key := b.File(FileSSLKey)
		return !(cert && key)
	}
	return true
}

// ReadOnly is a part of the bundle the Operator owns: a field group of the
// catalogue or a bundle file, with the reason shown to the user.
type ReadOnly struct {
	Group     string   // field group ("" for files)
	Files     []string // bundle files (tls)
	Keys      []string // top-level config keys of the group
	Component string
	Reason    string
}

// ReadOnlyParts lists what the Operator manages in this spec: every field
// group whose catalogue component (x-component) is managed, and the files
// of a managed tls component. Sorted by group name, files last.
func ReadOnlyParts(spec Spec, b *bundle.Bundle, cat *schema.Catalogue, ref string) []ReadOnly {
	var out []ReadOnly
	for _, g := range cat.Groups() {
		if g.Component == "" || !Managed(spec, b, g.Component) {
			continue
		}
		out = append(out, ReadOnly{
			Group: g.Name, Keys: g.Keys(), Component: g.Component,
			Reason: reason(spec, g.Component, ref),
		})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Group < out[j].Group })
	for _, kind := range []string{ComponentTLS} {
		if Managed(spec, b, kind) {
			out = append(out, ReadOnly{Files: componentFiles[kind], Component: kind, Reason: reason(spec, kind, ref)})
		}
	}
	return out
}

func reason(spec Spec, kind, ref string) string {
	how := fmt.Sprintf("spec.components: kind %s, managed: true", kind)
	if spec.Component(kind) == nil {
		how = fmt.Sprintf("%s is not listed in spec.components, so it is managed by default", kind)
	}
	return fmt.Sprintf("The Quay Operator manages the %s component of %s (%s), so it writes these settings; set it to managed: false to edit them here.", kind, ref, how)
}

// ManagedGroupNames returns the field groups of parts.
func ManagedGroupNames(parts []ReadOnly) []string {
	var out []string
	for _, p := range parts {
		if p.Group != "" {
			out = append(out, p.Group)
		}
	}
	return out
}

// ManagedComponents lists the managed component kinds of a spec, in the
// Operator's order (hpa and monitoring own no config keys but are listed).
func ManagedComponents(spec Spec, b *bundle.Bundle) []string {
	var out []string
	for _, k := range AllComponents {
		if Managed(spec, b, k) {
			out = append(out, k)
		}
	}
	return out
}

// Protect makes next carry exactly the cluster's values for what the
// Operator owns: every key of a read-only group and every read-only file
// is copied from current (or removed when current lacks it). It returns
// the keys and files it changed, so the caller can say so. current may be
// nil (no bundle in the cluster yet): then owned keys are removed.
func Protect(next, current *bundle.Bundle, parts []ReadOnly) ([]string, error) {
	var changed []string
	var cur map[string]any
	if current != nil {
		cur = current.Config().Value()
	}
	nv := next.Config().Value()
	for _, p := range parts {
		for _, k := range p.Keys {
			cv, inCur := cur[k]
			nv2, inNext := nv[k]
			switch {
			case inCur && (!inNext || !bundle.EqualValues(cv, nv2)):
				if err := next.Config().Set([]string{k}, cv); err != nil {
					return changed, fmt.Errorf("keeping the cluster's %s: %w", k, err)
				}
				changed = append(changed, k)
			case !inCur && inNext:
				if err := next.Config().Delete([]string{k}); err != nil {
					return changed, fmt.Errorf("dropping %s: %w", k, err)
				}
				changed = append(changed, k)
			}
		}
		for _, f := range p.Files {
			var cd []byte
			var inCur bool
			if current != nil {
				cd, inCur = current.File(f)
			}
			nd, inNext := next.File(f)
			switch {
			case inCur && (!inNext || string(cd) != string(nd)):
				if err := next.SetFile(f, cd); err != nil {
					return changed, err
				}
				changed = append(changed, f)
			case !inCur && inNext:
				next.RemoveFile(f)
				changed = append(changed, f)
			}
		}
	}
	return changed, nil
}
