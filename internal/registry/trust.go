package registry

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/quay-tools/config-editor/internal/bundle"
)

// systemCAFiles are where Debian, Fedora/RHEL, SUSE and Alpine keep the
// system trust store as one PEM file (Go's own list for Linux).
var systemCAFiles = []string{
	"/etc/ssl/certs/ca-certificates.crt",
	"/etc/pki/tls/certs/ca-bundle.crt",
	"/etc/ssl/ca-bundle.pem",
	"/etc/pki/tls/cacert.pem",
	"/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
	"/etc/ssl/cert.pem",
}

// TrustBundleCAs makes every outbound TLS connection of this process trust
// the bundle's extra CAs (extra_ca_certs/* and extra_ca_cert_*), as Quay's
// container installs them into the system trust store before it starts: it
// writes the system roots plus those CAs to dir/ca-bundle.crt and points
// SSL_CERT_FILE at it. Go reads the system roots once, at the first TLS
// verification, so this must run before any TLS connection is made.
//
// A CA file named in AWS_CA_BUNDLE (which AWS SDKs read instead of the
// system roots) is kept in the combined file, and AWS_CA_BUNDLE points at
// it too, so every client of this process trusts the same set.
//
// It returns the file, which the runtime also hands to clients that take a
// CA file (the Redis cache). A CA file that is not PEM is an error naming it.
func TrustBundleCAs(b *bundle.Bundle, dir string) (string, error) {
	var out bytes.Buffer
	add := func(data []byte) {
		out.Write(data)
		if !bytes.HasSuffix(data, []byte("\n")) {
			out.WriteByte('\n')
		}
	}
	sys := os.Getenv("SSL_CERT_FILE")
	files := systemCAFiles
	if sys != "" {
		files = []string{sys}
	}
	for _, f := range files {
		if data, err := os.ReadFile(f); err == nil {
			add(data)
			sys = f
			break
		}
	}
	awsBundle := os.Getenv("AWS_CA_BUNDLE")
	if awsBundle != "" && awsBundle != sys {
		data, err := os.ReadFile(awsBundle)
		if err != nil {
			return "", fmt.Errorf("AWS_CA_BUNDLE: %v", err)
		}
		add(data)
	}
	cas := b.ExtraCAs()
	names := make([]string, 0, len(cas))
	for n := range cas {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		certs := 0
		rest := cas[n]
		for {
			var block *pem.Block
			block, rest = pem.Decode(rest)
			if block == nil {
				break
			}
			if block.Type != "CERTIFICATE" {
				continue
			}
			if _, err := x509.ParseCertificate(block.Bytes); err != nil {
				return "", fmt.Errorf("%s: a certificate does not parse: %v", n, err)
			}
			fmt.Fprintf(&out, "# %s\n", n)
			_ = pem.Encode(&out, block)
			certs++
		}
		if certs == 0 {
			return "", fmt.Errorf("%s holds no PEM certificate", n)
		}
	}
	path := filepath.Join(dir, "ca-bundle.crt")
	if err := os.WriteFile(path, out.Bytes(), 0o644); err != nil {
		return "", err
	}
	if err := os.Setenv("SSL_CERT_FILE", path); err != nil {
		return "", err
	}
	if awsBundle != "" {
		if err := os.Setenv("AWS_CA_BUNDLE", path); err != nil {
			return "", err
		}
	}
	return path, nil
}
