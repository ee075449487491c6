package validators

import (
	"strconv"
	"strings"

	"github.com/quay-tools/config-editor/internal/problem"
)

const groupCustomCertificates = "CustomCertificates"

// CustomCertificates (not a group of the catalogue: the extra CA files of
// the bundle): every extra CA file must parse as PEM certificates and be
// currently valid.
func customCertificatesCheck() Check {
	return Check{Group: groupCustomCertificates, Offline: customCertificatesOffline}
}

func customCertificatesOffline(c *Context, l *problem.List) {
	cas := c.Bundle.ExtraCAs()
	for _, name := range SortedKeys(anyMap(cas)) {
		certs, err := ParseCertPEM(cas[name])
		if err != nil {
			l.Errorf(groupCustomCertificates, filePath(name), "%s is not a usable certificate: %v.", name, err)
			continue
		}
		for i, cert := range certs {
			what := name
			if len(certs) > 1 {
				what = name + " certificate " + strconv.Itoa(i+1)
			}
			c.checkValidity(l, groupCustomCertificates, filePath(name), what, cert)
		}
	}
	for _, name := range c.Bundle.FileNames() {
		if strings.HasSuffix(name, ".crt") && !strings.HasPrefix(name, "extra_ca_cert") && strings.Contains(name, "/") {
			l.Warnf(groupCustomCertificates, filePath(name), "%s is not under extra_ca_certs/, so Quay will not trust it.", name)
		}
	}
}

func anyMap[V any](m map[string]V) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
