package bundle

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"strings"
)

var secretKeyRE = regexp.MustCompile(`^[-._a-zA-Z0-9]+$`)

// SecretData flattens the bundle into Kubernetes Secret data: config.yaml,
// extra_ca_certs/X as extra_ca_cert_X, every other file under its name.
func (b *Bundle) SecretData() (map[string][]byte, error) {
	out := map[string][]byte{ConfigFile: b.cfg.Bytes()}
	for name, data := range b.files {
		key := name
		if strings.HasPrefix(name, ExtraCAPrefix) {
			key = FlatExtraCAPrefix + strings.TrimPrefix(name, ExtraCAPrefix)
		}
		if !secretKeyRE.MatchString(key) || len(key) > 253 {
			return nil, fmt.Errorf("file %q cannot be stored as a Secret key (letters, digits, '-', '_', '.' only)", name)
		}
		if _, dup := out[key]; dup {
			return nil, fmt.Errorf("files %q and %q both flatten to Secret key %q", name, key, key)
		}
		out[key] = bytes.Clone(data)
	}
	return out, nil
}

// FromSecretData reads Kubernetes Secret data. Flat extra_ca_cert_X keys
// come back as extra_ca_certs/X so a round trip through a Secret and a
// directory agrees with the Operator's own mounting.
func FromSecretData(data map[string][]byte, lim Limits) (*Bundle, error) {
	lim = lim.orDefault()
	cfg, ok := data[ConfigFile]
	if !ok {
		return nil, errors.New("secret has no config.yaml key")
	}
	b, err := New(cfg, lim)
	if err != nil {
		return nil, err
	}
	used := budget{lim: lim}
	for key, content := range data {
		if key == ConfigFile {
			continue
		}
		if !used.add(int64(len(content))) {
			return nil, fmt.Errorf("secret data adds up to more than %d bytes", lim.MaxTotalBytes)
		}
		if !secretKeyRE.MatchString(key) || key == "." || key == ".." || len(key) > 253 {
			return nil, fmt.Errorf("secret key %q is not a valid key (letters, digits, '-', '_', '.' only)", key)
		}
		name := key
		if strings.HasPrefix(key, FlatExtraCAPrefix) && len(key) > len(FlatExtraCAPrefix) {
			name = ExtraCAPrefix + strings.TrimPrefix(key, FlatExtraCAPrefix)
		}
		if err := b.SetFile(name, content); err != nil {
			return nil, err
		}
	}
	return b, nil
}
