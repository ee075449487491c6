package schema

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestLooksSecretKey(t *testing.T) {
	for _, k := range []string{"pasword", "password", "Passwort", "LDAP_ADMIN_PASSWORD", "SECRET_KEYY", "secert", "api_token",
		"apiKey", "dbPass", "DB_PW", "adminpassword", "S3_ACCESS_KEY", "private_key", "CLIENT_SECRETS", "credentials",
		"GITHUB_TOKENS", "smtp-passwd", "PASSPHRASE"} {
		if !LooksSecretKey(k) {
			t.Errorf("%s does not look secret", k)
		}
	}
	for _, k := range []string{"SERVER_HOSTNAME", "BYPASS_CACHE", "TESTS_PASSED", "PASSTHROUGH", "KEYS", "SECONDARY",
		"TAG_EXPIRATION", "host", "port", "username", "key_id", "SECURE"} {
		if LooksSecretKey(k) {
			t.Errorf("%s looks secret", k)
		}
	}
}

// TestRedactUndeclaredKeys: values of keys the schema does not declare
// are hidden when the name looks secret, URI passwords under them are
// hidden, and everything else (declared keys, names of storage
// locations) stays visible; SecretValues and RestoreSecrets agree.
func TestRedactUndeclaredKeys(t *testing.T) {
	cat := Get()
	var cfg map[string]any
	if err := json.Unmarshal([]byte(`{
		"SERVER_HOSTNAME": "visible.example.com",
		"pasword": "MARK-pasword",
		"LDAP_ADMIN_PASSWORD": "MARK-ldap",
		"SECRET_KEYY": "MARK-keyy",
		"DB_URl": "postgresql://quay:MARK-uri@db.example.com/quay",
		"EXTRA_ENDPOINTS": ["redis://:MARK-list@redis.example.com:6379", "https://visible.example.com/x"],
		"nested": {"api_token": "MARK-token", "deeper": {"url": "amqp://u:MARK-amqp@mq/vh", "name": "visible-name"}},
		"MY_CREDENTIALS": {"user": "MARK-cred-user", "n": 123456},
		"DB_CONNECTION_ARGS": {"password": "MARK-dbargs", "sslmode": "verify-full"},
		"DISTRIBUTED_STORAGE_CONFIG": {"secret": ["LocalStorage", {"storage_path": "/visible/path"}]},
		"FEATURE_APP_SPECIFIC_TOKENS": true
	}`), &cfg); err != nil {
		t.Fatal(err)
	}
	red := cat.Redact(cfg)
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(red); err != nil {
		t.Fatal(err)
	}
	text := buf.String()
	if strings.Contains(text, "MARK") {
		t.Errorf("a secret leaks:\n%s", text)
	}
	for _, keep := range []string{"visible.example.com", "https://visible.example.com/x", "visible-name", "verify-full",
		`"secret":["LocalStorage",{"storage_path":"/visible/path"}]`, `"FEATURE_APP_SPECIFIC_TOKENS":true`,
		"postgresql://quay:<secret>@db.example.com/quay", "redis://:<secret>@redis.example.com:6379", "amqp://u:<secret>@mq/vh"} {
		if !strings.Contains(text, keep) {
			t.Errorf("%q is not shown as it should be:\n%s", keep, text)
		}
	}
	vals := strings.Join(cat.SecretValues(cfg), "\n")
	for _, m := range []string{"MARK-pasword", "MARK-ldap", "MARK-keyy", "MARK-uri", "MARK-list", "MARK-token", "MARK-amqp", "MARK-cred-user", "123456", "MARK-dbargs"} {
		if !strings.Contains(vals, m) {
			t.Errorf("SecretValues misses %s", m)
		}
	}
	restored, _ := json.Marshal(cat.RestoreSecrets(red, cfg))
	orig, _ := json.Marshal(cfg)
	if string(restored) != string(orig) {
		t.Errorf("RestoreSecrets does not undo Redact:\n%s\n%s", restored, orig)
	}
}
