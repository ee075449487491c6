package registry

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/quay-tools/config-editor/internal/bundle"
	"github.com/quay-tools/config-editor/internal/problem"
	"github.com/quay-tools/config-editor/internal/testenv"
)

const baseConfig = `SERVER_HOSTNAME: registry.example.com
PREFERRED_URL_SCHEME: http
SECRET_KEY: s3cr3t-k3y-value
DB_URI: postgresql://quay:pw@127.0.0.1:1/quay
BUILDLOGS_REDIS: {host: 127.0.0.1, port: 6379}
USER_EVENTS_REDIS: {host: 127.0.0.1, port: 6379}
`

func mustBundle(t *testing.T, cfg string, files map[string][]byte) *bundle.Bundle {
	t.Helper()
	b, err := bundle.New([]byte(cfg), bundle.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	for n, d := range files {
		if err := b.SetFile(n, d); err != nil {
			t.Fatal(err)
		}
	}
	return b
}

func errorsOf(ps []problem.Problem) []problem.Problem {
	var out []problem.Problem
	for _, p := range ps {
		if p.Severity == problem.Error {
			out = append(out, p)
		}
	}
	return out
}

func TestTranslateStorageDrivers(t *testing.T) {
	cases := []struct {
		name       string
		storage    string
		wantDriver string
		want       map[string]any // expected params (subset, exact values)
		absent     []string       // params that must not be set
	}{
		{
			name:       "S3Storage on AWS",
			storage:    `[S3Storage, {s3_bucket: quay, storage_path: /datastorage/registry, s3_access_key: AK, s3_secret_key: SK, s3_region: eu-west-1}]`,
			wantDriver: DriverS3,
			want: map[string]any{"bucket": "quay", "rootdirectory": "/datastorage/registry", "accesskey": "AK", "secretkey": "SK",
				"region": "eu-west-1", "secure": true, "v4auth": true},
			absent: []string{"regionendpoint", "forcepathstyle"},
		},
		{
			name:       "S3Storage without region or keys",
			storage:    `[S3Storage, {s3_bucket: quay, storage_path: /r/}]`,
			wantDriver: DriverS3,
			want:       map[string]any{"region": "us-east-1", "rootdirectory": "/r"},
			absent:     []string{"accesskey", "secretkey", "regionendpoint"},
		},
		{
			name:       "S3Storage host and port: https, path style",
			storage:    `[S3Storage, {s3_bucket: b, storage_path: /r, host: minio.local, port: 9000, s3_access_key: a, s3_secret_key: s}]`,
			wantDriver: DriverS3,
			want:       map[string]any{"regionendpoint": "https://minio.local:9000", "secure": true, "forcepathstyle": true},
		},
		{
			name:       "S3Storage host written with http:// and a string port",
			storage:    `[S3Storage, {s3_bucket: b, storage_path: /r, host: "http://minio.local", port: "9000"}]`,
			wantDriver: DriverS3,
			want:       map[string]any{"regionendpoint": "http://minio.local:9000", "secure": false, "forcepathstyle": true},
		},
		{
			name:       "S3Storage endpoint_url wins, signature v2",
			storage:    `[S3Storage, {s3_bucket: b, storage_path: /r, endpoint_url: "http://127.0.0.1:8333", host: ignored.example, signature_version: v2}]`,
			wantDriver: DriverS3,
			want:       map[string]any{"regionendpoint": "http://127.0.0.1:8333", "secure": false, "forcepathstyle": true, "v4auth": false},
		},
		{
			name:       "RadosGW insecure",
			storage:    `[RadosGWStorage, {hostname: rgw.example, port: 7480, is_secure: false, storage_path: /quay, access_key: a, secret_key: s, bucket_name: quay}]`,
			wantDriver: DriverS3,
			want: map[string]any{"regionendpoint": "http://rgw.example:7480", "secure": false, "forcepathstyle": true,
				"bucket": "quay", "accesskey": "a", "secretkey": "s", "region": "us-east-1"},
		},
		{
			name:       "RHOCS (NooBaa) secure with a region",
			storage:    `[RHOCSStorage, {hostname: s3.openshift-storage.svc, port: 443, is_secure: true, storage_path: /q, access_key: a, secret_key: s, bucket_name: nb, region_name: local}]`,
			wantDriver: DriverS3,
			want:       map[string]any{"regionendpoint": "https://s3.openshift-storage.svc:443", "secure": true, "region": "local", "bucket": "nb"},
		},
		{
			name:       "IBM COS with is_secure as a string",
			storage:    `[IBMCloudStorage, {hostname: s3.eu.cloud-object-storage.appdomain.cloud, is_secure: "true", storage_path: /q, access_key: a, secret_key: s, bucket_name: ibm}]`,
			wantDriver: DriverS3,
			want:       map[string]any{"regionendpoint": "https://s3.eu.cloud-object-storage.appdomain.cloud", "secure": true},
		},
		{
			name:       "GCS with HMAC keys: Google's XML API",
			storage:    `[GoogleCloudStorage, {bucket_name: g, storage_path: /q, access_key: GOOG1, secret_key: gs}]`,
			wantDriver: DriverS3,
			want: map[string]any{"regionendpoint": "https://storage.googleapis.com", "secure": true, "forcepathstyle": true,
				"accesskey": "GOOG1", "bucket": "g"},
		},
		{
			name:       "GCS with an endpoint override",
			storage:    `[GoogleCloudStorage, {bucket_name: g, storage_path: /q, access_key: GOOG1, secret_key: gs, endpoint_url: "https://127.0.0.1:9443"}]`,
			wantDriver: DriverS3,
			want:       map[string]any{"regionendpoint": "https://127.0.0.1:9443"},
		},
		{
			name:       "CloudFront: the S3 bucket behind it",
			storage:    `[CloudFrontedS3Storage, {cloudfront_distribution_domain: d.cloudfront.net, cloudfront_key_id: K, cloudfront_privatekey_filename: default-cloudfront-signing-key.pem, storage_path: /q, s3_bucket: cf, s3_region: us-west-2, s3_access_key: a, s3_secret_key: s}]`,
			wantDriver: DriverS3,
			want:       map[string]any{"bucket": "cf", "region": "us-west-2"},
			absent:     []string{"regionendpoint"},
		},
		{
			name:       "Azure with a key",
			storage:    `[AzureStorage, {azure_container: c, storage_path: /quay/, azure_account_name: acct, azure_account_key: KEY}]`,
			wantDriver: DriverAzure,
			want: map[string]any{"accountname": "acct", "accountkey": "KEY", "container": "c", "rootdirectory": "quay",
				"serviceurl": "https://acct.blob.core.windows.net"},
		},
		{
			name:       "Azure with an endpoint (Azurite)",
			storage:    `[AzureStorage, {azure_container: c, storage_path: /q, azure_account_name: devstoreaccount1, azure_account_key: KEY, endpoint_url: "http://127.0.0.1:10000/devstoreaccount1/"}]`,
			wantDriver: DriverAzure,
			want:       map[string]any{"serviceurl": "http://127.0.0.1:10000/devstoreaccount1"},
		},
		{
			name:       "LocalStorage",
			storage:    `[LocalStorage, {storage_path: /datastorage/registry}]`,
			wantDriver: DriverFilesystem,
			want:       map[string]any{"rootdirectory": "/datastorage/registry"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := mustBundle(t, baseConfig+"DISTRIBUTED_STORAGE_CONFIG:\n  here: "+tc.storage+"\nDISTRIBUTED_STORAGE_PREFERENCE: [here]\n", nil)
			cfg, ps := Translate(b, Env{})
			if errs := errorsOf(ps); len(errs) > 0 {
				t.Fatalf("unexpected errors: %v", errs)
			}
			loc := cfg.Storage.Preferred()
			if loc.Name != "here" || loc.Driver != tc.wantDriver {
				t.Fatalf("location %q driver %q, want here/%s", loc.Name, loc.Driver, tc.wantDriver)
			}
			for k, v := range tc.want {
				if !reflect.DeepEqual(loc.Params[k], v) {
					t.Errorf("param %s = %#v, want %#v", k, loc.Params[k], v)
				}
			}
			for _, k := range tc.absent {
				if _, ok := loc.Params[k]; ok {
					t.Errorf("param %s set (%v), want absent", k, loc.Params[k])
				}
			}
			// Describe never shows the keys
			if d := loc.Describe(); strings.Contains(d, "SK") || strings.Contains(d, "KEY") || strings.Contains(d, "gs}") {
				t.Errorf("Describe leaks a secret: %s", d)
			}
		})
	}
}

func TestTranslateStorageErrors(t *testing.T) {
	cases := []struct {
		name     string
		storage  string
		wantPath string
		wantMsg  string
	}{
		{"Swift is refused at start-up", `[SwiftStorage, {swift_container: c, storage_path: /q, auth_url: "http://127.0.0.1:1/v3", swift_user: u, swift_password: p}]`,
			"DISTRIBUTED_STORAGE_CONFIG.here[0]", "cannot serve: distribution v3 has no Swift driver"},
		{"STS is refused", `[STSS3Storage, {s3_bucket: b, storage_path: /q, sts_role_arn: arn}]`,
			"DISTRIBUTED_STORAGE_CONFIG.here[0]", "cannot assume an STS role"},
		{"unknown driver", `[FancyStorage, {}]`, "DISTRIBUTED_STORAGE_CONFIG.here[0]", "unknown driver"},
		{"missing bucket", `[S3Storage, {storage_path: /q}]`, "DISTRIBUTED_STORAGE_CONFIG.here[1].s3_bucket", "s3_bucket is required"},
		{"port of the wrong type", `[S3Storage, {storage_path: /q, s3_bucket: b, host: h, port: [1]}]`, "DISTRIBUTED_STORAGE_CONFIG.here[1].port", "port must be a whole number, not a list"},
		{"port out of range", `[RadosGWStorage, {hostname: h, port: 70000, is_secure: true, storage_path: /q, access_key: a, secret_key: s, bucket_name: b}]`,
			"DISTRIBUTED_STORAGE_CONFIG.here[1].port", "port must be at most 65535"},
		{"is_secure missing", `[RadosGWStorage, {hostname: h, storage_path: /q, access_key: a, secret_key: s, bucket_name: b}]`,
			"DISTRIBUTED_STORAGE_CONFIG.here[1].is_secure", "is_secure is required"},
		{"is_secure not a boolean", `[RadosGWStorage, {hostname: h, is_secure: maybe, storage_path: /q, access_key: a, secret_key: s, bucket_name: b}]`,
			"DISTRIBUTED_STORAGE_CONFIG.here[1].is_secure", `is_secure must be true or false, not "maybe"`},
		{"endpoint_url not a URL", `[S3Storage, {storage_path: /q, s3_bucket: b, endpoint_url: "ftp://x"}]`,
			"DISTRIBUTED_STORAGE_CONFIG.here[1].endpoint_url", "is not an http(s) URL"},
		{"half a key pair", `[S3Storage, {storage_path: /q, s3_bucket: b, s3_access_key: AK}]`,
			"DISTRIBUTED_STORAGE_CONFIG.here[1].s3_secret_key", "s3_secret_key is required when s3_access_key is set"},
		{"Azure with only a SAS token", `[AzureStorage, {azure_container: c, storage_path: /q, azure_account_name: a, sas_token: "sv=1&sig=x"}]`,
			"DISTRIBUTED_STORAGE_CONFIG.here[0]", "not with sas_token"},
		{"LocalStorage relative path", `[LocalStorage, {storage_path: data}]`, "DISTRIBUTED_STORAGE_CONFIG.here[1].storage_path", `storage_path must start with "/"`},
		{"not a pair", `S3Storage`, "DISTRIBUTED_STORAGE_CONFIG.here", "must be a [DriverName, {arguments}] pair"},
		{"arguments not a mapping", `[S3Storage, [1, 2]]`, "DISTRIBUTED_STORAGE_CONFIG.here[1]", "must be a mapping"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := mustBundle(t, baseConfig+"DISTRIBUTED_STORAGE_CONFIG:\n  here: "+tc.storage+"\n", nil)
			_, ps := Translate(b, Env{})
			var found bool
			for _, p := range errorsOf(ps) {
				if p.Path.String() == tc.wantPath && strings.Contains(p.Message, tc.wantMsg) {
					found = true
					if p.FieldGroup != "DistributedStorage" || len(p.Tags) == 0 || p.Line == 0 {
						t.Errorf("problem lacks group, tags or line: %+v", p)
					}
				}
			}
			if !found {
				t.Fatalf("no error at %s containing %q; got %v", tc.wantPath, tc.wantMsg, ps)
			}
		})
	}
}

