package validators

import (
	"strings"
	"testing"

	"github.com/quay-tools/config-editor/internal/bundle"
)

// overBase merges a config.yaml snippet over testdata/base.yaml the way
// loadCase merges a case file: its keys replace the base's, null removes.
func overBase(t testing.TB, snippet string) *bundle.Bundle {
	t.Helper()
	b := loadCase(t, "base.yaml")
	over := mustBundle(t, snippet).Config().Value()
	merged := b.Config().Value()
	for k, v := range over {
		if v == nil {
			delete(merged, k)
		} else {
			merged[k] = v
		}
	}
	nb, err := bundle.FromValue(merged, bundle.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	return nb
}

// TestQuayStartupParity holds the verdicts that follow Quay's own start-up
// validation (quay/quay config-tool/pkg/lib/fieldgroups/<group>/<group>_validator.go):
// each rule Quay applies has a case that triggers it and, where Quay guards it
// by a feature flag, a case with the flag off that must produce nothing.
// want lists every problem of the case's groups as "severity group path".
func TestQuayStartupParity(t *testing.T) {
	cases := []struct {
		name   string
		config string
		groups []string
		want   []string
	}{
		{"repomirror off ignores hostname", "FEATURE_REPO_MIRROR: false\nREPO_MIRROR_SERVER_HOSTNAME: -mirror-.example.com", []string{"RepoMirror"}, nil},
		{"repomirror on checks hostname", "FEATURE_REPO_MIRROR: true\nREPO_MIRROR_SERVER_HOSTNAME: -mirror-.example.com", []string{"RepoMirror"}, []string{"error RepoMirror REPO_MIRROR_SERVER_HOSTNAME"}},
		// securityscanner_validator.go returns early when FEATURE_SECURITY_SCANNER is off; Quay then installs a no-op scanner
		{"secscan off ignores psk and layer size", "FEATURE_SECURITY_SCANNER: false\nSECURITY_SCANNER_V4_PSK: 'not base64!'\nSECURITY_SCANNER_V4_INDEX_MAX_LAYER_SIZE: lots", []string{"SecurityScanner"}, nil},
		{"secscan on checks psk and layer size", "FEATURE_SECURITY_SCANNER: true\nSECURITY_SCANNER_V4_ENDPOINT: http://clair.example.com:8080\nSECURITY_SCANNER_V4_PSK: 'not base64!'\nSECURITY_SCANNER_V4_INDEX_MAX_LAYER_SIZE: lots", []string{"SecurityScanner"},
			[]string{"error SecurityScanner SECURITY_SCANNER_V4_INDEX_MAX_LAYER_SIZE", "error SecurityScanner SECURITY_SCANNER_V4_PSK"}},
		// {github,gitlab,bitbucket}buildtrigger_validator.go return early unless FEATURE_BUILD_SUPPORT and the trigger feature are both on
		{"gitlab trigger without build support", "FEATURE_BUILD_SUPPORT: false\nFEATURE_GITLAB_BUILD: true", []string{"GitLabBuildTrigger"}, []string{"warning GitLabBuildTrigger FEATURE_GITLAB_BUILD"}},
		{"gitlab trigger config missing", "FEATURE_BUILD_SUPPORT: true\nFEATURE_GITLAB_BUILD: true", []string{"GitLabBuildTrigger"}, []string{"error GitLabBuildTrigger GITLAB_TRIGGER_CONFIG"}},
		{"gitlab endpoint empty", "FEATURE_BUILD_SUPPORT: true\nFEATURE_GITLAB_BUILD: true\nGITLAB_TRIGGER_CONFIG: {CLIENT_ID: app, CLIENT_SECRET: s3cret-gl, GITLAB_ENDPOINT: ''}", []string{"GitLabBuildTrigger"},
			[]string{"error GitLabBuildTrigger GITLAB_TRIGGER_CONFIG.GITLAB_ENDPOINT"}},
		{"gitlab endpoint absent defaults to gitlab.com", "FEATURE_BUILD_SUPPORT: true\nFEATURE_GITLAB_BUILD: true\nGITLAB_TRIGGER_CONFIG: {CLIENT_ID: app, CLIENT_SECRET: s3cret-gl}", []string{"GitLabBuildTrigger"}, nil},
		{"github trigger without build support", "FEATURE_BUILD_SUPPORT: false\nFEATURE_GITHUB_BUILD: true", []string{"GitHubBuildTrigger"}, []string{"warning GitHubBuildTrigger FEATURE_GITHUB_BUILD"}},
		{"github trigger config missing", "FEATURE_BUILD_SUPPORT: true\nFEATURE_GITHUB_BUILD: true", []string{"GitHubBuildTrigger"}, []string{"error GitHubBuildTrigger GITHUB_TRIGGER_CONFIG"}},
		{"bitbucket trigger without build support", "FEATURE_BUILD_SUPPORT: false\nFEATURE_BITBUCKET_BUILD: true", []string{"BitbucketBuildTrigger"}, []string{"warning BitbucketBuildTrigger FEATURE_BITBUCKET_BUILD"}},
		{"bitbucket trigger config missing", "FEATURE_BUILD_SUPPORT: true\nFEATURE_BITBUCKET_BUILD: true", []string{"BitbucketBuildTrigger"}, []string{"error BitbucketBuildTrigger BITBUCKET_TRIGGER_CONFIG"}},
		// actionlogarchiving_validator.go returns early when FEATURE_ACTION_LOG_ROTATION is off
		{"log rotation off ignores archive location", "FEATURE_ACTION_LOG_ROTATION: false\nACTION_LOG_ARCHIVE_LOCATION: nowhere", []string{"ActionLogArchiving", "DistributedStorage"}, nil},
		{"log rotation on checks archive location", "FEATURE_ACTION_LOG_ROTATION: true\nACTION_LOG_ARCHIVE_LOCATION: nowhere\nACTION_LOG_ARCHIVE_PATH: archive/", []string{"ActionLogArchiving", "DistributedStorage"},
			[]string{"error ActionLogArchiving ACTION_LOG_ARCHIVE_LOCATION"}},
		// autoprune_validator.go returns early when FEATURE_AUTO_PRUNE is off
		{"autoprune off ignores policy", "FEATURE_AUTO_PRUNE: false\nDEFAULT_NAMESPACE_AUTOPRUNE_POLICY: {method: number_of_tags}", []string{"AutoPrune"}, []string{"warning AutoPrune DEFAULT_NAMESPACE_AUTOPRUNE_POLICY"}},
		{"autoprune on checks policy", "FEATURE_AUTO_PRUNE: true\nDEFAULT_NAMESPACE_AUTOPRUNE_POLICY: {method: number_of_tags}", []string{"AutoPrune"}, []string{"error AutoPrune DEFAULT_NAMESPACE_AUTOPRUNE_POLICY.value"}},
		{"elasticsearch off ignores config", "LOGS_MODEL: database\nLOGS_MODEL_CONFIG: {producer: elasticsearch, elasticsearch_config: {host: es.example.com}}", []string{"ElasticSearch"}, []string{"warning ElasticSearch LOGS_MODEL_CONFIG"}},
		// cache_validator.go: TTLs follow ^[0-9]+(w|m|d|h|s)$, value_size_limit ^[0-9]+MiB$
		{"model cache ttl and size", "DATA_MODEL_CACHE_CONFIG: {engine: inmemory, repository_blob_cache_ttl: 5 minutes, active_repo_tags_cache_ttl: 1x, catalog_page_cache_ttl: 60, value_size_limit: 1GB}", []string{"ModelCache"},
			[]string{"error ModelCache DATA_MODEL_CACHE_CONFIG.active_repo_tags_cache_ttl", "error ModelCache DATA_MODEL_CACHE_CONFIG.catalog_page_cache_ttl", "error ModelCache DATA_MODEL_CACHE_CONFIG.repository_blob_cache_ttl", "error ModelCache DATA_MODEL_CACHE_CONFIG.value_size_limit"}},
		// accesssettings_validator.go: SESSION_TIMEOUT follows ^[0-9]+(w|m|d|h|s)$
		{"session timeout", "SESSION_TIMEOUT: 2 hours", []string{"AccessSettings"}, []string{"error AccessSettings SESSION_TIMEOUT"}},
		// accesssettings_validator.go: FRESH_LOGIN_TIMEOUT and USER_RECOVERY_TOKEN_LIFETIME follow the same pattern
		{"fresh login and recovery token", "FRESH_LOGIN_TIMEOUT: 10 minutes\nUSER_RECOVERY_TOKEN_LIFETIME: 30 minutes", []string{"AccessSettings"},
			[]string{"error AccessSettings FRESH_LOGIN_TIMEOUT", "error AccessSettings USER_RECOVERY_TOKEN_LIFETIME"}},
		// accesssettings_validator.go: invite-only user creation needs user creation
		{"invite only without user creation", "FEATURE_USER_CREATION: false\nFEATURE_INVITE_ONLY_USER_CREATION: true", []string{"AccessSettings"},
			[]string{"error AccessSettings FEATURE_INVITE_ONLY_USER_CREATION"}},
		// elasticsearch_validator.go: with LOGS_MODEL elasticsearch, host, port, access_key and secret_key are all required
		{"elasticsearch port required", "LOGS_MODEL: elasticsearch\nLOGS_MODEL_CONFIG: {producer: elasticsearch, elasticsearch_config: {host: es.example.com, access_key: quay, secret_key: s3cret-es}}", []string{"ElasticSearch"},
			[]string{"error ElasticSearch LOGS_MODEL_CONFIG.elasticsearch_config.port"}},
		{"elasticsearch keys required", "LOGS_MODEL: elasticsearch\nLOGS_MODEL_CONFIG: {producer: elasticsearch, elasticsearch_config: {host: es.example.com, port: 9200}}", []string{"ElasticSearch"},
			[]string{"error ElasticSearch LOGS_MODEL_CONFIG.elasticsearch_config.access_key", "error ElasticSearch LOGS_MODEL_CONFIG.elasticsearch_config.secret_key"}},
		// ...the same keys for the kafka producer, whose logs Quay reads back from Elasticsearch
		{"elasticsearch keys required with kafka", "LOGS_MODEL: elasticsearch\nLOGS_MODEL_CONFIG: {producer: kafka, kafka_config: {bootstrap_servers: ['kafka.example.com:9092'], topic: logs}, elasticsearch_config: {host: es.example.com, port: 9200, access_key: quay}}", []string{"ElasticSearch"},
			[]string{"error ElasticSearch LOGS_MODEL_CONFIG.elasticsearch_config.secret_key"}},
		// ...but only for LOGS_MODEL elasticsearch: the transition model is not checked by Quay's start-up (port defaults, no keys is anonymous)
		{"transition model without port or keys", "LOGS_MODEL: transition_reads_both_writes_es\nLOGS_MODEL_CONFIG: {producer: elasticsearch, elasticsearch_config: {host: es.example.com}}", []string{"ElasticSearch"}, nil},
		// ldap_validator.go: LDAP_ADMIN_DN and LDAP_ADMIN_PASSWD are required with AUTHENTICATION_TYPE LDAP, and only then
		{"ldap admin required", "AUTHENTICATION_TYPE: LDAP\nLDAP_URI: 'ldap://ldap.example.com'\nLDAP_BASE_DN: [dc=example]\nLDAP_UID_ATTR: uid\nLDAP_EMAIL_ATTR: mail", []string{"LDAP"},
			[]string{"error LDAP LDAP_ADMIN_DN", "error LDAP LDAP_ADMIN_PASSWD"}},
		{"ldap keys ignored for database auth", "AUTHENTICATION_TYPE: Database\nLDAP_URI: 'http://ldap.example.com'\nLDAP_TIMEOUT: -3", []string{"LDAP"}, nil},
		// jwtauthentication_validator.go: JWT_VERIFY_ENDPOINT and JWT_AUTH_ISSUER are required
		{"jwt issuer and verify endpoint", "AUTHENTICATION_TYPE: JWT\nJWT_GETUSER_ENDPOINT: 'https://jwt.example.com/u'", []string{"JWTAuthentication"},
			[]string{"error JWTAuthentication JWT_AUTH_ISSUER", "error JWTAuthentication JWT_VERIFY_ENDPOINT", "error JWTAuthentication jwt-authn.cert"}},
		// apptokenauthentication_validator.go: AppToken needs app-specific tokens and no direct login
		{"apptoken needs tokens, no direct login", "AUTHENTICATION_TYPE: AppToken\nFEATURE_APP_SPECIFIC_TOKENS: false\nFEATURE_DIRECT_LOGIN: true", []string{"AppTokenAuthentication"},
			[]string{"error AppTokenAuthentication FEATURE_APP_SPECIFIC_TOKENS", "error AppTokenAuthentication FEATURE_DIRECT_LOGIN"}},
		// githublogin_validator.go: ORG_RESTRICT needs ALLOWED_ORGANIZATIONS
		{"github login org restrict", "FEATURE_GITHUB_LOGIN: true\nGITHUB_LOGIN_CONFIG: {CLIENT_ID: app, CLIENT_SECRET: s3cret-gh, GITHUB_ENDPOINT: 'https://github.example.com/', ORG_RESTRICT: true}", []string{"GitHubLogin"},
			[]string{"error GitHubLogin GITHUB_LOGIN_CONFIG.ALLOWED_ORGANIZATIONS"}},
		// bitbucketbuildtrigger_validator.go: CONSUMER_KEY and CONSUMER_SECRET are required
		{"bitbucket consumer key", "FEATURE_BUILD_SUPPORT: true\nFEATURE_BITBUCKET_BUILD: true\nBITBUCKET_TRIGGER_CONFIG: {CONSUMER_SECRET: s3cret-bb}", []string{"BitbucketBuildTrigger"},
			[]string{"error BitbucketBuildTrigger BITBUCKET_TRIGGER_CONFIG.CONSUMER_KEY"}},
		// actionlogarchiving_validator.go: ACTION_LOG_ARCHIVE_PATH is required
		{"archive path", "FEATURE_ACTION_LOG_ROTATION: true\nACTION_LOG_ARCHIVE_LOCATION: default", []string{"ActionLogArchiving"}, []string{"error ActionLogArchiving ACTION_LOG_ARCHIVE_PATH"}},
		// quaydocumentation_validator.go: DOCUMENTATION_ROOT is any request URI (url.ParseRequestURI): an absolute path passes, a relative one does not
		{"documentation root absolute path", "DOCUMENTATION_ROOT: /docs/", []string{"QuayDocumentation"}, nil},
		{"documentation root relative path", "DOCUMENTATION_ROOT: docs/", []string{"QuayDocumentation"}, []string{"error QuayDocumentation DOCUMENTATION_ROOT"}},
		// securityscanner_validator.go: either endpoint passes Quay's start-up; with only the v2 one Quay runs a scanner that does nothing
		{"secscan v2 endpoint only", "FEATURE_SECURITY_SCANNER: true\nSECURITY_SCANNER_ENDPOINT: 'http://clair.example.com'", []string{"SecurityScanner"},
			[]string{"warning SecurityScanner SECURITY_SCANNER_V4_ENDPOINT"}},
		{"secscan no endpoint", "FEATURE_SECURITY_SCANNER: true", []string{"SecurityScanner"}, []string{"error SecurityScanner SECURITY_SCANNER_V4_ENDPOINT"}},
		// teamsyncing_validator.go checks TEAM_RESYNC_STALE_TIME whatever FEATURE_TEAM_SYNCING says (no guard)
		{"team resync stale time, syncing off", "FEATURE_TEAM_SYNCING: false\nTEAM_RESYNC_STALE_TIME: 1 hour", []string{"TeamSyncing"}, []string{"error TeamSyncing TEAM_RESYNC_STALE_TIME"}},
		// timemachine_validator.go: DEFAULT_TAG_EXPIRATION is one of TAG_EXPIRATION_OPTIONS
		{"default tag expiration not an option", "DEFAULT_TAG_EXPIRATION: 3w\nTAG_EXPIRATION_OPTIONS: [1w, 2w]", []string{"TimeMachine"}, []string{"error TimeMachine DEFAULT_TAG_EXPIRATION"}},
		// email_validator.go: FIPS needs MAIL_USE_TLS
		{"mail fips without tls", "FEATURE_MAILING: true\nMAIL_SERVER: smtp.example.com\nMAIL_DEFAULT_SENDER: quay@example.com\nFEATURE_FIPS: true\nMAIL_USE_TLS: false", []string{"Email"},
			[]string{"error Email MAIL_USE_TLS"}},
		// storage_validators.go: SwiftStorage needs auth_version 1, 2 or 3 (absent is 0, refused)
		{"swift auth version required", "DISTRIBUTED_STORAGE_CONFIG: {default: [SwiftStorage, {storage_path: /s, swift_container: c, auth_url: 'https://keystone.example.com/v2.0', swift_user: u, swift_password: s3cret-sw}]}", []string{"DistributedStorage"},
			[]string{"error DistributedStorage DISTRIBUTED_STORAGE_CONFIG.default[1].auth_version"}},
		// storage_validators.go validateSwift: auth v3 needs os_options user_domain_name and tenant_id (strings)
		{"swift v3 os options", "DISTRIBUTED_STORAGE_CONFIG: {default: [SwiftStorage, {storage_path: /s, swift_container: c, auth_url: 'https://keystone.example.com/v3', swift_user: u, swift_password: s3cret-sw, auth_version: 3, os_options: {project_name: p}}]}", []string{"DistributedStorage"},
			[]string{"error DistributedStorage DISTRIBUTED_STORAGE_CONFIG.default[1].os_options.tenant_id", "error DistributedStorage DISTRIBUTED_STORAGE_CONFIG.default[1].os_options.user_domain_name"}},
		// storage_validators.go: CloudFrontedS3Storage and CloudFlareStorage need s3_access_key and s3_secret_key
		{"cloudflare s3 keys", "DISTRIBUTED_STORAGE_CONFIG: {default: [CloudFlareStorage, {storage_path: /s, s3_bucket: b, s3_region: auto, cloudflare_domain: cdn.example.com, cloudflare_privatekey_filename: cf.pem}]}", []string{"DistributedStorage"},
			[]string{"error DistributedStorage DISTRIBUTED_STORAGE_CONFIG.default[1].s3_access_key", "error DistributedStorage DISTRIBUTED_STORAGE_CONFIG.default[1].s3_secret_key"}},
		// distributedstorage_validator.go: LocalStorage cannot be replicated
		{"local storage replicated", "DISTRIBUTED_STORAGE_CONFIG: {default: [LocalStorage, {storage_path: /d}], other: [LocalStorage, {storage_path: /e}]}\nFEATURE_STORAGE_REPLICATION: true\nDISTRIBUTED_STORAGE_DEFAULT_LOCATIONS: [default, other]\nPREFERRED_URL_SCHEME: https\nEXTERNAL_TLS_TERMINATION: true", []string{"DistributedStorage"},
			[]string{"error DistributedStorage DISTRIBUTED_STORAGE_CONFIG.default[0]", "error DistributedStorage DISTRIBUTED_STORAGE_CONFIG.other[0]"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ps := validateOffline(overBase(t, tc.config))
			var got []string
			for _, k := range keys(ps) {
				for _, g := range tc.groups {
					if strings.Contains(k, " "+g+" ") {
						got = append(got, k)
					}
				}
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("got\n  %s\nwant\n  %s\nall:\n%s", strings.Join(got, "\n  "), strings.Join(tc.want, "\n  "), dump(ps))
			}
		})
	}
}
