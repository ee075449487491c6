package validators

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"reflect"
	"sort"
	"testing"
	"time"

	"github.com/quay-tools/config-editor/internal/bundle"
)

// testPKI is a throw-away CA and helpers to issue certificates from it.
type testPKI struct {
	ca    *x509.Certificate
	caKey *ecdsa.PrivateKey
	caPEM []byte
	n     int64
}

func newTestPKI(t testing.TB, name string) *testPKI {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: testNow.AddDate(-1, 0, 0), NotAfter: testNow.AddDate(10, 0, 0),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(der)
	return &testPKI{ca: ca, caKey: key, caPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), n: 1}
}

// leaf issues a server certificate for host valid from nb to na; it
// returns the certificate and key PEM.
func (p *testPKI) leaf(t testing.TB, host string, nb, na time.Time) (certPEM, keyPEM []byte) {
	t.Helper()
	p.n++
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(p.n), Subject: pkix.Name{CommonName: host},
		DNSNames: []string{host}, NotBefore: nb, NotAfter: na,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.ca, &key.PublicKey, p.caKey)
	if err != nil {
		t.Fatal(err)
	}
	kd, _ := x509.MarshalPKCS8PrivateKey(key)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kd})
}

const tlsBase = `SERVER_HOSTNAME: quay.example.com
PREFERRED_URL_SCHEME: https
DB_URI: postgresql://quay:tls-db-pass@db.example.com:5432/quay
BUILDLOGS_REDIS: {host: redis.example.com}
USER_EVENTS_REDIS: {host: redis.example.com}
DISTRIBUTED_STORAGE_CONFIG:
  default: [S3Storage, {s3_bucket: quay, storage_path: /registry}]
DISTRIBUTED_STORAGE_PREFERENCE: [default]
DATABASE_SECRET_KEY: tls-database-secret-key
SECRET_KEY: tls-session-secret-key-01
`

// TestHostSettingsTLS: Quay's own TLS pair and the extra CAs, with
// certificates generated here.
func TestHostSettingsTLS(t *testing.T) {
	pki := newTestPKI(t, "Test Root CA")
	other := newTestPKI(t, "Unknown CA")
	year := testNow.AddDate(1, 0, 0)
	from := testNow.AddDate(0, -1, 0)
	good, goodKey := pki.leaf(t, "quay.example.com", from, year)
	_, strayKey := pki.leaf(t, "quay.example.com", from, year)
	wrongHost, wrongHostKey := pki.leaf(t, "other.example.com", from, year)
	expired, expiredKey := pki.leaf(t, "quay.example.com", testNow.AddDate(-2, 0, 0), testNow.AddDate(0, 0, -1))
	soon, soonKey := pki.leaf(t, "quay.example.com", from, testNow.AddDate(0, 0, 10))
	untrusted, untrustedKey := other.leaf(t, "quay.example.com", from, year)

	cases := []struct {
		name  string
		files map[string][]byte
		want  []string
	}{
		{"valid pair", map[string][]byte{"ssl.cert": good, "ssl.key": goodKey, "extra_ca_certs/root.crt": pki.caPEM}, nil},
		{"valid pair, flat extra CA", map[string][]byte{"ssl.cert": good, "ssl.key": goodKey, "extra_ca_cert_root.crt": pki.caPEM}, nil},
		{"mismatched key", map[string][]byte{"ssl.cert": good, "ssl.key": strayKey, "extra_ca_certs/root.crt": pki.caPEM},
			[]string{"error HostSettings ssl.key"}},
		{"wrong hostname", map[string][]byte{"ssl.cert": wrongHost, "ssl.key": wrongHostKey, "extra_ca_certs/root.crt": pki.caPEM},
			[]string{"error HostSettings ssl.cert"}},
		{"expired", map[string][]byte{"ssl.cert": expired, "ssl.key": expiredKey, "extra_ca_certs/root.crt": pki.caPEM},
			[]string{"error HostSettings ssl.cert", "error HostSettings ssl.cert"}}, // expired, and so no valid chain
		{"expiring within 30 days", map[string][]byte{"ssl.cert": soon, "ssl.key": soonKey, "extra_ca_certs/root.crt": pki.caPEM},
			[]string{"warning HostSettings ssl.cert"}},
		{"untrusted chain", map[string][]byte{"ssl.cert": untrusted, "ssl.key": untrustedKey, "extra_ca_certs/root.crt": pki.caPEM},
			[]string{"error HostSettings ssl.cert"}},
		{"cert not PEM", map[string][]byte{"ssl.cert": []byte("not a certificate\n"), "ssl.key": goodKey},
			[]string{"error HostSettings ssl.cert"}},
		{"key not PEM", map[string][]byte{"ssl.cert": good, "ssl.key": []byte("nope"), "extra_ca_certs/root.crt": pki.caPEM},
			[]string{"error HostSettings ssl.key"}},
		{"missing pair", nil, []string{"error HostSettings ssl.cert", "error HostSettings ssl.key"}},
		{"extra CA not PEM", map[string][]byte{"ssl.cert": good, "ssl.key": goodKey, "extra_ca_certs/root.crt": pki.caPEM, "extra_ca_certs/bad.crt": []byte("garbage")},
			[]string{"error CustomCertificates extra_ca_certs/bad.crt"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := mustBundle(t, tlsBase)
			for name, data := range tc.files {
				if err := b.SetFile(name, data); err != nil {
					t.Fatal(err)
				}
			}
			got := keys(validateOffline(b))
			want := append([]string{}, tc.want...)
			sort.Strings(want)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got %q\nwant %q", got, want)
				for _, p := range validateOffline(b) {
					t.Logf("  %s", p)
				}
			}
		})
	}
}

