package validators

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/quay-tools/config-editor/internal/testenv"
)

// Every probe kind against servers that accept and never answer: once
// Validate returns, no connection it opened may stay open and no goroutine
// it started may stay behind (the transport's dial and TLS handshake
// goroutines included).

// holeSet hands out labelled holes; the label names the probe kind and its
// field group, so a connection left open says whose it is.
type holeSet struct {
	t      testing.TB
	g      gauge
	holes  []*hole
	labels []string
	groups []string
}

func (s *holeSet) add(group, label string) *hole {
	h := newHole(s.t, &s.g)
	s.holes = append(s.holes, h)
	s.labels = append(s.labels, label)
	s.groups = append(s.groups, group)
	return h
}

func (s *holeSet) addr(group, label string) string { return s.add(group, label).addr }
func (s *holeSet) port(group, label string) int    { return s.add(group, label).port }

// openLabels lists the holes that still hold a connection, with counts.
func (s *holeSet) openLabels() []string {
	out := []string{fmt.Sprintf("%d in all", s.openCount())}
	for i, h := range s.holes {
		if n := h.open.Load(); n > 0 {
			out = append(out, fmt.Sprintf("%s: %d", s.labels[i], n))
		}
	}
	return out
}

func (s *holeSet) openCount() int {
	n := 0
	for _, h := range s.holes {
		n += int(h.open.Load())
	}
	return n
}

// leakRound is one bundle (kinds that exclude each other, such as the
// authentication type or the database engine, need several).
type leakRound struct {
	cfg    map[string]any
	files  map[string][]byte
	hosted HostedEndpoints
}

