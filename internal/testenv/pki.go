package testenv

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// PKI is the test CA and the certificates signed by it. All servers of this
// package use ServerCert*, which has SANs DNS:localhost, IP:127.0.0.1 and
// IP:::1. UntrustedCA* is a second CA that no client trusts, and
// UntrustedCert* a server certificate (same SANs) signed by it, for
// "unknown authority" failure cases.
type PKI struct {
	CAPEM         []byte
	ServerCertPEM []byte
	ServerKeyPEM  []byte // PKCS#8

	UntrustedCAPEM   []byte
	UntrustedCertPEM []byte
	UntrustedKeyPEM  []byte // PKCS#8

	Dir               string // holds the files below (removed by Shutdown)
	CAFile            string
	ServerCertFile    string
	ServerKeyFile     string
	UntrustedCAFile   string
	UntrustedCertFile string
	UntrustedKeyFile  string

	caCert *x509.Certificate
	caKey  *ecdsa.PrivateKey
}

var pki *PKI

// CA returns the process-wide test PKI, generating it (and writing its files)
// on first use. It panics if that fails (it only uses crypto and a temp dir).
func CA() *PKI {
	mu.Lock()
	defer mu.Unlock()
	if pki == nil {
		p, err := newPKI()
		if err != nil {
			panic(fmt.Sprintf("testenv: generating test PKI: %v", err))
		}
		pki = p
	}
	return pki
}

func resetPKI() {
	mu.Lock()
	p := pki
	pki = nil
	mu.Unlock()
	if p != nil {
		_ = os.RemoveAll(p.Dir)
	}
}

func newPKI() (*PKI, error) {
	caCert, caKey, caPEM, err := makeCA("config-editor test CA")
	if err != nil {
		return nil, err
	}
	certPEM, keyPEM, err := makeServerCert(caCert, caKey, "localhost")
	if err != nil {
		return nil, err
	}
	ucaCert, ucaKey, ucaPEM, err := makeCA("config-editor UNTRUSTED test CA")
	if err != nil {
		return nil, err
	}
	ucertPEM, ukeyPEM, err := makeServerCert(ucaCert, ucaKey, "localhost")
	if err != nil {
		return nil, err
	}
	sweepStale()
	dir, err := os.MkdirTemp("", "config-editor-testenv-pki-")
	if err != nil {
		return nil, err
	}
	_ = os.Chmod(dir, 0o755)
	_ = os.WriteFile(filepath.Join(dir, "owner.pid"), []byte(strconv.Itoa(os.Getpid())), 0o644)
	p := &PKI{
		CAPEM: caPEM, ServerCertPEM: certPEM, ServerKeyPEM: keyPEM,
		UntrustedCAPEM: ucaPEM, UntrustedCertPEM: ucertPEM, UntrustedKeyPEM: ukeyPEM,
		Dir:               dir,
		CAFile:            filepath.Join(dir, "ca.crt"),
		ServerCertFile:    filepath.Join(dir, "server.crt"),
		ServerKeyFile:     filepath.Join(dir, "server.key"),
		UntrustedCAFile:   filepath.Join(dir, "untrusted-ca.crt"),
		UntrustedCertFile: filepath.Join(dir, "untrusted-server.crt"),
		UntrustedKeyFile:  filepath.Join(dir, "untrusted-server.key"),
		caCert:            caCert,
		caKey:             caKey,
	}
	for path, data := range map[string][]byte{
		p.CAFile: caPEM, p.ServerCertFile: certPEM, p.ServerKeyFile: keyPEM,
		p.UntrustedCAFile: ucaPEM, p.UntrustedCertFile: ucertPEM, p.UntrustedKeyFile: ukeyPEM,
	} {
		// Keys are world-readable on purpose: test-only material that servers
		// running as other users (slapd, redis) must read.
		if err := writeFile(path, data, 0o644); err != nil {
			return nil, err
		}
	}
	return p, nil
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	return n
}

func makeCA(cn string) (*x509.Certificate, *ecdsa.PrivateKey, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: cn, Organization: []string{"config-editor tests"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(10 * 365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, nil, err
	}
	return cert, key, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), nil
}

func makeServerCert(ca *x509.Certificate, caKey *ecdsa.PrivateKey, cn string) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: cn, Organization: []string{"config-editor tests"}},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(2 * 365 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("::1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return nil, nil, err
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), nil
}

// ClientCert issues a client certificate (and PKCS#8 key) for cn, signed
// by the test CA: what a server that authenticates by certificate
// (PostgreSQL "cert") accepts for the user cn.
func (p *PKI) ClientCert(cn string) (certPEM, keyPEM []byte, err error) {
	return makeServerCert(p.caCert, p.caKey, cn)
}

// CertPool is a pool holding only the test CA.
func (p *PKI) CertPool() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(p.caCert)
	return pool
}

// ClientTLSConfig trusts only the test CA (full verification).
func (p *PKI) ClientTLSConfig() *tls.Config {
	return &tls.Config{RootCAs: p.CertPool(), MinVersion: tls.VersionTLS12}
}

// ServerTLSConfig serves the test server certificate.
func (p *PKI) ServerTLSConfig() *tls.Config {
	c, err := tls.X509KeyPair(p.ServerCertPEM, p.ServerKeyPEM)
	if err != nil {
		panic(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{c}, MinVersion: tls.VersionTLS12}
}

// UntrustedServerTLSConfig serves the certificate signed by the untrusted CA.
func (p *PKI) UntrustedServerTLSConfig() *tls.Config {
	c, err := tls.X509KeyPair(p.UntrustedCertPEM, p.UntrustedKeyPEM)
	if err != nil {
		panic(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{c}, MinVersion: tls.VersionTLS12}
}
