package validators

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/quay-tools/config-editor/internal/bundle"
	"github.com/quay-tools/config-editor/internal/problem"
	"github.com/quay-tools/config-editor/internal/schema"
)

// testNow is the clock of every offline test, so certificate checks do not
// depend on the day the tests run.
var testNow = time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)

// loadCase reads testdata/<name> (a config.yaml or a bundle directory) and
// merges it over testdata/base.yaml: its keys replace the base's and a key
// set to null removes it.
func loadCase(t testing.TB, name string) *bundle.Bundle {
	t.Helper()
	baseSrc, err := os.ReadFile(filepath.Join("testdata", "base.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	base, err := bundle.New(baseSrc, bundle.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	c, err := bundle.Read(filepath.Join("testdata", name), bundle.Limits{})
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	merged := base.Config().Value()
	for k, v := range c.Config().Value() {
		if v == nil {
			delete(merged, k)
		} else {
			merged[k] = v
		}
	}
	b, err := bundle.FromValue(merged, bundle.Limits{})
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	for _, f := range c.FileNames() {
		data, _ := c.File(f)
		if err := b.SetFile(f, data); err != nil {
			t.Fatalf("%s: %s: %v", name, f, err)
		}
	}
	return b
}

func validateOffline(b *bundle.Bundle) []problem.Problem {
	return Validate(context.Background(), b, Options{Mode: Offline, Now: testNow})
}

// keys renders problems as "severity group path", the part tests match on.
func keys(ps []problem.Problem) []string {
	out := []string{}
	for _, p := range ps {
		out = append(out, fmt.Sprintf("%s %s %s", p.Severity, p.FieldGroup, p.Path))
	}
	sort.Strings(out)
	return out
}

// badCases pairs every testdata/*.bad* case with exactly the problems it
// must produce (severity, field group, path).
var badCases = map[string][]string{
	"database_scheme.bad.yaml": {"error Database DB_URI"},
	"database_nodb.bad.yaml": {
		"error Database DB_URI",
		"warning Database DB_CONNECTION_ARGS.threadlocals",
	},
	"database_nohost.bad.yaml": {
		"error Database DB_URI",
		"warning Database DB_CONNECTION_ARGS",
		"warning Database DB_CONNECTION_ARGS.sslrootcert",
	},
	"database_sqlite.bad.yaml": {"warning Database DB_URI"},
	"database_tls.bad": {
		"error Database DB_CONNECTION_ARGS.ssl.ca",
		"error Database DB_CONNECTION_ARGS.sslrootcert",
		"warning Database DB_CONNECTION_ARGS.ssl",
	},
	"database_clientcert.bad": {
		"error Database DB_CONNECTION_ARGS.sslcert",
		"error Database DB_CONNECTION_ARGS.sslkey",
		"warning Database DB_CONNECTION_ARGS",
	},
	"redis.bad.yaml": {
		"error Redis BUILDLOGS_REDIS.host",
		"error Redis PULL_METRICS_REDIS.host",
		"error Redis PULL_METRICS_REDIS.port", // schema: minimum 1
		"error Redis USER_EVENTS_REDIS.host",
	},
	"redis_azure.bad.yaml": {"warning Redis USER_EVENTS_REDIS.ssl"},
	"securityscanner.bad.yaml": {
		"error SecurityScanner SECURITY_SCANNER_V4_ENDPOINT",
		"error SecurityScanner SECURITY_SCANNER_V4_INDEX_MAX_LAYER_SIZE",
		"error SecurityScanner SECURITY_SCANNER_V4_PSK",
	},
	"securityscanner_url.bad.yaml": {"error SecurityScanner SECURITY_SCANNER_V4_ENDPOINT"},
	"securityscanner_off.bad.yaml": {"warning SecurityScanner FEATURE_SECURITY_NOTIFICATIONS"},
	"access_nologin.bad.yaml": {
		"error AccessSettings FEATURE_DIRECT_LOGIN",
		"error AccessSettings FEATURE_INVITE_ONLY_USER_CREATION",
		"error AccessSettings RECAPTCHA_SECRET_KEY",
		"warning AccessSettings SESSION_COOKIE_SECURE",
	},
	"access_oidc.bad.yaml": {
		"error AccessSettings AUTHENTICATION_TYPE",
		"error AccessSettings SESSION_COOKIE_SAMESITE",
		"warning AccessSettings BLACKLISTED_EMAIL_DOMAINS",
	},
	"ldap.bad.yaml": {
		"error LDAP LDAP_ADMIN_DN",
		"error LDAP LDAP_ADMIN_PASSWD",
		"error LDAP LDAP_BASE_DN[0]",
		"error LDAP LDAP_USER_FILTER",
		"warning LDAP LDAP_ALLOW_INSECURE_FALLBACK",
	},
	"ldap_cert.bad": {
		"error LDAP LDAP_BASE_DN",
		"error LDAP ldap.crt",
		"warning LDAP LDAP_URI",
	},
	"jwt.bad.yaml": {
		"error JWTAuthentication JWT_AUTH_ISSUER",
		"error JWTAuthentication JWT_QUERY_ENDPOINT", // schema pattern needs something after //
		"error JWTAuthentication JWT_VERIFY_ENDPOINT",
		"error JWTAuthentication jwt-authn.cert",
	},
	"keystone.bad.yaml": {
		"error KeystoneAuthentication KEYSTONE_ADMIN_PASSWORD",
		"error KeystoneAuthentication KEYSTONE_ADMIN_TENANT",
		"warning KeystoneAuthentication KEYSTONE_AUTH_URL",
	},
	"apptoken.bad.yaml": {
		"error AppTokenAuthentication FEATURE_APP_SPECIFIC_TOKENS",
		"error AppTokenAuthentication FEATURE_DIRECT_LOGIN",
	},
	"oidc.bad.yaml": {
		"error OIDC AZURE_LOGIN_CONFIG.OIDC_SERVER",
		"error OIDC KEYCLOAK_LOGIN_CONFIG.CLIENT_SECRET",
		"error OIDC KEYCLOAK_LOGIN_CONFIG.OIDC_SERVER",
		"error OIDC KEYCLOAK_LOGIN_CONFIG.SERVICE_NAME",
		"warning OIDC KEYCLOAK_LOGIN_CONFIG.LOGIN_SCOPES",
	},
	"githublogin.bad.yaml": {
		"error GitHubLogin GITHUB_LOGIN_CONFIG.ALLOWED_ORGANIZATIONS",
		"error GitHubLogin GITHUB_LOGIN_CONFIG.API_ENDPOINT",
		"error GitHubLogin GITHUB_LOGIN_CONFIG.CLIENT_SECRET",
	},
	"githubtrigger.bad.yaml": {
		"warning GitHubBuildTrigger FEATURE_GITHUB_BUILD",
		"warning GitHubBuildTrigger GITHUB_TRIGGER_CONFIG.CLIENT_ID",
	},
	"google.bad.yaml": {"error GoogleLogin GOOGLE_LOGIN_CONFIG"},
	"gitlab.bad.yaml": {
		// FEATURE_BUILD_SUPPORT is off, so Quay ignores the whole block: the
		// missing CLIENT_ID and the GITLAB_ENDPOINT that breaks its pattern
		"warning GitLabBuildTrigger FEATURE_GITLAB_BUILD",
	},
	"bitbucket.bad.yaml": {"error BitbucketBuildTrigger BITBUCKET_TRIGGER_CONFIG.CONSUMER_SECRET"},
	"email.bad.yaml": {
		"error Email MAIL_DEFAULT_SENDER",
		"error Email MAIL_PASSWORD",
		"error Email MAIL_SERVER",
		"error Email MAIL_USE_TLS",
	},
	"email_noserver.bad.yaml": {
		"error Email MAIL_SERVER",
		"warning Email MAIL_DEFAULT_SENDER",
	},
	"actionlogs.bad.yaml": {
		"error ElasticSearch LOGS_MODEL_CONFIG.elasticsearch_config.host",
		// LOGS_MODEL elasticsearch: Quay's start-up validation requires port, access_key and secret_key
		"error ElasticSearch LOGS_MODEL_CONFIG.elasticsearch_config.port",
		"error ElasticSearch LOGS_MODEL_CONFIG.elasticsearch_config.secret_key",
		"error ElasticSearch LOGS_MODEL_CONFIG.kinesis_stream_config.stream_name",
	},
	"actionlogs_mismatch.bad.yaml": {"error ElasticSearch LOGS_MODEL_CONFIG.producer"},
	"actionlogs_missing.bad.yaml":  {"error ElasticSearch LOGS_MODEL_CONFIG"},
	"actionlogs_splunk.bad.yaml": {
		"error ElasticSearch LOGS_MODEL_CONFIG.splunk_config.bearer_token",
		"error ElasticSearch LOGS_MODEL_CONFIG.splunk_config.index_prefix",
		"error ElasticSearch LOGS_MODEL_CONFIG.splunk_config.ssl_ca_path",
	},
	"actionlogs_ignored.bad.yaml": {"warning ElasticSearch LOGS_MODEL_CONFIG"},
	"logarchive.bad.yaml": {
		"error ActionLogArchiving ACTION_LOG_ARCHIVE_LOCATION", // storage rules: no such location
		"error ActionLogArchiving ACTION_LOG_ARCHIVE_PATH",
	},
	"timemachine.bad.yaml":         {"error TimeMachine DEFAULT_TAG_EXPIRATION"},
	"timemachine_default.bad.yaml": {"error TimeMachine TAG_EXPIRATION_OPTIONS"},
	"repomirror.bad.yaml": {
		"error RepoMirror REPO_MIRROR_SERVER_HOSTNAME",
		"warning RepoMirror REPO_MIRROR_TLS_VERIFY",
	},
	"teamsync.bad.yaml":     {"warning TeamSyncing FEATURE_TEAM_SYNCING"},
	"teamsync_off.bad.yaml": {"warning TeamSyncing FEATURE_NONSUPERUSER_TEAM_SYNCING_SETUP"},
	"uservisible.bad.yaml": {
		"error UserVisibleSettings BRANDING.logo",
		"error UserVisibleSettings ENTERPRISE_LOGO_URL",
		"warning UserVisibleSettings BRANDING.footer_url",
		"warning UserVisibleSettings REGISTRY_TITLE_SHORT",
	},
	"documentation.bad.yaml": {"warning QuayDocumentation DOCUMENTATION_ROOT"},
	"buildmanager.bad.yaml": {
		"error BuildManager BUILD_MANAGER[1].EXECUTORS[0].EXECUTOR",
		"error BuildManager BUILD_MANAGER[1].EXECUTORS[1]",
		"error BuildManager BUILD_MANAGER[1].EXECUTORS[1].COREOS_AMI",
		"error BuildManager BUILD_MANAGER[1].EXECUTORS[1].EC2_INSTANCE_TYPE",
		"error BuildManager BUILD_MANAGER[1].EXECUTORS[1].EC2_REGION",
		"error BuildManager BUILD_MANAGER[1].ORCHESTRATOR.REDIS_HOST",
		"warning BuildManager BUILDMAN_HOSTNAME",
	},
	"buildmanager_empty.bad.yaml": {
		"error BuildManager BUILD_MANAGER[1].EXECUTORS",
		"error BuildManager BUILD_MANAGER[1].ORCHESTRATOR",
	},
	"buildmanager_unset.bad.yaml": {"warning BuildManager BUILD_MANAGER"},
	"autoprune.bad.yaml":          {"error AutoPrune DEFAULT_NAMESPACE_AUTOPRUNE_POLICY.value"},
	"autoprune_off.bad.yaml": {
		// FEATURE_AUTO_PRUNE is off: Quay ignores the policy, only its uselessness is worth a word
		"warning AutoPrune DEFAULT_NAMESPACE_AUTOPRUNE_POLICY",
	},
	"modelcache.bad.yaml":          {"error ModelCache DATA_MODEL_CACHE_CONFIG.endpoint"},
	"modelcache_redis.bad.yaml":    {"error ModelCache DATA_MODEL_CACHE_CONFIG.redis_config.primary"},
	"modelcache_noengine.bad.yaml": {"error ModelCache DATA_MODEL_CACHE_CONFIG.engine"},
	"quota.bad.yaml": {
		"warning Quota DEFAULT_SYSTEM_REJECT_QUOTA_BYTES", // FEATURE_EDIT_QUOTA: true is its default: no warning
	},
	"securitykeys.bad.yaml": {
		"warning SecurityKeys DATABASE_SECRET_KEY",
		"warning SecurityKeys SECRET_KEY",
	},
	"superusers.bad.yaml": {
		"error Superusers SUPER_USERS[1]",
		"warning Superusers GLOBAL_READONLY_SUPER_USERS[0]",
		"warning Superusers SUPER_USERS",
	},
	"superusers_empty.bad.yaml": {
		"warning Superusers FEATURE_SUPERUSERS_FULL_ACCESS",
		"warning Superusers RESTRICTED_USERS_WHITELIST",
	},
	"registryprotocol.bad.yaml": {
		"error RegistryProtocol ALLOWED_OCI_ARTIFACT_TYPES.helm",
		"error RegistryProtocol ALLOWED_OCI_ARTIFACT_TYPES.helm[0]",
		"warning RegistryProtocol ALLOWED_OCI_ARTIFACT_TYPES", // FEATURE_HELM_OCI_SUPPORT: true is its default: no warning
	},
	"misc.bad.yaml": {
		"error Miscellaneous CORS_ORIGIN[0]",
		"error Miscellaneous EXPORT_COMPLIANCE_ENDPOINT",
		"error Miscellaneous GPG2_PRIVATE_KEY_FILENAME",
		"error Miscellaneous GPG2_PRIVATE_KEY_NAME",
		"error Miscellaneous GPG2_PUBLIC_KEY_FILENAME",
		"error Miscellaneous TUF_SERVER",
		"warning Miscellaneous DEBUG",
	},
}

func testdataCases(t *testing.T, kind string) []string {
	t.Helper()
	var out []string
	for _, pat := range []string{"*." + kind + ".yaml", "*." + kind} {
		m, err := filepath.Glob(filepath.Join("testdata", pat))
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range m {
			out = append(out, filepath.Base(p))
		}
	}
	sort.Strings(out)
	if len(out) == 0 {
		t.Fatalf("no %s cases in testdata", kind)
	}
	return out
}

func TestGoodTestdata(t *testing.T) {
	for _, name := range testdataCases(t, "good") {
		t.Run(name, func(t *testing.T) {
			if ps := validateOffline(loadCase(t, name)); len(ps) > 0 {
				for _, p := range ps {
					t.Errorf("%s", p)
				}
			}
		})
	}
}

func TestBadTestdata(t *testing.T) {
	files := testdataCases(t, "bad")
	for _, name := range files {
		if _, ok := badCases[name]; !ok {
			t.Errorf("testdata/%s has no entry in badCases", name)
		}
	}
	for name, want := range badCases {
		t.Run(name, func(t *testing.T) {
			if _, err := os.Stat(filepath.Join("testdata", name)); err != nil {
				t.Fatalf("badCases names a missing file: %v", err)
			}
			ps := validateOffline(loadCase(t, name))
			got := keys(ps)
			w := append([]string(nil), want...)
			sort.Strings(w)
			if !reflect.DeepEqual(got, w) {
				t.Errorf("problems differ\n got: %q\nwant: %q", got, w)
				for _, p := range ps {
					t.Logf("  %s", p)
				}
			}
			for _, p := range ps {
				if !strings.HasSuffix(p.Message, ".") || len(p.Message) < 20 {
					t.Errorf("message is not a full sentence: %q", p.Message)
				}
				if len(p.Tags) == 0 {
					t.Errorf("problem without tags: %s", p)
				}
			}
		})
	}
}

// Every field group of the catalogue must have a Check, so that no group
// goes silently unchecked; and every Check must name a catalogue group.
func TestEveryGroupHasACheck(t *testing.T) {
	cat := newContext(mustBundle(t, "SERVER_HOSTNAME: quay.example.com\n"), Options{Catalogue: catalogue()}).Cat
	have := map[string]int{}
	for _, chk := range allChecks() {
		have[chk.Group]++
		if chk.Offline == nil {
			t.Errorf("check %s has no offline rules", chk.Group)
		}
		if chk.Group != "CustomCertificates" && cat.Group(chk.Group) == nil {
			t.Errorf("check %s names no catalogue group", chk.Group)
		}
	}
	for _, g := range cat.Groups() {
		switch have[g.Name] {
		case 0:
			t.Errorf("field group %s has no Check in allChecks", g.Name)
		case 1:
		default:
			t.Errorf("field group %s has %d Checks", g.Name, have[g.Name])
		}
	}
	// groups that talk to a network service must say what their online
	// proof is, so online mode can report it honestly.
	network := []string{"Database", "Redis", "DistributedStorage", "SecurityScanner", "LDAP", "JWTAuthentication",
		"KeystoneAuthentication", "OIDC", "GitHubLogin", "GitHubBuildTrigger", "GoogleLogin", "GitLabBuildTrigger",
		"BitbucketBuildTrigger", "Email", "ElasticSearch", "BuildManager", "ModelCache"}
	for _, g := range network {
		for _, chk := range allChecks() {
			if chk.Group == g && chk.Probes == nil && chk.OnlineProof == "" {
				t.Errorf("network group %s has neither probes nor OnlineProof", g)
			}
		}
	}
}

func catalogue() *schema.Catalogue { return schema.Get() }

func mustBundle(t testing.TB, yaml string) *bundle.Bundle {
	t.Helper()
	b, err := bundle.New([]byte(yaml), bundle.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	return b
}
