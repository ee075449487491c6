package registry

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/quay-tools/config-editor/internal/bundle"
	"github.com/quay-tools/config-editor/internal/testenv"
)

func TestTrustBundleCAs(t *testing.T) {
	// restore the process's trust settings afterwards
	t.Setenv("SSL_CERT_FILE", os.Getenv("SSL_CERT_FILE"))
	t.Setenv("AWS_CA_BUNDLE", os.Getenv("AWS_CA_BUNDLE"))

	ca := testenv.CA()
	dir := t.TempDir()
	sys := filepath.Join(dir, "system.pem")
	if err := os.WriteFile(sys, ca.UntrustedCAPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	awsFile := filepath.Join(dir, "aws.pem")
	awsCA := ca.CAPEM // any PEM that differs from the system file
	if err := os.WriteFile(awsFile, awsCA, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SSL_CERT_FILE", sys)
	t.Setenv("AWS_CA_BUNDLE", awsFile)

	b, err := bundle.New([]byte("SERVER_HOSTNAME: x\n"), bundle.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	extra := ca.ServerCertPEM // a certificate (not a CA; what matters is that it is carried)
	if err := b.SetFile("extra_ca_certs/one.crt", extra); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	if err := os.Mkdir(out, 0o755); err != nil {
		t.Fatal(err)
	}
	path, err := TrustBundleCAs(b, out)
	if err != nil {
		t.Fatal(err)
	}
	if os.Getenv("SSL_CERT_FILE") != path || os.Getenv("AWS_CA_BUNDLE") != path {
		t.Errorf("env not pointed at %s: SSL_CERT_FILE=%s AWS_CA_BUNDLE=%s", path, os.Getenv("SSL_CERT_FILE"), os.Getenv("AWS_CA_BUNDLE"))
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var subjects []string
	for rest := data; ; {
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil {
			break
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		subjects = append(subjects, c.Subject.String())
	}
	if len(subjects) != 3 {
		t.Fatalf("the combined file holds %d certificates (%v), want system + AWS + extra", len(subjects), subjects)
	}
	for _, want := range [][]byte{ca.UntrustedCAPEM, ca.CAPEM} {
		if !bytes.Contains(data, bytes.TrimSpace(want)) {
			t.Error("a source certificate is missing from the combined file")
		}
	}

	// not PEM: an error that names the file
	if err := b.SetFile("extra_ca_certs/broken.crt", []byte("not a certificate")); err != nil {
		t.Fatal(err)
	}
	if _, err := TrustBundleCAs(b, out); err == nil || !strings.Contains(err.Error(), "extra_ca_certs/broken.crt") {
		t.Errorf("broken CA file: %v", err)
	}
}