// leakRounds points every probe kind the validators have at its own hole.
func leakRounds(s *holeSet) []leakRound {
	const pw = "pw-hole"
	ca := testenv.CA().CAPEM
	files := func() map[string][]byte {
		return map[string][]byte{"database.pem": ca, "ldap.crt": ca, "extra_ca_certs/test-ca.crt": ca}
	}
	st := groupStorage
	s3 := func(label, scheme string) map[string]any {
		return map[string]any{"storage_path": "/p", "s3_bucket": "quay", "s3_access_key": "AKHOLE", "s3_secret_key": pw,
			"s3_region": "us-east-1", "endpoint_url": scheme + "://" + s.addr(st, label)}
	}
	gateway := func(label string, secure bool) map[string]any {
		h := s.add(st, label)
		return map[string]any{"hostname": "127.0.0.1", "port": h.port, "is_secure": secure, "storage_path": "/p",
			"access_key": "AKHOLE", "secret_key": pw, "bucket_name": "quay"}
	}
	with := func(m map[string]any, kv ...any) map[string]any {
		for i := 0; i < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	}
	azure := func(label, scheme string, sas bool) map[string]any {
		m := map[string]any{"storage_path": "/p", "azure_container": "c", "azure_account_name": "acct",
			"endpoint_url": scheme + "://" + s.addr(st, label) + "/acct"}
		if sas {
			m["sas_token"] = "sv=2020-08-04&ss=b&sig=" + pw
		} else {
			m["azure_account_key"] = "cHctaG9sZS1wdy1ob2xlLXB3LWhvbGU="
		}
		return m
	}
	swift := func(label, scheme string) map[string]any {
		return map[string]any{"storage_path": "/p", "swift_container": "c", "auth_url": scheme + "://" + s.addr(st, label) + "/auth/v1.0",
			"swift_user": "u", "swift_password": pw, "auth_version": 1}
	}
	locs := map[string]any{
		"s3http":     []any{"S3Storage", s3("S3 over http", "http")},
		"s3https":    []any{"S3Storage", s3("S3 over https", "https")},
		"cloudfront": []any{"CloudFrontedS3Storage", with(s3("CloudFront S3 over https", "https"), "cloudfront_distribution_domain", "d.example", "cloudfront_key_id", "K", "cloudfront_privatekey_filename", "cf.pem")},
		"akamai":     []any{"AkamaiS3Storage", with(s3("Akamai S3 over https", "https"), "akamai_domain", "a.example", "akamai_shared_secret", pw)},
		"cloudflare": []any{"CloudFlareStorage", with(s3("CloudFlare S3 over https", "https"), "cloudflare_domain", "c.example", "cloudflare_privatekey_filename", "cf.pem")},
		"multicdn": []any{"MultiCDNStorage", map[string]any{"default_provider": "cf",
			"providers":      map[string]any{"cf": []any{"CloudFlareStorage", map[string]any{}}},
			"storage_config": s3("MultiCDN S3 over https", "https")}},
		"radosgws": []any{"RadosGWStorage", gateway("RadosGW is_secure", true)},
		"radosgw":  []any{"RadosGWStorage", gateway("RadosGW plain", false)},
		"rhocs":    []any{"RHOCSStorage", gateway("RHOCS is_secure", true)},
		"ibm":      []any{"IBMCloudStorage", gateway("IBM COS is_secure", true)},
		"gcs":      []any{"GoogleCloudStorage", map[string]any{"storage_path": "/p", "bucket_name": "quay", "access_key": "GOOGHOLE", "secret_key": pw, "endpoint_url": "https://" + s.addr(st, "GCS over https")}},
		// the S3 endpoint of STSS3Storage is only used with keys from STS
		"sts": []any{"STSS3Storage", map[string]any{"storage_path": "/p", "s3_bucket": "quay", "s3_region": "us-east-1", "endpoint_url": "https://127.0.0.1:1",
			"sts_role_arn": "arn:aws:iam::1:role/q", "sts_user_access_key": "AKSTS", "sts_user_secret_key": pw}},
		"azurehttp": []any{"AzureStorage", azure("Azure key over http", "http", false)},
		"azuretls":  []any{"AzureStorage", azure("Azure key over https", "https", false)},
		"azuresas":  []any{"AzureStorage", azure("Azure SAS over https", "https", true)},
		"swifthttp": []any{"SwiftStorage", swift("Swift over http", "http")},
		"swifttls":  []any{"SwiftStorage", swift("Swift over https", "https")},
	}
	prefs := make([]any, 0, len(locs))
	for name := range locs {
		prefs = append(prefs, name)
	}
	stsHole := "https://" + s.addr(st, "STS AssumeRole over https")

	clairCfg := fmt.Sprintf("indexer:\n  connstring: host=127.0.0.1 port=%d user=clair password=%s dbname=clair sslmode=disable\nmatcher:\n  connstring: host=127.0.0.1 port=%d user=clair password=%s dbname=clair sslmode=require\n",
		s.port(groupSecurityScanner, "Clair indexer database"), pw, s.port(groupSecurityScanner, "Clair matcher database (TLS)"), pw)
	oauth := func(group, label, scheme string) string { return scheme + "://" + s.addr(group, label) + "/" }

	one := leakRound{
		cfg: map[string]any{
			"DB_URI":             (&url.URL{Scheme: "postgresql", User: url.UserPassword("quay", pw), Host: s.addr(groupDatabase, "PostgreSQL sslmode prefer"), Path: "/quay"}).String(),
			"BUILDLOGS_REDIS":    map[string]any{"host": "127.0.0.1", "port": s.port(groupRedis, "BUILDLOGS_REDIS"), "password": pw},
			"USER_EVENTS_REDIS":  map[string]any{"host": "127.0.0.1", "port": s.port(groupRedis, "USER_EVENTS_REDIS over TLS"), "password": pw, "ssl": true},
			"PULL_METRICS_REDIS": map[string]any{"host": "127.0.0.1", "port": s.port(groupRedis, "PULL_METRICS_REDIS")},
			"BUILD_MANAGER": []any{"ephemeral", map[string]any{"ORCHESTRATOR": map[string]any{
				"REDIS_HOST": "127.0.0.1", "REDIS_PORT": s.port(groupBuildManager, "orchestrator Redis over TLS"), "REDIS_SSL": true, "REDIS_PASSWORD": pw}}},
			"DATA_MODEL_CACHE_CONFIG": map[string]any{"engine": "redis", "redis_config": map[string]any{
				"primary": map[string]any{"host": "127.0.0.1", "port": s.port(groupModelCache, "model cache Redis primary"), "password": pw},
				"replica": map[string]any{"host": "127.0.0.1", "port": s.port(groupModelCache, "model cache Redis replica over TLS"), "ssl": true}}},
			"DISTRIBUTED_STORAGE_CONFIG":     locs,
			"DISTRIBUTED_STORAGE_PREFERENCE": prefs,
			"AUTHENTICATION_TYPE":            "LDAP",
			"LDAP_URI":                       "ldap://" + s.addr(groupLDAP, "LDAP with StartTLS"),
			"LDAP_ADMIN_DN":                  "cn=admin,dc=example,dc=org",
			"LDAP_ADMIN_PASSWD":              pw,
			"LDAP_BASE_DN":                   []any{"dc=example", "dc=org"},
			"LDAP_USER_RDN":                  []any{"ou=users"},
			"FEATURE_MAILING":                true,
			"MAIL_SERVER":                    "127.0.0.1",
			"MAIL_PORT":                      s.port(groupEmail, "SMTP with STARTTLS"),
			"MAIL_USE_TLS":                   true,
			"MAIL_USE_AUTH":                  true,
			"MAIL_USERNAME":                  "quay",
			"MAIL_PASSWORD":                  pw,
			"FEATURE_SECURITY_SCANNER":       true,
			"SECURITY_SCANNER_V4_ENDPOINT":   "https://" + s.addr(groupSecurityScanner, "Clair over https"),
			"SECURITY_SCANNER_V4_PSK":        "c2VjcmV0LWhvbGUtMDEyMzQ1Njc4OWFiY2RlZg==",
			"FEATURE_GITHUB_LOGIN":           true,
			"GITHUB_LOGIN_CONFIG":            map[string]any{"GITHUB_ENDPOINT": oauth(groupGitHubLogin, "GitHub login over https", "https"), "CLIENT_ID": "id", "CLIENT_SECRET": pw},
			"FEATURE_BUILD_SUPPORT":          true,
			"FEATURE_GITHUB_BUILD":           true,
			"GITHUB_TRIGGER_CONFIG":          map[string]any{"GITHUB_ENDPOINT": oauth(groupGitHubTrigger, "GitHub trigger over http", "http"), "CLIENT_ID": "id", "CLIENT_SECRET": pw},
			"FEATURE_GOOGLE_LOGIN":           true,
			"GOOGLE_LOGIN_CONFIG":            map[string]any{"CLIENT_ID": "id", "CLIENT_SECRET": pw},
			"FEATURE_GITLAB_BUILD":           true,
			"GITLAB_TRIGGER_CONFIG":          map[string]any{"GITLAB_ENDPOINT": oauth(groupGitLabTrigger, "GitLab over https", "https"), "CLIENT_ID": "id", "CLIENT_SECRET": pw},
			"FEATURE_BITBUCKET_BUILD":        true,
			"BITBUCKET_TRIGGER_CONFIG":       map[string]any{"CONSUMER_KEY": "id", "CONSUMER_SECRET": pw},
			"KEYCLOAK_LOGIN_CONFIG":          map[string]any{"OIDC_SERVER": oauth(groupOIDC, "OIDC discovery over https", "https"), "CLIENT_ID": "id", "CLIENT_SECRET": pw},
			"OTHER_LOGIN_CONFIG":             map[string]any{"OIDC_SERVER": oauth(groupOIDC, "OIDC discovery over http", "http"), "CLIENT_ID": "id", "CLIENT_SECRET": pw},
			"LOGS_MODEL":                     "elasticsearch",
			"LOGS_MODEL_CONFIG": map[string]any{"producer": "kinesis_stream",
				"elasticsearch_config":  map[string]any{"host": "127.0.0.1", "port": s.port(groupElastic, "Elasticsearch over https"), "access_key": "elastic", "secret_key": pw},
				"kinesis_stream_config": map[string]any{"stream_name": "q", "aws_region": "us-east-1", "aws_access_key": "AK", "aws_secret_key": pw}},
		},
		files: with2(files(), "clair-config.yaml", []byte(clairCfg)),
		hosted: HostedEndpoints{
			STS:            stsHole,
			GoogleToken:    "https://" + s.addr(groupGoogleLogin, "Google token endpoint over https") + "/token",
			BitbucketToken: "https://" + s.addr(groupBitbucket, "Bitbucket token endpoint over https") + "/token",
		},
	}
	kinesis := "https://" + s.addr(groupElastic, "Kinesis over https") + "/"
	one.hosted.Kinesis = func(string) string { return kinesis }

	two := leakRound{
		cfg: map[string]any{
			"DB_URI":             "mysql+pymysql://quay:" + pw + "@" + s.addr(groupDatabase, "MySQL over TLS") + "/quay",
			"DB_CONNECTION_ARGS": map[string]any{"ssl": map[string]any{"ca": "conf/stack/database.pem"}},
			"DATA_MODEL_CACHE_CONFIG": map[string]any{"engine": "rediscluster", "redis_config": map[string]any{"password": pw, "startup_nodes": []any{
				map[string]any{"host": "127.0.0.1", "port": s.port(groupModelCache, "rediscluster node 1")},
				map[string]any{"host": "127.0.0.1", "port": s.port(groupModelCache, "rediscluster node 2")}}}},
			"AUTHENTICATION_TYPE": "LDAP", "LDAP_URI": "ldaps://" + s.addr(groupLDAP, "LDAP over TLS (ldaps)"),
			"LDAP_ADMIN_DN": "cn=admin,dc=example,dc=org", "LDAP_ADMIN_PASSWD": pw, "LDAP_BASE_DN": []any{"dc=example"},
			"FEATURE_MAILING": true, "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": s.port(groupEmail, "SMTP with implicit TLS"), "MAIL_USE_SSL": true,
			"FEATURE_SECURITY_SCANNER":     true,
			"SECURITY_SCANNER_V4_ENDPOINT": "http://" + s.addr(groupSecurityScanner, "Clair over http"),
			"LOGS_MODEL":                   "elasticsearch",
			"LOGS_MODEL_CONFIG": map[string]any{"producer": "kafka",
				"elasticsearch_config": map[string]any{"host": "127.0.0.1", "port": s.port(groupElastic, "Elasticsearch over http"), "use_ssl": false},
				"kafka_config": map[string]any{"topic": "q", "bootstrap_servers": []any{
					s.addr(groupElastic, "Kafka broker 1"), s.addr(groupElastic, "Kafka broker 2")}}},
		},
		files: files(),
	}
	three := leakRound{
		cfg: map[string]any{
			"DB_URI":                  "mysql+pymysql://quay:" + pw + "@" + s.addr(groupDatabase, "MySQL plain") + "/quay",
			"DATA_MODEL_CACHE_CONFIG": map[string]any{"engine": "memcached", "endpoint": []any{"127.0.0.1", s.port(groupModelCache, "memcached")}},
			"AUTHENTICATION_TYPE":     "Keystone", "KEYSTONE_AUTH_VERSION": "3",
			"KEYSTONE_AUTH_URL":       "https://" + s.addr(groupKeystone, "Keystone v3 over https") + "/v3",
			"KEYSTONE_ADMIN_USERNAME": "admin", "KEYSTONE_ADMIN_PASSWORD": pw, "KEYSTONE_ADMIN_TENANT": "admin",
			"FEATURE_MAILING": true, "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": s.port(groupEmail, "SMTP plain"),
			"LOGS_MODEL": "splunk",
			"LOGS_MODEL_CONFIG": map[string]any{"producer": "splunk", "splunk_config": map[string]any{
				"host": "127.0.0.1", "port": s.port(groupElastic, "Splunk REST over https"), "bearer_token": pw, "index_prefix": "q"}},
		},
		files: files(),
	}
	four := leakRound{
		cfg: map[string]any{
			"DB_URI":              (&url.URL{Scheme: "postgresql", User: url.UserPassword("quay", pw), Host: s.addr(groupDatabase, "PostgreSQL sslmode verify-full"), Path: "/quay"}).String(),
			"DB_CONNECTION_ARGS":  map[string]any{"sslmode": "verify-full", "sslrootcert": "conf/stack/database.pem"},
			"AUTHENTICATION_TYPE": "JWT", "JWT_AUTH_ISSUER": "http://issuer",
			"JWT_VERIFY_ENDPOINT":  "https://" + s.addr(groupJWT, "JWT verify over https") + "/verify",
			"JWT_GETUSER_ENDPOINT": "http://" + s.addr(groupJWT, "JWT getuser over http") + "/getuser",
			"JWT_QUERY_ENDPOINT":   "https://" + s.addr(groupJWT, "JWT query over https") + "/query",
			"LOGS_MODEL":           "splunk",
			"LOGS_MODEL_CONFIG": map[string]any{"producer": "splunk_hec", "splunk_hec_config": map[string]any{
				"host": "127.0.0.1", "port": s.port(groupElastic, "Splunk HEC over http"), "hec_token": pw, "url_scheme": "http"}},
		},
		files: files(),
	}
	return []leakRound{one, two, three, four}
}

