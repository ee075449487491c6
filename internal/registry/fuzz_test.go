package registry

import (
	"strings"
	"testing"

	"github.com/quay-tools/config-editor/internal/bundle"
	"github.com/quay-tools/config-editor/internal/problem"
)

// registry.htpasswd comes from the bundle: any bytes give users and
// errors, never a panic, and only well-formed bcrypt lines become users.
func FuzzParseHtpasswd(f *testing.F) {
	f.Add([]byte("alice:$2y$05$3JcRr0C4vQ1E8o3JH8D1F.0sS2M7mB5Jp8P2yq1dU6m1QWm5Jb3yW\n"))
	f.Add([]byte("# comment\n\nbob:{SHA}x\n:nouser\nnocolon\r\n"))
	f.Add([]byte("a:$2y$\x00\xff"))
	f.Fuzz(func(t *testing.T, data []byte) {
		users, _ := ParseHtpasswd(data)
		for u, h := range users {
			if u == "" || !strings.HasPrefix(string(h), "$2") {
				t.Fatalf("user %q with hash %q accepted", u, h)
			}
		}
	})
}

// config.yaml is outside input: any document that parses translates into
// problems or a configuration, never a panic, and every problem has a group
// and a message.
func FuzzTranslate(f *testing.F) {
	f.Add(baseConfig + "DISTRIBUTED_STORAGE_CONFIG: {l: [LocalStorage, {storage_path: /d}]}\n")
	f.Add("DISTRIBUTED_STORAGE_CONFIG: {l: [S3Storage, {port: [1], is_secure: {}}]}\nBUILDLOGS_REDIS: {host: h, port: x}\n")
	f.Add("DISTRIBUTED_STORAGE_CONFIG: {a: [RadosGWStorage, null], b: 3, c: []}\nDISTRIBUTED_STORAGE_PREFERENCE: [z, 1]\n")
	f.Add("DISTRIBUTED_STORAGE_CONFIG: {m: [MultiCDNStorage, {storage_config: {s3_bucket: [x]}}]}\nAUTHENTICATION_TYPE: LDAP\nLDAP_BASE_DN: x\n")
	f.Add("SERVER_HOSTNAME: [1]\nPREFERRED_URL_SCHEME: 7\nSUPER_USERS: {a: b}\nDATA_MODEL_CACHE_CONFIG: {engine: redis, redis_config: {primary: {host: h, db: -1}}}\n")
	f.Fuzz(func(t *testing.T, cfg string) {
		b, err := bundle.New([]byte(cfg), bundle.Limits{})
		if err != nil {
			return
		}
		c, ps := Translate(b, Env{StoragePreference: "l"})
		if c == nil {
			t.Fatal("no configuration")
		}
		for _, p := range ps {
			if p.FieldGroup == "" || p.Message == "" || (p.Severity != problem.Error && p.Severity != problem.Warning) {
				t.Fatalf("malformed problem %+v", p)
			}
		}
		if !problem.HasErrors(ps) && c.Storage.Preferred().Driver == "" {
			t.Fatalf("no error, yet no storage to serve: %v", ps)
		}
	})
}
