package validators

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"strings"
	"testing"
	"time"
)

// FuzzParsePEM feeds certificate and key files from outside to the PEM
// parsers: no panic, an error or a result, never both or neither, and an
// error never quotes the file (a broken key is still a secret).
func FuzzParsePEM(f *testing.F) {
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "fuzz"},
		DNSNames: []string{"quay.example.com"}, NotBefore: time.Unix(0, 0), NotAfter: time.Unix(1<<31, 0)}
	der, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &ec.PublicKey, ec)
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	ecDER, _ := x509.MarshalECPrivateKey(ec)
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	edDER, _ := x509.MarshalPKCS8PrivateKey(ed)
	rk, _ := rsa.GenerateKey(rand.Reader, 1024)
	f.Add(certPEM)
	f.Add(append(append([]byte("junk before\n"), certPEM...), certPEM...))
	f.Add(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: ecDER}))
	f.Add(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: edDER}))
	f.Add(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rk)}))
	f.Add(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Headers: map[string]string{"Proc-Type": "4,ENCRYPTED"}, Bytes: []byte{1, 2}}))
	f.Add(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("not der")}))
	f.Add([]byte("-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, data []byte) {
		certs, err := ParseCertPEM(data)
		if (err == nil) == (len(certs) == 0) {
			t.Fatalf("ParseCertPEM: %d certs and error %v", len(certs), err)
		}
		if err != nil {
			noQuote(t, err.Error(), data)
		}
		key, err := ParseKeyPEM(data)
		if (err == nil) == (key == nil) {
			t.Fatalf("ParseKeyPEM: key %v and error %v", key != nil, err)
		}
		if err != nil {
			noQuote(t, err.Error(), data)
			return
		}
		if key.Public() == nil {
			t.Fatal("key without a public half")
		}
		for _, c := range certs {
			_ = KeyMatches(c, key)
		}
	})
}

// noQuote fails when an error message repeats a line of the input that
// looks like PEM body (base64, long enough to be key material).
func noQuote(t *testing.T, msg string, data []byte) {
	t.Helper()
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if len(line) >= 16 && strings.Trim(line, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=") == "" &&
			strings.Contains(msg, line) {
			t.Fatalf("error %q quotes the input line %q", msg, line)
		}
	}
}