func TestTranslatePreference(t *testing.T) {
	const storage = `DISTRIBUTED_STORAGE_CONFIG:
  local: [LocalStorage, {storage_path: /data}]
  swift: [SwiftStorage, {swift_container: c, storage_path: /q, auth_url: "http://127.0.0.1:1", swift_user: u, swift_password: p}]
  ceph: [RadosGWStorage, {hostname: h, is_secure: true, storage_path: /q, access_key: a, secret_key: s, bucket_name: b}]
DISTRIBUTED_STORAGE_PREFERENCE: [ceph, local]
`
	b := mustBundle(t, baseConfig+storage, nil)
	cfg, ps := Translate(b, Env{})
	if errs := errorsOf(ps); len(errs) > 0 {
		t.Fatalf("a location this process does not serve must only warn: %v", errs)
	}
	if got := cfg.Storage.Preferred().Name; got != "ceph" {
		t.Errorf("preferred %q, want ceph", got)
	}
	if got := cfg.Storage.Preference; !reflect.DeepEqual(got, []string{"ceph", "local"}) {
		t.Errorf("preference %v", got)
	}
	var warned bool
	for _, p := range ps {
		if p.Path.String() == "DISTRIBUTED_STORAGE_CONFIG.swift[0]" && p.Severity == problem.Warning && strings.Contains(p.Message, "not served by this registry process") {
			warned = true
		}
	}
	if !warned {
		t.Errorf("no warning about the Swift location: %v", ps)
	}

	// the environment overrides the preference per cluster
	cfg, ps = Translate(b, Env{StoragePreference: "local ceph"})
	if errs := errorsOf(ps); len(errs) > 0 {
		t.Fatal(errs)
	}
	if got := cfg.Storage.Preferred().Name; got != "local" {
		t.Errorf("preferred %q with QUAY_DISTRIBUTED_STORAGE_PREFERENCE, want local", got)
	}
	// preferring the Swift location is an error
	_, ps = Translate(b, Env{StoragePreference: "swift"})
	if len(errorsOf(ps)) == 0 {
		t.Error("serving the Swift location must be an error")
	}
	// a name that does not exist
	_, ps = Translate(b, Env{StoragePreference: "mars"})
	if errs := errorsOf(ps); len(errs) == 0 || !strings.Contains(errs[0].Message, `"mars"`) {
		t.Errorf("unknown preferred location: %v", ps)
	}
}

