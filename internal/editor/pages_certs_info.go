package editor

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"strings"
	"time"
)

// certInfo is what the certificates page shows of one certificate: who it
// is, who signed it, its SHA-256 fingerprint, whether it is a CA and the
// names it handles.
type certInfo struct {
	Subject     string
	Issuer      string // "self-signed" when the issuer is the subject
	Fingerprint string // SHA-256 of the DER, colon-separated upper-case hex
	CA          bool
	Names       string // DNS SANs and IP SANs, comma-separated
	NamesNote   string // why Names is empty
	Status      string
	Expires     string
}

// describeCert fills a certInfo.
func describeCert(c *x509.Certificate, now time.Time) certInfo {
	ci := certInfo{
		Subject:     nameOf(c.Subject.CommonName, c.Subject.String()),
		Fingerprint: fingerprint(c.Raw),
		CA:          c.BasicConstraintsValid && c.IsCA,
		Names:       strings.Join(append(append([]string(nil), c.DNSNames...), ipStrings(c)...), ", "),
		Status:      certStatus(c, now),
		Expires:     c.NotAfter.UTC().Format("2006-01-02"),
	}
	if string(c.RawIssuer) == string(c.RawSubject) {
		ci.Issuer = "self-signed"
	} else {
		ci.Issuer = nameOf(c.Issuer.CommonName, c.Issuer.String())
	}
	if ci.Names == "" {
		switch {
		case ci.CA:
			ci.NamesNote = "none (a CA: it signs the certificates of the servers)"
		case c.Subject.CommonName != "":
			ci.NamesNote = "none: only the Common Name " + c.Subject.CommonName + ", which Go clients (Quay's start-up validation, podman) ignore"
		default:
			ci.NamesNote = "none"
		}
	}
	return ci
}

func nameOf(cn, full string) string {
	if cn != "" {
		return cn
	}
	return full
}

func fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	h := strings.ToUpper(hex.EncodeToString(sum[:]))
	var b strings.Builder
	for i := 0; i < len(h); i += 2 {
		if i > 0 {
			b.WriteByte(':')
		}
		b.WriteString(h[i : i+2])
	}
	return b.String()
}
