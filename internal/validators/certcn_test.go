package validators

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"strings"
	"testing"

	"github.com/quay-tools/config-editor/internal/problem"
)

// TestCertificateNamesHostOnlyInCN: a certificate that names SERVER_HOSTNAME
// only in its CN stays an error (Go clients ignore the CN), and the message
// says why instead of listing the CN as if it covered the name.
func TestCertificateNamesHostOnlyInCN(t *testing.T) {
	pki := newTestPKI(t, "Test Root CA")
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(99), Subject: pkix.Name{CommonName: "quay.example.com"},
		NotBefore: testNow.AddDate(0, -1, 0), NotAfter: testNow.AddDate(1, 0, 0),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, pki.ca, &key.PublicKey, pki.caKey)
	if err != nil {
		t.Fatal(err)
	}
	kd, _ := x509.MarshalPKCS8PrivateKey(key)
	b := mustBundle(t, tlsBase)
	for name, data := range map[string][]byte{
		"ssl.cert":                pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		"ssl.key":                 pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kd}),
		"extra_ca_certs/root.crt": pki.caPEM,
	} {
		if err := b.SetFile(name, data); err != nil {
			t.Fatal(err)
		}
	}
	ps := validateOffline(b)
	p := wantProblem(t, ps, groupHostSettings, "ssl.cert", problem.Error, "only in its Common Name", "subjectAltName DNS entry", "podman")
	if strings.Contains(p.Message, "it covers") {
		t.Errorf("message still claims the certificate covers the name: %s", p.Message)
	}
}