func TestTranslateHostTLSSecret(t *testing.T) {
	ca := testenv.CA()
	withStorage := baseConfig + "DISTRIBUTED_STORAGE_CONFIG: {l: [LocalStorage, {storage_path: /d}]}\n"

	cfg, ps := Translate(mustBundle(t, withStorage, nil), Env{})
	if len(errorsOf(ps)) > 0 || cfg.TLS != nil || cfg.Addr != AddrHTTP || cfg.BaseURL() != "http://registry.example.com" {
		t.Fatalf("plain http: tls=%v addr=%s base=%s %v", cfg.TLS != nil, cfg.Addr, cfg.BaseURL(), ps)
	}
	if cfg.HTTPSecret == "" || strings.Contains(cfg.HTTPSecret.Reveal(), "s3cr3t") || cfg.HTTPSecret.Reveal() != DeriveHTTPSecret("s3cr3t-k3y-value") {
		t.Errorf("http secret %q not derived from SECRET_KEY", cfg.HTTPSecret)
	}
	if DeriveHTTPSecret("a") == DeriveHTTPSecret("b") {
		t.Error("different keys give the same secret")
	}

	https := strings.Replace(withStorage, "PREFERRED_URL_SCHEME: http", "PREFERRED_URL_SCHEME: https", 1)
	_, ps = Translate(mustBundle(t, https, nil), Env{})
	if errs := errorsOf(ps); len(errs) != 1 || errs[0].Path.String() != "ssl.cert" {
		t.Fatalf("https without ssl.cert: %v", ps)
	}
	cfg, ps = Translate(mustBundle(t, https, map[string][]byte{"ssl.cert": ca.ServerCertPEM, "ssl.key": ca.ServerKeyPEM}), Env{})
	if len(errorsOf(ps)) > 0 || cfg.TLS == nil || cfg.Addr != AddrHTTPS || cfg.BaseURL() != "https://registry.example.com" {
		t.Fatalf("https: tls=%v addr=%s %v", cfg.TLS != nil, cfg.Addr, ps)
	}
	_, ps = Translate(mustBundle(t, https, map[string][]byte{"ssl.cert": ca.ServerCertPEM, "ssl.key": ca.UntrustedKeyPEM}), Env{})
	if errs := errorsOf(ps); len(errs) != 1 || !strings.Contains(errs[0].Message, "cannot serve TLS") {
		t.Fatalf("mismatched pair: %v", ps)
	}
	ext := https + "EXTERNAL_TLS_TERMINATION: true\n"
	cfg, ps = Translate(mustBundle(t, ext, nil), Env{})
	if len(errorsOf(ps)) > 0 || cfg.TLS != nil || cfg.Addr != AddrHTTP || cfg.BaseURL() != "https://registry.example.com" {
		t.Fatalf("external TLS: tls=%v addr=%s %v", cfg.TLS != nil, cfg.Addr, ps)
	}

	noHost := strings.Replace(withStorage, "SERVER_HOSTNAME: registry.example.com\n", "", 1)
	_, ps = Translate(mustBundle(t, noHost, nil), Env{})
	if errs := errorsOf(ps); len(errs) != 1 || errs[0].Path.String() != "SERVER_HOSTNAME" {
		t.Fatalf("no SERVER_HOSTNAME: %v", ps)
	}
	noSecret := strings.Replace(withStorage, "SECRET_KEY: s3cr3t-k3y-value\n", "", 1)
	cfg, ps = Translate(mustBundle(t, noSecret, nil), Env{})
	if len(errorsOf(ps)) > 0 || cfg.HTTPSecret != "" || len(ps) == 0 {
		t.Fatalf("no SECRET_KEY must warn and leave the secret random: %q %v", cfg.HTTPSecret, ps)
	}
}

