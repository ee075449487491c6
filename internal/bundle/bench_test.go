package bundle

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"sync"
	"testing"
	"time"
)

var (
	pemOnce sync.Once
	certPEM []byte
	keyPEM  []byte
)

// rsaPair is a real 2048-bit key and certificate, the size of what sits in
// a bundle's ssl.cert / ssl.key.
func rsaPair(tb testing.TB) ([]byte, []byte) {
	pemOnce.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			tb.Fatal(err)
		}
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "quay.example.com"},
			DNSNames: []string{"quay.example.com"}, NotBefore: time.Unix(0, 0), NotAfter: time.Unix(1<<31, 0)}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
		if err != nil {
			tb.Fatal(err)
		}
		certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
		keyPEM = pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)})
	})
	return certPEM, keyPEM
}

// realisticBundle: a 124-line operator-style config.yaml, a TLS pair, a
// database CA and three extra CAs.
func realisticBundle(tb testing.TB) *Bundle {
	b, err := New(readTestdata(tb, "realistic.yaml"), Limits{})
	if err != nil {
		tb.Fatal(err)
	}
	cert, key := rsaPair(tb)
	files := map[string][]byte{"ssl.cert": cert, "ssl.key": key, "database.pem": cert}
	for i := 0; i < 3; i++ {
		files[fmt.Sprintf("extra_ca_certs/ca%d.crt", i)] = cert
	}
	for n, d := range files {
		if err := b.SetFile(n, d); err != nil {
			tb.Fatal(err)
		}
	}
	return b
}

func BenchmarkWriteTarGz(b *testing.B) {
	bun := realisticBundle(b)
	var buf bytes.Buffer
	b.ReportAllocs()
	for b.Loop() {
		buf.Reset()
		if err := bun.WriteTarGz(&buf); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(buf.Len()), "bytes/tarball")
}

func BenchmarkReadTarGz(b *testing.B) {
	data, err := realisticBundle(b).TarGz()
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ReadTarGz(bytes.NewReader(data), Limits{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseDocument(b *testing.B) {
	src := readTestdata(b, "realistic.yaml")
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	for b.Loop() {
		d, err := ParseDocument(src, Limits{})
		if err != nil {
			b.Fatal(err)
		}
		_ = d.Value()
	}
}

// BenchmarkApply is a form submit: the whole value with one nested change.
func BenchmarkApply(b *testing.B) {
	base, err := ParseDocument(readTestdata(b, "realistic.yaml"), Limits{})
	if err != nil {
		b.Fatal(err)
	}
	val := DeepCopy(base.Value()).(map[string]any)
	val["BUILDLOGS_REDIS"].(map[string]any)["port"] = 6380
	val["FEATURE_MAILING"] = false
	b.ReportAllocs()
	for b.Loop() {
		d := base.Clone()
		if err := d.Apply(val); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSetScalar is one in-place scalar edit.
func BenchmarkSetScalar(b *testing.B) {
	base, err := ParseDocument(readTestdata(b, "realistic.yaml"), Limits{})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		d := base.Clone()
		if err := d.Set([]string{"SERVER_HOSTNAME"}, "other.example.com"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFromValueManyKeys guards the one-rewrite append: a JSON config
// of 2000 keys must not cost 2000 re-parses.
func BenchmarkFromValueManyKeys(b *testing.B) {
	v := map[string]any{}
	for i := 0; i < 2000; i++ {
		v[fmt.Sprintf("KEY_%04d", i)] = map[string]any{"a": i, "b": "x"}
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := FromValue(v, Limits{}); err != nil {
			b.Fatal(err)
		}
	}
}

func TestFromValueManyKeys(t *testing.T) {
	v := map[string]any{}
	for i := 0; i < 3000; i++ {
		v[fmt.Sprintf("KEY_%04d", i)] = i
	}
	b, err := FromValue(v, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if !EqualValues(b.Config().Value(), v) {
		t.Fatal("value differs")
	}
	if keys := b.Config().Keys(); len(keys) != 3000 || keys[0] != "KEY_0000" || keys[2999] != "KEY_2999" {
		t.Fatalf("keys not appended in order: %d", len(keys))
	}
}
