package validators

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/quay-tools/config-editor/internal/problem"
)

const groupElastic = "ElasticSearch"

// ElasticSearch: the action-log backend (LOGS_MODEL and LOGS_MODEL_CONFIG).
// Online: an authenticated GET on Elasticsearch (basic auth, or SigV4 for
// AWS), the Splunk or Splunk HEC token, every Kafka broker, the Kinesis
// endpoint of the region.
func elasticSearchCheck() Check {
	return Check{Group: groupElastic, Offline: elasticSearchOffline, Probes: elasticSearchProbes}
}

// elasticSearchOffline: LOGS_MODEL chooses the backend; LOGS_MODEL_CONFIG must
// then name a producer that fits it and hold that producer's settings.
func elasticSearchOffline(c *Context, l *problem.List) {
	model := c.Str("LOGS_MODEL")
	if model == "" || model == "database" {
		if c.Has("LOGS_MODEL_CONFIG") && !wrongType(c.Raw, "LOGS_MODEL") {
			l.WarnTags(groupElastic, at("LOGS_MODEL_CONFIG"), []string{"LOGS_MODEL", "LOGS_MODEL_CONFIG"},
				"LOGS_MODEL_CONFIG is ignored while LOGS_MODEL is database; set LOGS_MODEL to elasticsearch or splunk to use it.")
		}
		return
	}
	cfg, ok := c.Raw["LOGS_MODEL_CONFIG"].(map[string]any)
	if !ok {
		if c.Raw["LOGS_MODEL_CONFIG"] == nil {
			l.ErrorTags(groupElastic, at("LOGS_MODEL_CONFIG"), []string{"LOGS_MODEL", "LOGS_MODEL_CONFIG"},
				"LOGS_MODEL is %s, so LOGS_MODEL_CONFIG is required with a producer and its settings.", model)
		}
		return
	}
	base := at("LOGS_MODEL_CONFIG")
	if !requireIn(l, groupElastic, cfg, base, "producer", " when LOGS_MODEL is "+model+"; use elasticsearch, kafka, kinesis_stream, splunk or splunk_hec") {
		return
	}
	producer := str(cfg, "producer")
	splunk := producer == "splunk" || producer == "splunk_hec"
	switch {
	case model == "splunk" && !splunk && producer != "":
		l.ErrorTags(groupElastic, base.Child("producer"), []string{"LOGS_MODEL", "LOGS_MODEL_CONFIG"},
			"LOGS_MODEL is splunk but LOGS_MODEL_CONFIG.producer is %s; use splunk or splunk_hec.", producer)
		return
	case model != "splunk" && splunk:
		l.ErrorTags(groupElastic, base.Child("producer"), []string{"LOGS_MODEL", "LOGS_MODEL_CONFIG"},
			"LOGS_MODEL_CONFIG.producer is %s but LOGS_MODEL is %s; set LOGS_MODEL: splunk.", producer, model)
		return
	}
	sub := func(name string) (map[string]any, *problem.Path, bool) {
		p := base.Child(name)
		m, ok := cfg[name].(map[string]any)
		if !ok {
			if cfg[name] == nil {
				l.Errorf(groupElastic, p, "LOGS_MODEL_CONFIG.%s is required for the %s producer.", name, producer)
			}
			return nil, p, false
		}
		return m, p, true
	}
	bareHost := func(m map[string]any, p *problem.Path) {
		if h := str(m, "host"); strings.Contains(h, "://") {
			l.Errorf(groupElastic, p.Child("host"), "%s.host must be a bare host name, not a URL.", p)
		}
	}
	switch producer {
	case "elasticsearch", "kafka", "kinesis_stream":
		// Kafka and Kinesis feed Elasticsearch, which Quay reads back.
		if es, p, ok := sub("elasticsearch_config"); ok {
			requireIn(l, groupElastic, es, p, "host", " for Elasticsearch")
			bareHost(es, p)
			if model == "elasticsearch" {
				// Quay's start-up validation (elasticsearch_validator.go)
				// refuses LOGS_MODEL elasticsearch without a port, an
				// access_key and a secret_key, AWS or not
				for _, k := range []string{"port", "access_key", "secret_key"} {
					requireIn(l, groupElastic, es, p, k, " when LOGS_MODEL is elasticsearch: Quay's start-up validation refuses the configuration without it")
				}
			} else if present(es, "access_key") != present(es, "secret_key") && !wrongType(es, "access_key") && !wrongType(es, "secret_key") {
				l.Errorf(groupElastic, p, "%s needs both access_key and secret_key, or neither.", p)
			}
		}
		if producer == "kafka" {
			if k, p, ok := sub("kafka_config"); ok {
				if servers, isList := k["bootstrap_servers"].([]any); len(servers) == 0 && (isList || k["bootstrap_servers"] == nil) {
					l.Errorf(groupElastic, p.Child("bootstrap_servers"), "%s.bootstrap_servers must list at least one Kafka broker (host:port).", p)
				}
				requireIn(l, groupElastic, k, p, "topic", " for the kafka producer")
			}
		}
		if producer == "kinesis_stream" {
			if k, p, ok := sub("kinesis_stream_config"); ok {
				requireIn(l, groupElastic, k, p, "stream_name", " for the kinesis_stream producer")
				requireIn(l, groupElastic, k, p, "aws_region", " for the kinesis_stream producer")
				if present(k, "aws_access_key") != present(k, "aws_secret_key") && !wrongType(k, "aws_access_key") && !wrongType(k, "aws_secret_key") {
					l.Errorf(groupElastic, p, "%s needs both aws_access_key and aws_secret_key, or neither (to use the pod's role).", p)
				}
			}
		}
	case "splunk":
		if s, p, ok := sub("splunk_config"); ok {
			requireIn(l, groupElastic, s, p, "host", " for the splunk producer")
			requireIn(l, groupElastic, s, p, "port", " for the splunk producer")
			requireIn(l, groupElastic, s, p, "bearer_token", " for the splunk producer")
			requireIn(l, groupElastic, s, p, "index_prefix", " for the splunk producer")
			bareHost(s, p)
			c.splunkCA(l, s, p)
		}
	case "splunk_hec":
		if s, p, ok := sub("splunk_hec_config"); ok {
			requireIn(l, groupElastic, s, p, "host", " for the splunk_hec producer")
			requireIn(l, groupElastic, s, p, "hec_token", " for the splunk_hec producer")
			bareHost(s, p)
			c.splunkCA(l, s, p)
		}
	}
}