// realisticBundle is a full bundle: many groups set, a TLS pair, an extra
// CA and a database CA.
func realisticBundle(t testing.TB) *bundle.Bundle {
	pki := newTestPKI(t, "Bench Root CA")
	cert, key := pki.leaf(t, "quay.example.com", testNow.AddDate(0, -1, 0), testNow.AddDate(1, 0, 0))
	b := mustBundle(t, tlsBase+`DB_CONNECTION_ARGS: {sslmode: verify-full, sslrootcert: conf/stack/database.pem}
FEATURE_SECURITY_SCANNER: true
SECURITY_SCANNER_V4_ENDPOINT: https://clair.example.com
SECURITY_SCANNER_V4_PSK: c2VjcmV0LXBzay1mb3ItY2xhaXI=
AUTHENTICATION_TYPE: LDAP
LDAP_URI: ldaps://ldap.example.com
LDAP_ADMIN_DN: cn=admin,dc=example,dc=com
LDAP_ADMIN_PASSWD: bench-ldap-pass
LDAP_BASE_DN: [dc=example, dc=com]
LDAP_USER_FILTER: (memberOf=cn=quay,dc=example,dc=com)
FEATURE_MAILING: true
MAIL_SERVER: smtp.example.com
MAIL_USE_TLS: true
MAIL_DEFAULT_SENDER: quay@example.com
FEATURE_GITHUB_LOGIN: true
GITHUB_LOGIN_CONFIG: {GITHUB_ENDPOINT: https://github.com/, API_ENDPOINT: https://api.github.com/, CLIENT_ID: id, CLIENT_SECRET: bench-gh-secret}
SSO_LOGIN_CONFIG: {OIDC_SERVER: https://sso.example.com/, CLIENT_ID: quay, CLIENT_SECRET: bench-oidc-secret, SERVICE_NAME: SSO}
LOGS_MODEL: elasticsearch
LOGS_MODEL_CONFIG: {producer: elasticsearch, elasticsearch_config: {host: es.example.com, port: 9200, access_key: quay, secret_key: es-secret-realistic}}
FEATURE_BUILD_SUPPORT: true
BUILDMAN_HOSTNAME: quay.example.com:8443
BUILD_MANAGER: [ephemeral, {ORCHESTRATOR: {REDIS_HOST: redis.example.com}, EXECUTORS: [{EXECUTOR: kubernetes, BUILDER_NAMESPACE: builder}]}]
DATA_MODEL_CACHE_CONFIG: {engine: redis, redis_config: {primary: {host: redis.example.com}}}
FEATURE_QUOTA_MANAGEMENT: true
FEATURE_PROXY_CACHE: true
SUPER_USERS: [quayadmin]
TAG_EXPIRATION_OPTIONS: [1d, 1w, 2w]
FEATURE_AUTO_PRUNE: true
DEFAULT_NAMESPACE_AUTOPRUNE_POLICY: {method: number_of_tags, value: 20}
BRANDING: {logo: /static/logo.png}
`)
	for name, data := range map[string][]byte{"ssl.cert": cert, "ssl.key": key, "extra_ca_certs/root.crt": pki.caPEM, "database.pem": pki.caPEM} {
		if err := b.SetFile(name, data); err != nil {
			t.Fatal(err)
		}
	}
	return b
}

func TestRealisticBundleIsValid(t *testing.T) {
	if ps := validateOffline(realisticBundle(t)); len(ps) > 0 {
		for _, p := range ps {
			t.Errorf("%s", p)
		}
	}
}

func BenchmarkValidateOffline(b *testing.B) {
	bun := realisticBundle(b)
	validateOffline(bun) // compile the schema once, as a running service would
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		validateOffline(bun)
	}
}