func TestTranslateCacheAuthDelete(t *testing.T) {
	storage := "DISTRIBUTED_STORAGE_CONFIG: {l: [LocalStorage, {storage_path: /d}]}\n"
	cfg, ps := Translate(mustBundle(t, baseConfig+storage, nil), Env{})
	if len(errorsOf(ps)) > 0 {
		t.Fatal(ps)
	}
	if cfg.Redis == nil || cfg.Redis.Key != "BUILDLOGS_REDIS" || cfg.Redis.Addr != "127.0.0.1:6379" || cfg.Redis.TLS {
		t.Errorf("redis from BUILDLOGS_REDIS: %+v", cfg.Redis)
	}
	if cfg.Delete || !cfg.Auth.Anonymous || cfg.Auth.Kind != AuthNone || cfg.RedirectDisabled {
		t.Errorf("defaults: delete=%v anonymous=%v auth=%s redirectDisabled=%v", cfg.Delete, cfg.Auth.Anonymous, cfg.Auth.Kind, cfg.RedirectDisabled)
	}

	more := baseConfig + storage + `DATA_MODEL_CACHE_CONFIG:
  engine: redis
  redis_config: {primary: {host: cache.local, port: "6380", password: pw, ssl: true, db: 3}}
SUPER_USERS: [admin]
FEATURE_ANONYMOUS_ACCESS: false
FEATURE_PROXY_STORAGE: true
`
	hash := htpasswdLine(t, "admin", "pw")
	cfg, ps = Translate(mustBundle(t, more, map[string][]byte{HtpasswdFile: []byte("# users\n" + hash + "\n")}), Env{})
	if len(errorsOf(ps)) > 0 {
		t.Fatal(ps)
	}
	want := &RedisConfig{Key: "DATA_MODEL_CACHE_CONFIG.redis_config.primary", Addr: "cache.local:6380", Password: "pw", DB: 3, TLS: true}
	if !reflect.DeepEqual(cfg.Redis, want) {
		t.Errorf("redis %+v, want %+v", cfg.Redis, want)
	}
	if !cfg.Delete || cfg.Auth.Anonymous || cfg.Auth.Kind != AuthHtpasswd || len(cfg.Auth.Htpasswd) != 1 || !cfg.RedirectDisabled {
		t.Errorf("delete=%v anonymous=%v auth=%s users=%d redirectDisabled=%v", cfg.Delete, cfg.Auth.Anonymous, cfg.Auth.Kind, len(cfg.Auth.Htpasswd), cfg.RedirectDisabled)
	}

	ldapCfg := baseConfig + storage + `AUTHENTICATION_TYPE: LDAP
LDAP_URI: ldap://127.0.0.1:1
LDAP_ADMIN_DN: cn=admin,dc=example,dc=org
LDAP_ADMIN_PASSWD: pw
LDAP_BASE_DN: [dc=example, dc=org]
LDAP_USER_RDN: [ou=users]
LDAP_SECONDARY_USER_RDNS: [ou=robots]
LDAP_USER_FILTER: (memberOf=cn=quay)
`
	cfg, ps = Translate(mustBundle(t, ldapCfg, nil), Env{})
	if len(errorsOf(ps)) > 0 {
		t.Fatal(ps)
	}
	if cfg.Auth.Kind != AuthLDAP || !reflect.DeepEqual(cfg.Auth.LDAP.Bases, []string{"ou=users,dc=example,dc=org", "ou=robots,dc=example,dc=org"}) ||
		cfg.Auth.LDAP.UIDAttr != "uid" || cfg.Auth.LDAP.UserFilter != "(memberOf=cn=quay)" {
		t.Errorf("ldap: %+v", cfg.Auth)
	}

	_, ps = Translate(mustBundle(t, baseConfig+storage+"AUTHENTICATION_TYPE: OIDC\n", nil), Env{})
	if errs := errorsOf(ps); len(errs) != 1 || errs[0].Path.String() != "AUTHENTICATION_TYPE" {
		t.Errorf("OIDC must be refused: %v", ps)
	}
}

