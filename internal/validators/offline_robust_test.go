package validators

import (
	"strings"
	"testing"

	"github.com/quay-tools/config-editor/internal/bundle"
	"github.com/quay-tools/config-editor/internal/schema"
)

// wrongValue returns a value of a type the field does not accept.
func wrongValue(f *schema.Field) any {
	accepts := map[string]bool{}
	for _, t := range f.Types {
		accepts[t] = true
	}
	switch {
	case !accepts["object"]:
		return map[string]any{"unexpected": []any{1, "two"}}
	case !accepts["string"]:
		return "not-a-mapping"
	default:
		return []any{map[string]any{"x": 1}}
	}
}

// nestedWrong replaces every member of an object schema, recursively, with
// a value of the wrong kind (a list where scalars are expected, a string
// where objects are).
func nestedWrong(spec *schema.FieldSpec, depth int) map[string]any {
	out := map[string]any{}
	if spec == nil {
		return out
	}
	for _, sub := range spec.Children {
		t := ""
		if len(sub.Types) == 1 {
			t = sub.Types[0]
		}
		if t == "object" && depth < 3 {
			inner := nestedWrong(sub, depth+1)
			if len(inner) == 0 {
				inner = map[string]any{"x": []any{[]any{}}}
			}
			out[sub.Name] = inner
			continue
		}
		if t == "string" || t == "integer" || t == "boolean" {
			out[sub.Name] = []any{[]any{1}}
		} else {
			out[sub.Name] = "wrong"
		}
	}
	return out
}

// A config with a wrong type on every key of the catalogue (and on every
// member of every object) yields problems, never a panic.
func TestWrongTypeEverywhere(t *testing.T) {
	cat := schema.Get()
	top := map[string]any{}
	nested := map[string]any{}
	for _, g := range cat.Groups() {
		for _, f := range g.Fields {
			key := f.Key
			if f.Pattern != nil {
				key = "ACME_LOGIN_CONFIG"
			}
			top[key] = wrongValue(f)
			if m := nestedWrong(cat.Spec(key), 0); len(m) > 0 {
				nested[key] = m
			}
		}
	}
	// also each field set to a boolean/on, so that feature-gated rules run
	// against the wrong-typed companions.
	for name, cfg := range map[string]map[string]any{"top": top, "nested": nested} {
		t.Run(name, func(t *testing.T) {
			for _, k := range cat.Keys() {
				if strings.HasPrefix(k, "FEATURE_") {
					cfg[k] = true
				}
			}
			for _, auth := range []string{"LDAP", "JWT", "Keystone", "OIDC", "AppToken"} {
				cfg["AUTHENTICATION_TYPE"] = auth
				cfg["LOGS_MODEL"] = "elasticsearch"
				b, err := bundle.FromValue(cfg, bundle.Limits{})
				if err != nil {
					t.Fatal(err)
				}
				_ = b.SetFile("ssl.cert", []byte{0xff, 0x00})
				ps := validateOffline(b)
				if len(ps) == 0 {
					t.Fatalf("%s: no problems for a config of wrong types", auth)
				}
				for _, p := range ps {
					if strings.Contains(p.Message, "internal error") {
						t.Errorf("%s: rule panicked: %s", auth, p)
					}
				}
			}
		})
	}
}

// No problem message may quote a secret of the config.
func TestNoSecretInMessages(t *testing.T) {
	secrets := []string{"pg-Pa55w0rd-XYZ", "redis-S3cret-ABC", "clair*psk*not-b64", "ldap-bind-SECRET-77",
		"keystone-PW-991", "oidc-client-SECRET-5", "gh-secret-0042", "smtp-PW-777", "es-secret-key-123",
		"hec-token-456", "orch-redis-PW-8", "sk", "db-secret-key-short"}
	cfg := `SERVER_HOSTNAME: "quay.example.com"
PREFERRED_URL_SCHEME: https
DB_URI: "postgres://quay:pg-Pa55w0rd-XYZ@/"
DB_CONNECTION_ARGS: {sslmode: verify-full, sslrootcert: pg-Pa55w0rd-XYZ}
BUILDLOGS_REDIS: {host: "redis://redis.example.com", password: redis-S3cret-ABC}
USER_EVENTS_REDIS: {host: "", password: redis-S3cret-ABC, port: 99999}
DISTRIBUTED_STORAGE_CONFIG:
  default: [S3Storage, {s3_bucket: quay, s3_secret_key: redis-S3cret-ABC}]
FEATURE_SECURITY_SCANNER: true
SECURITY_SCANNER_V4_PSK: "clair*psk*not-b64"
AUTHENTICATION_TYPE: LDAP
LDAP_ADMIN_PASSWD: ldap-bind-SECRET-77
KEYSTONE_ADMIN_PASSWORD: keystone-PW-991
SSO_LOGIN_CONFIG: {OIDC_SERVER: "https://", CLIENT_SECRET: oidc-client-SECRET-5}
FEATURE_GITHUB_LOGIN: true
GITHUB_LOGIN_CONFIG: {CLIENT_SECRET: gh-secret-0042, ORG_RESTRICT: true}
FEATURE_MAILING: true
MAIL_USE_AUTH: true
MAIL_PASSWORD: smtp-PW-777
MAIL_USE_TLS: false
LOGS_MODEL: splunk
LOGS_MODEL_CONFIG: {producer: splunk_hec, splunk_hec_config: {hec_token: hec-token-456}, elasticsearch_config: {secret_key: es-secret-key-123}}
FEATURE_BUILD_SUPPORT: true
BUILD_MANAGER: [ephemeral, {ORCHESTRATOR: {REDIS_PASSWORD: orch-redis-PW-8}, EXECUTORS: [{EXECUTOR: ec2, AWS_SECRET_KEY: es-secret-key-123}]}]
SECRET_KEY: sk
DATABASE_SECRET_KEY: db-secret-key-short
`
	b := mustBundle(t, cfg)
	ps := validateOffline(b)
	if len(ps) < 10 {
		t.Fatalf("expected many problems, got %d", len(ps))
	}
	for _, p := range ps {
		for _, s := range secrets {
			if len(s) > 3 && strings.Contains(p.Message, s) {
				t.Errorf("message leaks secret %q: %s", s, p)
			}
		}
	}
}
