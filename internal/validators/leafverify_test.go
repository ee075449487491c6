package validators

import (
	"crypto/x509"
	"encoding/pem"
	"testing"
)

// TestLeafVerifyErrorMatchesVerify: whenever leafVerifyError answers
// without the roots, the full verification with any pool gives that very
// error; it answers nil when the verdict depends on the roots. This is
// what lets the PostgreSQL probe skip parsing the system's CA certificates
// for a certificate that fails on its own.
func TestLeafVerifyErrorMatchesVerify(t *testing.T) {
	pki := newTestPKI(t, "leafverify CA")
	parse := func(certPEM []byte) *x509.Certificate {
		t.Helper()
		blk, _ := pem.Decode(certPEM)
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	good, _ := pki.leaf(t, "db.example.com", testNow.AddDate(0, -1, 0), testNow.AddDate(1, 0, 0))
	expired, _ := pki.leaf(t, "db.example.com", testNow.AddDate(-2, 0, 0), testNow.AddDate(-1, 0, 0))
	trusted := x509.NewCertPool()
	trusted.AddCert(pki.ca)
	other := x509.NewCertPool()
	other.AddCert(newTestPKI(t, "another CA").ca)
	pools := map[string]*x509.CertPool{"trusted": trusted, "empty": x509.NewCertPool(), "another CA's": other}
	cases := []struct {
		name     string
		leaf     *x509.Certificate
		host     string
		decided  bool // leafVerifyError answers without roots
		verifies bool // with the trusted pool
	}{
		{"valid, right host", parse(good), "db.example.com", false, true},
		{"valid, no host asked", parse(good), "", false, true},
		{"valid, wrong host", parse(good), "127.0.0.1", true, false},
		{"valid, other name", parse(good), "other.example.com", true, false},
		{"expired, right host", parse(expired), "db.example.com", true, false},
		{"expired, wrong host", parse(expired), "127.0.0.1", true, false},
		{"the CA itself, wrong host", pki.ca, "db.example.com", true, false},
	}
	for _, tc := range cases {
		opts := x509.VerifyOptions{DNSName: tc.host, CurrentTime: testNow, Intermediates: x509.NewCertPool()}
		early := leafVerifyError(tc.leaf, opts)
		if (early != nil) != tc.decided {
			t.Errorf("%s: leafVerifyError = %v, want decided=%v", tc.name, early, tc.decided)
		}
		for pname, pool := range pools {
			o := opts
			o.Roots = pool
			_, err := tc.leaf.Verify(o)
			if early != nil && (err == nil || err.Error() != early.Error()) {
				t.Errorf("%s, %s pool: Verify = %v, leafVerifyError = %v", tc.name, pname, err, early)
			}
			if pname == "trusted" && (err == nil) != tc.verifies {
				t.Errorf("%s: Verify with the trusted pool = %v, want success=%v", tc.name, err, tc.verifies)
			}
		}
	}
}
