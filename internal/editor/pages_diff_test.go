package editor

import (
	"strings"
	"testing"

	"github.com/quay-tools/config-editor/internal/bundle"
	"github.com/quay-tools/config-editor/internal/schema"
)

// TestDiffMasksOnlyTheSecretValue: a line holding a secret shows its other
// keys and values; only the secret value becomes the placeholder (a flow
// map used to be cut after its first key: "- {host: <secret>").
func TestDiffMasksOnlyTheSecretValue(t *testing.T) {
	const base = "SERVER_HOSTNAME: quay.example.com\n" +
		"DISTRIBUTED_STORAGE_CONFIG:\n" +
		"  us:\n" +
		"  - S3Storage\n" +
		"  - {host: 'hé€.example.com', s3_access_key: AKIAEXAMPLE, s3_secret_key: \"s3-pa\\\"ss\", s3_bucket: quay-us}\n" +
		"SECRET_KEY: 'sk-s3cr3t-value' # rotated 2024\n" +
		"LDAP_ADMIN_PASSWD: >-\n  folded-secret-text\n"
	work := strings.Replace(base, "s3_bucket: quay-us", "s3_bucket: quay-eu", 1)
	read := func(text string) *bundle.Bundle {
		b, err := bundle.New([]byte(text), bundle.Limits{})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	hs, _ := configDiff(schema.Get(), read(base), read(work))
	var got []string
	for _, h := range hs {
		for _, l := range h.Lines {
			got = append(got, string(l.Op)+l.Text)
		}
	}
	text := strings.Join(got, "\n")
	for _, want := range []string{
		" SECRET_KEY: <secret> # rotated 2024",
		"   <secret>",
		`-  - {host: 'hé€.example.com', s3_access_key: AKIAEXAMPLE, s3_secret_key: <secret>, s3_bucket: quay-us}`,
		`+  - {host: 'hé€.example.com', s3_access_key: AKIAEXAMPLE, s3_secret_key: <secret>, s3_bucket: quay-eu}`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("diff lacks %q:\n%s", want, text)
		}
	}
	for _, secret := range []string{"s3cr3t", "s3-pa", "folded-secret"} {
		if strings.Contains(text, secret) {
			t.Errorf("diff shows the secret %q:\n%s", secret, text)
		}
	}
}
