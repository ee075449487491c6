// Package secret holds the Secret type: a string that never shows itself.
//
// A Secret formats (every fmt verb), marshals (JSON, YAML, text) and logs
// (slog) as Placeholder. The real value leaves only through Reveal, called
// at the single point where it goes to a driver or onto the wire. Decoding
// (JSON, YAML) into a Secret reads the plain string, so configs still load.
//
// fmt cannot reach methods of unexported struct fields: a Secret held in
// an unexported field of a struct printed with %v shows its value. Hold
// secrets in exported fields, or never print the struct.
package secret

import (
	"fmt"
	"log/slog"
	"strconv"
)

// Placeholder stands in for a secret wherever one would be shown.
const Placeholder = "<secret>"

// Secret is a string that formats, marshals and logs as Placeholder.
type Secret string

// New wraps a plain string.
func New(s string) Secret { return Secret(s) }

// Reveal returns the real value; call it only where the value goes to a
// driver or onto the wire.
func (s Secret) Reveal() string { return string(s) }

// IsZero reports whether the secret is empty.
func (s Secret) IsZero() bool { return s == "" }

// String is Placeholder.
func (s Secret) String() string { return Placeholder }

// GoString is Placeholder, quoted as %#v shows a string.
func (s Secret) GoString() string { return strconv.Quote(Placeholder) }

// Format writes Placeholder for every verb: %v %s %d %x… print it as is,
// %q and %#v quoted.
func (s Secret) Format(f fmt.State, verb rune) {
	out := Placeholder
	if verb == 'q' || verb == 'v' && f.Flag('#') {
		out = strconv.Quote(Placeholder)
	}
	_, _ = f.Write([]byte(out))
}

// MarshalJSON is the JSON string "<secret>".
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(strconv.Quote(Placeholder)), nil }

// MarshalText is Placeholder (map keys, encoding/xml, text encoders).
func (s Secret) MarshalText() ([]byte, error) { return []byte(Placeholder), nil }

// UnmarshalText reads the plain value; it pairs with MarshalText so that
// decoders which honour one honour both.
func (s *Secret) UnmarshalText(b []byte) error {
	*s = Secret(b)
	return nil
}

// MarshalYAML is Placeholder (gopkg.in/yaml.v3 and v2; sigs.k8s.io/yaml
// goes through MarshalJSON).
func (s Secret) MarshalYAML() (any, error) { return Placeholder, nil }

// LogValue is Placeholder, for log/slog.
func (s Secret) LogValue() slog.Value { return slog.StringValue(Placeholder) }