func with2(m map[string][]byte, k string, v []byte) map[string][]byte { m[k] = v; return m }

// runLeakRounds validates every round online and returns when all did.
func runLeakRounds(t testing.TB, rounds []leakRound, timeout time.Duration) {
	t.Helper()
	for i, r := range rounds {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		ps := Validate(ctx, onlineBundle(t, r.cfg, r.files), Options{Mode: Online, Timeout: timeout, Hosted: r.hosted})
		expired := ctx.Err() != nil
		cancel()
		if expired {
			t.Fatalf("round %d: Validate did not return within 60s", i)
		}
		wantNoSecret(t, ps, "pw-hole")
	}
}

// pollUntil calls cond until it holds or the bound passes; it reports
// whether it held.
func pollUntil(bound time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(bound)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
	return true
}

// socketFDs counts the process's open socket descriptors.
func socketFDs() int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	n := 0
	for _, e := range ents {
		if l, err := os.Readlink("/proc/self/fd/" + e.Name()); err == nil && strings.HasPrefix(l, "socket:") {
			n++
		}
	}
	return n
}

func TestBlackholeEveryProbeKindLeaksNothing(t *testing.T) {
	s := &holeSet{t: t}
	rounds := leakRounds(s)

	// every field group with a probe has at least one hole
	covered := map[string]bool{}
	for _, g := range s.groups {
		covered[g] = true
	}
	var missing []string
	for _, chk := range allChecks() {
		if chk.Probes != nil && !covered[chk.Group] {
			missing = append(missing, chk.Group)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Fatalf("probe groups without a blackhole case: %v", missing)
	}

	const timeout = 500 * time.Millisecond
	// warm up: lazily started runtime goroutines join the baseline
	runLeakRounds(t, rounds, timeout)
	if !pollUntil(10*time.Second, func() bool { return s.openCount() == 0 }) {
		t.Errorf("after the first validation, connections still open:\n  %s", strings.Join(s.openLabels(), "\n  "))
	}
	baseline, baseFDs := runtime.NumGoroutine(), socketFDs()

	runLeakRounds(t, rounds, timeout)
	for i, h := range s.holes {
		if h.accepted.Load() == 0 {
			t.Errorf("%s (%s) was never dialled", s.labels[i], s.groups[i])
		}
	}
	if !pollUntil(10*time.Second, func() bool { return s.openCount() == 0 }) {
		t.Errorf("connections still open after Validate returned:\n  %s", strings.Join(s.openLabels(), "\n  "))
	}
	if !pollUntil(10*time.Second, func() bool { return runtime.NumGoroutine() <= baseline }) {
		buf := make([]byte, 1<<20)
		t.Fatalf("goroutines: %d after Validate, baseline %d:\n%s", runtime.NumGoroutine(), baseline, buf[:runtime.Stack(buf, true)])
	}
	if fds := socketFDs(); fds > baseFDs {
		t.Errorf("socket descriptors: %d after Validate, baseline %d", fds, baseFDs)
	}
	t.Logf("%d holes, at most %d connections at once; goroutines %d (baseline %d), sockets %d (baseline %d)",
		len(s.holes), s.g.peakNow(), runtime.NumGoroutine(), baseline, socketFDs(), baseFDs)
}

// The case of the report: a bundle with 200 storage locations over https,
// all at a server that accepts and never answers, validated 3 times.
func TestManyLocationsAgainstBlackholeLeakNothing(t *testing.T) {
	var g gauge
	h := newHole(t, &g)
	locs := map[string]any{}
	var prefs []any
	for i := range 200 {
		name := fmt.Sprintf("loc%03d", i)
		locs[name] = []any{"S3Storage", map[string]any{"storage_path": "/p", "s3_bucket": "quay", "s3_access_key": "AKHOLE",
			"s3_secret_key": "pw-hole", "s3_region": "us-east-1", "endpoint_url": "https://" + h.addr}}
		prefs = append(prefs, name)
	}
	b := onlineBundle(t, map[string]any{"DISTRIBUTED_STORAGE_CONFIG": locs, "DISTRIBUTED_STORAGE_PREFERENCE": prefs}, nil)
	baseline, baseFDs := runtime.NumGoroutine(), socketFDs()
	for range 3 {
		ps := runBounded(t, b, Options{Mode: Online, Timeout: 300 * time.Millisecond, Groups: []string{groupStorage}})
		if n := len(ps); n < 200 {
			t.Fatalf("%d problems for 200 silent locations:\n%s", n, dump(ps))
		}
	}
	closed := pollUntil(10*time.Second, func() bool { return h.open.Load() == 0 })
	settled := pollUntil(10*time.Second, func() bool { return runtime.NumGoroutine() <= baseline })
	t.Logf("3 validations of 200 locations (%d connections accepted): %d still open, goroutines %+d, socket descriptors %+d",
		h.accepted.Load(), h.open.Load(), runtime.NumGoroutine()-baseline, socketFDs()-baseFDs)
	if h.accepted.Load() < 600 {
		t.Errorf("only %d connections accepted for 600 probes", h.accepted.Load())
	}
	if !closed || !settled {
		t.Fatalf("leak: %d connections open, %d goroutines over the baseline %d", h.open.Load(), runtime.NumGoroutine()-baseline, baseline)
	}
}
