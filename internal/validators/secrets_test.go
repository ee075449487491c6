package validators

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

// The structs that hold a credential on its way to a driver (a Redis
// endpoint, the database target, an OAuth exchange, a storage argument)
// show <secret> when printed or logged whole: the value leaves them only
// through Reveal, where the driver gets it.
func TestHeldSecretsNeverPrint(t *testing.T) {
	c := newContext(mustBundle(t, `DB_URI: postgresql://quay:db-zz9q@db.example.com:5432/quay
BUILDLOGS_REDIS: {host: redis.example.com, port: 6379, password: redis-zz9q}
GITHUB_LOGIN_CONFIG: {CLIENT_ID: id, CLIENT_SECRET: oauth-zz9q}
MAIL_PASSWORD: mail-zz9q
`), Options{Catalogue: catalogue()})
	e, ok := redisFrom(groupRedis, at("BUILDLOGS_REDIS"), c.Map("BUILDLOGS_REDIS"), "host", "port", "password", "ssl")
	if !ok || e.Password.Reveal() != "redis-zz9q" {
		t.Fatalf("redisFrom: %v %q", ok, e.Password.Reveal())
	}
	db, ok := c.db().target()
	if !ok || db.Password.Reveal() != "db-zz9q" {
		t.Fatalf("db target: %v %q", ok, db.Password.Reveal())
	}
	try := oauthTry{group: groupGitHubLogin, key: "GITHUB_LOGIN_CONFIG", clientID: "id", Secret: secretIn(c.Map("GITHUB_LOGIN_CONFIG"), "CLIENT_SECRET")}
	if try.Secret.Reveal() != "oauth-zz9q" || c.Secret("MAIL_PASSWORD").Reveal() != "mail-zz9q" {
		t.Fatalf("secret accessors: %q %q", try.Secret.Reveal(), c.Secret("MAIL_PASSWORD").Reveal())
	}
	loc := StorageLocation{Name: "s3", Driver: "S3Storage", Args: map[string]any{"s3_secret_key": "s3-zz9q"}}
	held := []any{e, db, try, c.Secret("MAIL_PASSWORD"), loc.SecretArg("s3_secret_key"),
		redisServer{host: e.host, Password: e.Password}}
	var out bytes.Buffer
	for _, v := range held {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q"} {
			fmt.Fprintf(&out, verb+"\n", v)
		}
	}
	lg := slog.New(slog.NewTextHandler(&out, nil))
	for _, v := range held {
		lg.Info("probe", "held", v)
	}
	if strings.Contains(out.String(), "zz9q") {
		t.Errorf("a held secret shows:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "<secret>") {
		t.Errorf("no placeholder in:\n%s", out.String())
	}
}
