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
