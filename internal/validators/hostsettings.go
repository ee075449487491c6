package validators

import (
	"crypto/x509"
	"regexp"
	"strings"

	"github.com/quay-tools/config-editor/internal/problem"
)

const groupHostSettings = "HostSettings"

var hostnameRE = regexp.MustCompile(`^[a-zA-Z0-9.-]+(:[0-9]+)?$`)

// HostSettings: SERVER_HOSTNAME, the URL scheme and Quay's own TLS pair.
// Everything here is offline: the TLS files are in the bundle.
func hostSettingsCheck() Check {
	return Check{Group: groupHostSettings, Offline: hostSettingsOffline}
}

func hostSettingsOffline(c *Context, l *problem.List) {
	host := c.Str("SERVER_HOSTNAME")
	if host != "" && hostnameRE.MatchString(host) {
		name := hostOnly(host)
		if name != "localhost" && !strings.Contains(name, ".") {
			l.Errorf(groupHostSettings, at("SERVER_HOSTNAME"),
				"SERVER_HOSTNAME %q is not a fully qualified name; use a name with a dot (quay.example.com) or localhost.", host)
		}
	}
	_, hasCert := c.Bundle.File("ssl.cert")
	_, hasKey := c.Bundle.File("ssl.key")
	https := strings.EqualFold(c.Str("PREFERRED_URL_SCHEME"), "https")
	external := c.Bool("EXTERNAL_TLS_TERMINATION")
	switch {
	case https && !external:
		if !hasCert {
			l.ErrorTags(groupHostSettings, filePath("ssl.cert"), []string{"PREFERRED_URL_SCHEME", "ssl.cert"},
				"PREFERRED_URL_SCHEME is https and TLS is not terminated outside Quay, so the bundle needs ssl.cert; upload the certificate or set EXTERNAL_TLS_TERMINATION: true.")
		}
		if !hasKey {
			l.ErrorTags(groupHostSettings, filePath("ssl.key"), []string{"PREFERRED_URL_SCHEME", "ssl.key"},
				"PREFERRED_URL_SCHEME is https and TLS is not terminated outside Quay, so the bundle needs ssl.key; upload the private key or set EXTERNAL_TLS_TERMINATION: true.")
		}
	case !https && (hasCert || hasKey):
		l.WarnTags(groupHostSettings, at("PREFERRED_URL_SCHEME"), []string{"PREFERRED_URL_SCHEME", "ssl.cert"},
			"The bundle holds ssl.cert/ssl.key but PREFERRED_URL_SCHEME is http, so Quay will not serve TLS; set PREFERRED_URL_SCHEME: https to use them.")
	}
	if hasCert || hasKey {
		c.checkServerPair(l, groupHostSettings, "ssl.cert", "ssl.key", host)
	}
}

// checkServerPair checks a certificate/key pair of the bundle: both parse,
// they belong together, the certificate is valid now, for host, and chains
// to a trusted CA.
func (c *Context) checkServerPair(l *problem.List, group, certName, keyName, host string) {
	certData, hasCert := c.Bundle.File(certName)
	keyData, hasKey := c.Bundle.File(keyName)
	if hasCert && !hasKey {
		l.Errorf(group, filePath(keyName), "%s is present but %s is missing; upload the private key of the certificate.", certName, keyName)
	}
	if hasKey && !hasCert {
		l.Errorf(group, filePath(certName), "%s is present but %s is missing; upload the certificate of the key.", keyName, certName)
	}
	certs := ParseCertsOrReport(c, l, group, certName, certData, hasCert)
	if hasKey {
		key, err := ParseKeyPEM(keyData)
		if err != nil {
			l.Errorf(group, filePath(keyName), "%s is not a usable private key: %v.", keyName, err)
		} else {
			if len(certs) > 0 && !KeyMatches(certs[0], key) {
				l.ErrorTags(group, filePath(keyName), []string{certName, keyName},
					"%s does not belong to %s: the private key does not match the certificate's public key.", keyName, certName)
			}
		}
	}
	if len(certs) == 0 {
		return
	}
	leaf := certs[0]
	c.checkValidity(l, group, filePath(certName), certName, leaf)
	if name := hostOnly(host); name != "" {
		if err := leaf.VerifyHostname(name); err != nil && cnOnly(leaf, name) {
			l.ErrorTags(group, filePath(certName), []string{certName, "SERVER_HOSTNAME"},
				"%s names %s only in its Common Name (CN) and has no subjectAltName entry for it; Go clients, among them Quay's own start-up validation and podman, ignore the CN and refuse the certificate. Issue a certificate with a subjectAltName DNS entry for %s.",
				certName, name, name)
		} else if err != nil {
			l.ErrorTags(group, filePath(certName), []string{certName, "SERVER_HOSTNAME"},
				"%s is not valid for %s (it covers: %s); issue a certificate whose subjectAltName includes %s.",
				certName, name, certInfo(leaf), name)
		}
	}
	if err := c.verifyChain(leaf, certs[1:]); err != nil {
		if leaf.Subject.String() == leaf.Issuer.String() {
			l.Warnf(group, filePath(certName), "%s is self-signed; clients must be given it as a trusted CA.", certName)
		} else {
			l.Errorf(group, filePath(certName), "%s does not chain to a trusted CA (%v); add the issuing CA under extra_ca_certs/ or include the intermediates in %s.", certName, err, certName)
		}
	}
}

// ParseCertsOrReport parses a certificate file, reporting why it cannot be
// used; it returns nil when the file is absent or unusable.
func ParseCertsOrReport(c *Context, l *problem.List, group, name string, data []byte, present bool) []*x509.Certificate {
	if !present {
		return nil
	}
	certs, err := ParseCertPEM(data)
	if err != nil {
		l.Errorf(group, filePath(name), "%s is not a usable certificate: %v.", name, err)
		return nil
	}
	return certs
}

// cnOnly reports whether the certificate names host in its Common Name
// but in none of its subjectAltName entries, which Go clients require.
func cnOnly(cert *x509.Certificate, host string) bool {
	cn := cert.Subject.CommonName
	if cn == "" || !strings.EqualFold(strings.TrimSuffix(cn, "."), strings.TrimSuffix(host, ".")) {
		return false
	}
	for _, n := range cert.DNSNames {
		if strings.EqualFold(n, host) {
			return false
		}
	}
	return true
}
