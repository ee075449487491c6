package validators

import (
	"strings"

	"github.com/quay-tools/config-editor/internal/problem"
)

const groupElastic = "ElasticSearch"

func actionLogsCheck() Check {
	return Check{Group: groupElastic, Offline: actionLogsOffline,
		OnlineProof: "an authenticated GET on Elasticsearch; Splunk, Kafka or Kinesis reachable"}
}

// actionLogsOffline: LOGS_MODEL chooses the backend; LOGS_MODEL_CONFIG must
// then name a producer that fits it and hold that producer's settings.
func actionLogsOffline(c *Context, l *problem.List) {
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
			if present(es, "access_key") != present(es, "secret_key") && !wrongType(es, "access_key") && !wrongType(es, "secret_key") {
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
