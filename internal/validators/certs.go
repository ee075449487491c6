package validators

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/quay-tools/config-editor/internal/problem"
)

// ExpiryWarning is how close to expiry a certificate starts to warn.
const ExpiryWarning = 30 * 24 * time.Hour

// ParseCertPEM parses a PEM file that must hold at least one certificate,
// with an error that says what is wrong in terms an admin can act on.
func ParseCertPEM(data []byte) ([]*x509.Certificate, error) {
	if len(strings.TrimSpace(string(data))) == 0 {
		return nil, errors.New("the file is empty")
	}
	var certs []*x509.Certificate
	rest := data
	blocks := 0
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		blocks++
		if block.Type != "CERTIFICATE" {
			continue
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("certificate %d cannot be parsed: %v", len(certs)+1, err)
		}
		certs = append(certs, cert)
	}
	switch {
	case blocks == 0:
		return nil, errors.New("the file is not PEM (expected -----BEGIN CERTIFICATE-----)")
	case len(certs) == 0:
		return nil, errors.New("the PEM file holds no CERTIFICATE block")
	}
	return certs, nil
}

// ParseKeyPEM parses a PEM private key: PKCS#1, PKCS#8 or SEC 1 (EC).
func ParseKeyPEM(data []byte) (crypto.Signer, error) {
	rest := data
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			return nil, errors.New("the file holds no PEM private key")
		}
		if !strings.Contains(block.Type, "PRIVATE KEY") {
			continue
		}
		if strings.Contains(block.Type, "ENCRYPTED") || block.Headers["Proc-Type"] != "" {
			return nil, errors.New("the private key is encrypted; Quay needs it without a passphrase")
		}
		if k, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
			return k, nil
		}
		if k, err := x509.ParsePKCS8PrivateKey(block.Bytes); err == nil {
			if s, ok := k.(crypto.Signer); ok {
				return s, nil
			}
		}
		if k, err := x509.ParseECPrivateKey(block.Bytes); err == nil {
			return k, nil
		}
		return nil, fmt.Errorf("the %s block cannot be parsed", block.Type)
	}
}

// KeyMatches reports whether key is the private half of cert's public key.
func KeyMatches(cert *x509.Certificate, key crypto.Signer) bool {
	switch pub := cert.PublicKey.(type) {
	case *rsa.PublicKey:
		return pub.Equal(key.Public())
	case *ecdsa.PublicKey:
		return pub.Equal(key.Public())
	case ed25519.PublicKey:
		return pub.Equal(key.Public())
	}
	return false
}

// certInfo says who a certificate is for, for messages.
func certInfo(cert *x509.Certificate) string {
	names := cert.DNSNames
	for _, ip := range cert.IPAddresses {
		names = append(names, ip.String())
	}
	if len(names) == 0 && cert.Subject.CommonName != "" {
		names = []string{cert.Subject.CommonName}
	}
	return strings.Join(names, ", ")
}

// checkValidity records expiry problems of one certificate.
func (c *Context) checkValidity(l *problem.List, group string, path *problem.Path, what string, cert *x509.Certificate) {
	switch {
	case c.Now.After(cert.NotAfter):
		l.Errorf(group, path, "%s expired on %s.", what, cert.NotAfter.UTC().Format("2006-01-02"))
	case c.Now.Before(cert.NotBefore):
		l.Errorf(group, path, "%s is not valid before %s.", what, cert.NotBefore.UTC().Format("2006-01-02"))
	case cert.NotAfter.Sub(c.Now) < ExpiryWarning:
		l.Warnf(group, path, "%s expires on %s, in less than 30 days.", what, cert.NotAfter.UTC().Format("2006-01-02"))
	}
}

// verifyChain checks that leaf chains to the bundle's CAs or the system
// pool, using intermediates from the same file.
func (c *Context) verifyChain(leaf *x509.Certificate, intermediates []*x509.Certificate, extraRoots ...[]byte) error {
	inter := x509.NewCertPool()
	for _, ic := range intermediates {
		inter.AddCert(ic)
	}
	roots := c.TLSConfig("", extraRoots...).RootCAs
	_, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, CurrentTime: c.Now,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
	return err
}

// hostOnly strips a port from host[:port] (IPv6 in brackets allowed).
func hostOnly(hostport string) string {
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		return strings.Trim(h, "[]")
	}
	return strings.Trim(hostport, "[]")
}

// filePath is the problem path of a bundle file.
func filePath(name string) *problem.Path { return problem.File(name) }