func TestParseHtpasswd(t *testing.T) {
	good := htpasswdLine(t, "alice", "pw")
	users, errs := ParseHtpasswd([]byte("\n# c\n" + good + "\nbob:{SHA}abc=\ncarol:$apr1$x$y\nnocolon\n" + good + "\ndan:$2y$10$short\n"))
	if len(users) != 1 || users["alice"] == nil {
		t.Errorf("users %v", users)
	}
	wants := []string{"line 4 (user \"bob\"): only bcrypt", "line 5 (user \"carol\"): only bcrypt", "line 6 is not user:hash", "line 7: user \"alice\" is listed twice", "line 8 (user \"dan\"): the bcrypt hash is malformed"}
	if len(errs) != len(wants) {
		t.Fatalf("errors %q", errs)
	}
	for i, w := range wants {
		if !strings.Contains(errs[i], w) {
			t.Errorf("error %d %q lacks %q", i, errs[i], w)
		}
	}
}

func TestDistributionConfig(t *testing.T) {
	cfg, ps := Translate(mustBundle(t, baseConfig+"DISTRIBUTED_STORAGE_CONFIG: {l: [LocalStorage, {storage_path: /d}]}\nSUPER_USERS: [root]\n", nil), Env{})
	if len(errorsOf(ps)) > 0 {
		t.Fatal(ps)
	}
	dc := cfg.distributionConfig("7", "9", "/ca.pem")
	if got := dc.Storage.Type(); got != handoffDriver {
		t.Errorf("storage type %q", got)
	}
	if dc.Storage.Parameters()["instance"] != "7" || dc.Auth.Parameters()["instance"] != "9" || dc.Auth.Type() != accessControllerName {
		t.Errorf("instances: %v %v", dc.Storage.Parameters(), dc.Auth)
	}
	if dc.Storage["delete"]["enabled"] != true || dc.Storage["redirect"]["disable"] != false || dc.Storage["cache"]["blobdescriptor"] != "redis" {
		t.Errorf("storage options %v", dc.Storage)
	}
	if dc.HTTP.Host != "http://registry.example.com" || dc.HTTP.Secret != cfg.HTTPSecret.Reveal() || dc.HTTP.Secret == "" {
		t.Errorf("http %+v", dc.HTTP)
	}
	if !reflect.DeepEqual(dc.Redis.Options.Addrs, []string{"127.0.0.1:6379"}) || len(dc.Redis.TLS.RootCAs) != 0 {
		t.Errorf("redis %+v", dc.Redis)
	}
	if !reflect.DeepEqual(dc.Validation.Manifests.URLs.Allow, []string{"^https?://"}) {
		t.Errorf("validation %+v", dc.Validation)
	}
}

// A configuration distribution refuses (its NewApp panics) becomes an error
// naming the key; nothing panics out of New.
func TestNewAppPanicBecomesError(t *testing.T) {
	cfg, ps := Translate(mustBundle(t, strings.Replace(baseConfig, "registry.example.com", `"[::1"`, 1)+
		"DISTRIBUTED_STORAGE_CONFIG: {l: [LocalStorage, {storage_path: "+t.TempDir()+"}]}\n", nil), Env{})
	if len(errorsOf(ps)) > 0 {
		t.Fatal(ps)
	}
	cfg.Redis = nil
	_, err := New(context.Background(), cfg, Options{Log: testLog(t)})
	var se *StartError
	if !errors.As(err, &se) || se.Key != "SERVER_HOSTNAME" || !strings.Contains(se.Error(), "host") {
		t.Fatalf("err = %v, want a StartError on SERVER_HOSTNAME", err)
	}
}
