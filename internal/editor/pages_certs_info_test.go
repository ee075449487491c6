package editor

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"math/big"
	"net"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

// testChain returns a CA and a server certificate it signed (DNS and IP
// SANs), plus a self-signed server certificate naming its host only in
// the CN; each as DER.
func testChain(t *testing.T) (ca, leaf, cnOnly []byte) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Chain Test Root"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(48 * time.Hour * 365),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	ca, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(ca)
	leafKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leafTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "registry.chain.test"},
		DNSNames: []string{"registry.chain.test", "*.apps.chain.test"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(365 * 24 * time.Hour),
		BasicConstraintsValid: true,
	}
	if leaf, err = x509.CreateCertificate(rand.Reader, leafTmpl, caCert, &leafKey.PublicKey, caKey); err != nil {
		t.Fatal(err)
	}
	cnTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(3), Subject: pkix.Name{CommonName: "fakehost.com"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(365 * 24 * time.Hour),
	}
	if cnOnly, err = x509.CreateCertificate(rand.Reader, cnTmpl, cnTmpl, &leafKey.PublicKey, leafKey); err != nil {
		t.Fatal(err)
	}
	return ca, leaf, cnOnly
}

func pemOf(ders ...[]byte) []byte {
	var out []byte
	for _, d := range ders {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: d})...)
	}
	return out
}

func colonFingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	h := strings.ToUpper(hex.EncodeToString(sum[:]))
	return regexp.MustCompile(`(..)`).ReplaceAllString(h, "$1:")[:len(h)/2*3-1]
}

// Every certificate of every file gets a row with its issuer, SHA-256
// fingerprint, CA flag and the names it handles; a CN-only certificate
// says why it handles no name.
func TestCertsPageDescribesEachCertificate(t *testing.T) {
	e := newPagesEnv(t, pagesConfig)
	ca, leaf, cnOnly := testChain(t)
	if w := e.upload("/certs", "cert", "chain.pem", pemOf(leaf, ca), nil); w.Code != 303 {
		t.Fatalf("upload: %d %s", w.Code, w.Body)
	}
	if w := e.upload("/files", "file", "server.crt", pemOf(cnOnly), url.Values{"name": {"ssl.cert"}}); w.Code != 303 {
		t.Fatalf("ssl.cert: %d", w.Code)
	}
	page := e.get("/certs")
	rows := regexp.MustCompile(`(?s)<tr>\s*(?:<th scope="row".*?</th>)?\s*<td><span class="status.*?</tr>`).FindAllString(page, -1)
	if len(rows) != 3 {
		t.Fatalf("want 3 certificate rows (leaf, CA, CN-only), got %d:\n%s", len(rows), page)
	}
	for i, tc := range []struct {
		der  []byte
		want []string
	}{
		{leaf, []string{"<code>extra_ca_certs/chain.pem</code>", "2 certificates", "<td>registry.chain.test</td>", "<td>Chain Test Root</td>", "<td>no</td>", "<td>registry.chain.test, *.apps.chain.test, 127.0.0.1</td>"}},
		{ca, []string{"<td>Chain Test Root</td>", "<td>self-signed</td>", "<td>yes</td>", "none (a CA"}},
		{cnOnly, []string{"<code>ssl.cert</code>", "<td>fakehost.com</td>", "<td>self-signed</td>", "<td>no</td>", "only the Common Name fakehost.com, which Go clients"}},
	} {
		want := append(tc.want, `<code class="fp">`+colonFingerprint(tc.der)+`</code>`)
		for _, w := range want {
			if !strings.Contains(rows[i], w) {
				t.Errorf("row %d lacks %q:\n%s", i, w, rows[i])
			}
		}
	}
	// the chain file can be removed, ssl.cert is not removed from here
	if n := strings.Count(page, `action="/certs/remove"`); n != 1 {
		t.Errorf("%d remove forms, want 1 (the extra CA file)", n)
	}
}