func (c *Context) splunkCA(l *problem.List, m map[string]any, p *problem.Path) {
	if s, ok := m["ssl_ca_path"].(string); ok && s != "" {
		c.checkBundlePEM(l, groupElastic, p.Child("ssl_ca_path"), s, "the Splunk CA")
	}
}

func elasticSearchProbes(c *Context) []Probe {
	model := c.Str("LOGS_MODEL")
	if model == "" || model == "database" {
		return nil
	}
	cfg := c.Map("LOGS_MODEL_CONFIG")
	producer := AsString(cfg["producer"])
	sub := func(name string) map[string]any { m, _ := cfg[name].(map[string]any); return m }
	var out []Probe
	add := func(name string, run func(ctx context.Context, l *problem.List)) {
		out = append(out, Probe{Name: name, Run: run})
	}
	switch producer {
	case "elasticsearch", "kafka", "kinesis_stream":
		if es := sub("elasticsearch_config"); AsString(es["host"]) != "" {
			add("Elasticsearch", func(ctx context.Context, l *problem.List) { c.probeElastic(ctx, l, es) })
		}
		if k := sub("kafka_config"); producer == "kafka" && k != nil {
			servers, _ := k["bootstrap_servers"].([]any)
			for i, s := range servers {
				addr := AsString(s)
				path := at("LOGS_MODEL_CONFIG", "kafka_config", "bootstrap_servers").Index(i)
				add("Kafka broker "+addr, func(ctx context.Context, l *problem.List) { probeKafka(ctx, l, addr, path) })
			}
		}
		if k := sub("kinesis_stream_config"); producer == "kinesis_stream" && AsString(k["aws_region"]) != "" {
			add("Kinesis", func(ctx context.Context, l *problem.List) { c.probeKinesis(ctx, l, k) })
		}
	case "splunk":
		if s := sub("splunk_config"); AsString(s["host"]) != "" && AsString(s["bearer_token"]) != "" {
			add("Splunk", func(ctx context.Context, l *problem.List) { c.probeSplunk(ctx, l, s, false) })
		}
	case "splunk_hec":
		if s := sub("splunk_hec_config"); AsString(s["host"]) != "" && AsString(s["hec_token"]) != "" {
			add("Splunk HEC", func(ctx context.Context, l *problem.List) { c.probeSplunk(ctx, l, s, true) })
		}
	}
	return out
}

func (c *Context) probeElastic(ctx context.Context, l *problem.List, es map[string]any) {
	base := at("LOGS_MODEL_CONFIG", "elasticsearch_config")
	tags := []string{"LOGS_MODEL_CONFIG"}
	host := AsString(es["host"])
	port := AsString(es["port"])
	if port == "" {
		port = "9200"
	}
	scheme := "https"
	if v, ok := argBool(es["use_ssl"]); ok && !v {
		scheme = "http"
	}
	u := scheme + "://" + net.JoinHostPort(host, port) + "/"
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	ak, sk, region := AsString(es["access_key"]), secretIn(es, "secret_key"), AsString(es["aws_region"])
	auth := "without credentials"
	switch {
	case ak != "" && region != "":
		req.Header.Set("X-Amz-Content-Sha256", sha256Hex(nil))
		if err := signV4(ctx, req, nil, ak, sk.Reveal(), region, "es", time.Now()); err != nil {
			l.ErrorTags(groupElastic, base.Child("secret_key"), tags, "the request to Elasticsearch at %s could not be signed for AWS: %s.", u, err)
			return
		}
		auth = "signed for AWS (SigV4, region " + region + ")"
	case ak != "":
		req.SetBasicAuth(ak, sk.Reveal())
		auth = "with basic auth as " + ak
	}
	resp, err := noRedirectClient(ctx, c.TLSConfig(host)).Do(req)
	if err != nil {
		l.ErrorTags(groupElastic, base.Child("host"), tags, "Elasticsearch at %s (use_ssl: %t) could not be reached: %s.", u, scheme == "https", netWords(err))
		return
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	switch {
	case resp.StatusCode == http.StatusUnauthorized:
		l.ErrorTags(groupElastic, base.Child("secret_key"), tags, "Elasticsearch at %s refused the request %s (401 Unauthorized): check access_key and secret_key.", u, auth)
	case resp.StatusCode == http.StatusForbidden:
		l.ErrorTags(groupElastic, base.Child("access_key"), tags, "Elasticsearch at %s answered 403 Forbidden to a request %s: the user lacks permission (or the AWS region/keys are wrong).", u, auth)
	case resp.StatusCode != http.StatusOK:
		l.ErrorTags(groupElastic, base.Child("host"), tags, "Elasticsearch at %s answered %d %s to an authenticated GET; expected 200.", u, resp.StatusCode, http.StatusText(resp.StatusCode))
	default:
		var info struct {
			Version struct {
				Number string `json:"number"`
			} `json:"version"`
		}
		if json.Unmarshal(data, &info) != nil || info.Version.Number == "" {
			l.ErrorTags(groupElastic, base.Child("host"), tags, "%s answered 200 but not like Elasticsearch (no version in the answer); check host and port.", u)
		}
	}
}

// probeSplunk checks the REST API token (splunk) or the HEC token
// (splunk_hec). HEC checks the token before the body, so an empty event
// batch answers 400 "No data" with a good token and 401/403 with a bad one:
// nothing is written.
func (c *Context) probeSplunk(ctx context.Context, l *problem.List, s map[string]any, hec bool) {
	name, tokenKey, port, path := "splunk_config", "bearer_token", "8089", "/services/server/info?output_mode=json"
	if hec {
		name, tokenKey, port, path = "splunk_hec_config", "hec_token", "8088", "/services/collector/event"
	}
	base := at("LOGS_MODEL_CONFIG", name)
	tags := []string{"LOGS_MODEL_CONFIG"}
	host := AsString(s["host"])
	if p := AsString(s["port"]); p != "" {
		port = p
	}
	scheme := AsString(s["url_scheme"])
	if scheme == "" {
		scheme = "https"
	}
	var extra [][]byte
	if ref := AsString(s["ssl_ca_path"]); ref != "" {
		if data, _, ok := c.BundleFile(ref); ok {
			extra = append(extra, data)
		}
	}
	cfg := c.TLSConfig(host, extra...)
	if v, ok := argBool(s["verify_ssl"]); ok && !v {
		cfg.InsecureSkipVerify = true // the config asks for it (verify_ssl: false)
	}
	u := scheme + "://" + net.JoinHostPort(host, port) + path
	method := http.MethodGet
	if hec {
		method = http.MethodPost
	}
	req, err := http.NewRequestWithContext(ctx, method, u, strings.NewReader(""))
	if err != nil {
		l.ErrorTags(groupElastic, base.Child("host"), tags, "%s: %s is not a valid URL.", name, u)
		return
	}
	token := secretIn(s, tokenKey)
	if hec {
		req.Header.Set("Authorization", "Splunk "+token.Reveal())
	} else {
		req.Header.Set("Authorization", "Bearer "+token.Reveal())
	}
	what := "Splunk"
	if hec {
		what = "Splunk HEC"
	}
	resp, err := noRedirectClient(ctx, cfg).Do(req)
	if err != nil {
		l.ErrorTags(groupElastic, base.Child("host"), tags, "%s at %s could not be reached: %s.", what, u, netWords(err))
		return
	}
	defer resp.Body.Close()
	var ans struct {
		Text string `json:"text"`
		Code int    `json:"code"`
	}
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	_ = json.Unmarshal(data, &ans)
	switch {
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		l.ErrorTags(groupElastic, base.Child(tokenKey), tags, "%s at %s rejected %s (%d %s%s).", what, u, tokenKey, resp.StatusCode, http.StatusText(resp.StatusCode), textOr(ans.Text))
	case hec && resp.StatusCode == http.StatusBadRequest && (ans.Code == 5 || ans.Code == 6):
		// token accepted; only the (deliberately empty) data was refused
	case !hec && resp.StatusCode == http.StatusOK:
	default:
		l.ErrorTags(groupElastic, base.Child("host"), tags, "%s at %s answered %d %s%s; check host, port and url_scheme.", what, u, resp.StatusCode, http.StatusText(resp.StatusCode), textOr(ans.Text))
	}
}

func textOr(s string) string {
	if s == "" {
		return ""
	}
	if len(s) > 120 {
		s = s[:120] + "…"
	}
	return ": " + s
}

// probeKafka dials a bootstrap broker and exchanges ApiVersions (v0), the
// first request every Kafka client sends, so a port that answers but is not
// Kafka is told apart from a broker.
func probeKafka(ctx context.Context, l *problem.List, addr string, path *problem.Path) {
	tags := []string{"LOGS_MODEL_CONFIG"}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		l.ErrorTags(groupElastic, path, tags, "Kafka bootstrap server %q is not host:port.", addr)
		return
	}
	conn, err := dialContext(ctx, "tcp", addr)
	if err != nil {
		l.ErrorTags(groupElastic, path, tags, "Kafka broker %s could not be reached: %s.", addr, describeErr(err))
		return
	}
	defer conn.Close()
	const corr = 0x51a7
	client := "quay-config-editor"
	req := make([]byte, 4, 4+10+len(client))
	req = binary.BigEndian.AppendUint16(req, 18) // ApiVersions
	req = binary.BigEndian.AppendUint16(req, 0)
	req = binary.BigEndian.AppendUint32(req, corr)
	req = binary.BigEndian.AppendUint16(req, uint16(len(client)))
	req = append(req, client...)
	binary.BigEndian.PutUint32(req, uint32(len(req)-4))
	if _, err := conn.Write(req); err != nil {
		l.ErrorTags(groupElastic, path, tags, "Kafka broker %s accepted the connection but the request failed: %s.", addr, describeErr(err))
		return
	}
	var head [10]byte // size, correlation id, error code
	if _, err := io.ReadFull(conn, head[:]); err != nil {
		l.ErrorTags(groupElastic, path, tags, "%s accepted a TCP connection but did not answer a Kafka ApiVersions request: %s. Is it a Kafka broker (and not a TLS or SASL listener)?", addr, describeErr(err))
		return
	}
	size := binary.BigEndian.Uint32(head[0:4])
	if binary.BigEndian.Uint32(head[4:8]) != corr || size < 6 || size > 1<<20 {
		l.ErrorTags(groupElastic, path, tags, "%s answered, but not like a Kafka broker (the ApiVersions answer is malformed); check the host and port.", addr)
		return
	}
	if code := int16(binary.BigEndian.Uint16(head[8:10])); code != 0 && code != 35 { // 35: version unsupported, still Kafka
		l.ErrorTags(groupElastic, path, tags, "Kafka broker %s answered ApiVersions with error code %d.", addr, code)
	}
}

// probeKinesis proves the regional Kinesis endpoint reachable over TLS
// (any HTTP answer). It does not prove the stream or the keys.
func (c *Context) probeKinesis(ctx context.Context, l *problem.List, k map[string]any) {
	region := AsString(k["aws_region"])
	u := c.Opts.Hosted.Kinesis(region)
	uu, cfg, err := c.tlsFor(u)
	if err != nil {
		return
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, uu.String(), nil)
	resp, err := noRedirectClient(ctx, cfg).Do(req)
	if err != nil {
		l.ErrorTags(groupElastic, at("LOGS_MODEL_CONFIG", "kinesis_stream_config", "aws_region"), []string{"LOGS_MODEL_CONFIG"},
			"the Kinesis endpoint %s of region %s could not be reached: %s.", u, region, netWords(err))
		return
	}
	resp.Body.Close()
}
