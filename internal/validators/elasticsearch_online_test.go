package validators

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/quay-tools/config-editor/internal/problem"
)

// Elasticsearch, Splunk and Kinesis cannot run here (no package for them):
// httptest fakes check the credentials the way the real services do. Kafka
// is a loopback listener that speaks the ApiVersions exchange.

func logsValidate(t *testing.T, srvs []*httptest.Server, model string, cfg map[string]any) []problem.Problem {
	t.Helper()
	return logsValidateHosted(t, srvs, model, cfg, HostedEndpoints{})
}

func logsValidateHosted(t *testing.T, srvs []*httptest.Server, model string, cfg map[string]any, hosted HostedEndpoints) []problem.Problem {
	t.Helper()
	files := map[string][]byte{}
	for i, s := range srvs {
		if s.TLS != nil {
			files["extra_ca_certs/fake"+string(rune('a'+i))+".crt"] = pemOf(s.Certificate().Raw)
		}
	}
	ps := validateOnlineHosted(t, onlineBundle(t, map[string]any{"LOGS_MODEL": model, "LOGS_MODEL_CONFIG": cfg}, files), hosted, groupElastic)
	wantNoSecret(t, ps, "es-secret-123", "splunk-token-xyz", "hec-token-abc", "wrong-secret-value")
	return ps
}

func hostPortOf(t *testing.T, s *httptest.Server) (string, int) {
	a := s.Listener.Addr().(*net.TCPAddr)
	return a.IP.String(), a.Port
}

func TestLogsElasticOnline(t *testing.T) {
	es := func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != "elastic" || p != "es-secret-123" {
			w.Header().Set("WWW-Authenticate", `Basic realm="security"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"name": "node-1", "version": map[string]any{"number": "8.15.0"}})
	}
	tlsSrv := httptest.NewTLSServer(http.HandlerFunc(es))
	defer tlsSrv.Close()
	plain := httptest.NewServer(http.HandlerFunc(es))
	defer plain.Close()
	cfg := func(s *httptest.Server, secret string, useSSL bool) map[string]any {
		h, p := hostPortOf(t, s)
		return map[string]any{"producer": "elasticsearch", "elasticsearch_config": map[string]any{
			"host": h, "port": p, "access_key": "elastic", "secret_key": secret, "use_ssl": useSSL}}
	}
	srvs := []*httptest.Server{tlsSrv}
	wantNoErrors(t, logsValidate(t, srvs, "elasticsearch", cfg(tlsSrv, "es-secret-123", true)), groupElastic)
	wantNoErrors(t, logsValidate(t, srvs, "elasticsearch", cfg(plain, "es-secret-123", false)), groupElastic)
	ps := logsValidate(t, srvs, "elasticsearch", cfg(tlsSrv, "wrong-secret-value", true))
	wantProblem(t, ps, groupElastic, "LOGS_MODEL_CONFIG.elasticsearch_config.secret_key", problem.Error, "401", "basic auth as elastic")
	ps = logsValidate(t, nil, "elasticsearch", cfg(tlsSrv, "es-secret-123", true))
	wantProblem(t, ps, groupElastic, "LOGS_MODEL_CONFIG.elasticsearch_config.host", problem.Error, "unknown authority")
	ps = logsValidate(t, srvs, "elasticsearch", cfg(plain, "es-secret-123", true))
	wantProblem(t, ps, groupElastic, "LOGS_MODEL_CONFIG.elasticsearch_config.host", problem.Error, "use_ssl: true", "did not answer with TLS")
}

func TestLogsSplunkOnline(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/services/server/info":
			if r.Header.Get("Authorization") != "Bearer splunk-token-xyz" {
				w.WriteHeader(http.StatusUnauthorized)
				io.WriteString(w, `{"messages":[{"type":"WARN","text":"call not properly authenticated"}]}`)
				return
			}
			io.WriteString(w, `{"entry":[{"content":{"version":"9.3.0"}}]}`)
		case "/services/collector/event":
			switch r.Header.Get("Authorization") {
			case "":
				w.WriteHeader(http.StatusUnauthorized)
				io.WriteString(w, `{"text":"Token is required","code":2}`)
			case "Splunk hec-token-abc":
				body, _ := io.ReadAll(r.Body)
				if len(body) == 0 {
					w.WriteHeader(http.StatusBadRequest)
					io.WriteString(w, `{"text":"No data","code":5}`)
					return
				}
				io.WriteString(w, `{"text":"Success","code":0}`)
			default:
				w.WriteHeader(http.StatusForbidden)
				io.WriteString(w, `{"text":"Invalid token","code":4}`)
			}
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	h, p := hostPortOf(t, srv)
	srvs := []*httptest.Server{srv}
	splunk := func(tok string) map[string]any {
		return map[string]any{"producer": "splunk", "splunk_config": map[string]any{"host": h, "port": p, "bearer_token": tok, "index_prefix": "quay"}}
	}
	hec := func(tok string) map[string]any {
		return map[string]any{"producer": "splunk_hec", "splunk_hec_config": map[string]any{"host": h, "port": p, "hec_token": tok}}
	}
	wantNoErrors(t, logsValidate(t, srvs, "splunk", splunk("splunk-token-xyz")), groupElastic)
	ps := logsValidate(t, srvs, "splunk", splunk("wrong-secret-value"))
	wantProblem(t, ps, groupElastic, "LOGS_MODEL_CONFIG.splunk_config.bearer_token", problem.Error, "rejected bearer_token", "401")
	wantNoErrors(t, logsValidate(t, srvs, "splunk", hec("hec-token-abc")), groupElastic)
	ps = logsValidate(t, srvs, "splunk", hec("wrong-secret-value"))
	wantProblem(t, ps, groupElastic, "LOGS_MODEL_CONFIG.splunk_hec_config.hec_token", problem.Error, "Splunk HEC", "Invalid token")
}

// kafkaListener answers ApiVersions v0 like a broker (an empty api list),
// or, when garbage is set, writes something else and closes.
func kafkaListener(t *testing.T, garbage bool) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func(c net.Conn) {
				defer c.Close()
				var hdr [12]byte
				if _, err := io.ReadFull(c, hdr[:]); err != nil {
					return
				}
				size := binary.BigEndian.Uint32(hdr[:4])
				_, _ = io.CopyN(io.Discard, c, int64(size)-8)
				if garbage {
					io.WriteString(c, "HTTP/1.1 400 Bad Request\r\n\r\n")
					return
				}
				if binary.BigEndian.Uint16(hdr[4:6]) != 18 {
					return
				}
				resp := binary.BigEndian.AppendUint32(nil, 10)
				resp = append(resp, hdr[8:12]...)             // correlation id
				resp = binary.BigEndian.AppendUint16(resp, 0) // error code
				resp = binary.BigEndian.AppendUint32(resp, 0) // api versions array: empty
				_, _ = c.Write(resp)
			}(c)
		}
	}()
	return ln.Addr().String()
}

func TestLogsKafkaOnline(t *testing.T) {
	good, bad := kafkaListener(t, false), kafkaListener(t, true)
	closed, _ := net.Listen("tcp", "127.0.0.1:0")
	refused := closed.Addr().String()
	closed.Close()
	cfg := map[string]any{"producer": "kafka", "kafka_config": map[string]any{"topic": "quay", "bootstrap_servers": []any{good, bad, refused}},
		"elasticsearch_config": map[string]any{"host": "127.0.0.1", "port": refusedPort(refused), "use_ssl": false}}
	ps := logsValidate(t, nil, "elasticsearch", cfg)
	for _, p := range ps {
		if p.Path.String() == "LOGS_MODEL_CONFIG.kafka_config.bootstrap_servers[0]" {
			t.Fatalf("the working broker was reported: %s", p)
		}
	}
	wantProblem(t, ps, groupElastic, "LOGS_MODEL_CONFIG.kafka_config.bootstrap_servers[1]", problem.Error, "not like a Kafka broker")
	wantProblem(t, ps, groupElastic, "LOGS_MODEL_CONFIG.kafka_config.bootstrap_servers[2]", problem.Error, "connection refused", refused)
	wantProblem(t, ps, groupElastic, "LOGS_MODEL_CONFIG.elasticsearch_config.host", problem.Error, "connection refused")
}

func refusedPort(addr string) int {
	_, p, _ := net.SplitHostPort(addr)
	n, _ := AsInt(p)
	return n
}

func TestLogsKinesisOnline(t *testing.T) {
	es := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"version":{"number":"7.10.2"}}`)
	}))
	defer es.Close()
	esHost, esPort := hostPortOf(t, es)
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNotFound) // AWS answers a bare GET with an error: reachable
	}))
	defer srv.Close()
	target := srv.URL + "/"
	hosted := HostedEndpoints{Kinesis: func(string) string { return target }}
	cfg := map[string]any{"producer": "kinesis_stream", "kinesis_stream_config": map[string]any{"stream_name": "quay", "aws_region": "us-east-1"},
		"elasticsearch_config": map[string]any{"host": esHost, "port": esPort, "use_ssl": false, "access_key": "quay", "secret_key": "es-secret-kinesis"}}
	wantNoErrors(t, logsValidateHosted(t, []*httptest.Server{srv}, "elasticsearch", cfg, hosted), groupElastic)
	target = "https://127.0.0.1:1/"
	ps := logsValidateHosted(t, nil, "elasticsearch", cfg, hosted)
	wantProblem(t, ps, groupElastic, "LOGS_MODEL_CONFIG.kinesis_stream_config.aws_region", problem.Error, "Kinesis", "connection refused")
}

// awsVerifier checks a SigV4 Authorization the way AWS does: it signs the
// request again, with the secret of the access key named in it, over the
// headers it lists, at the time of its X-Amz-Date, and compares. It signs
// with the same helper as the probe, which sigv4_test.go holds to AWS's
// published answers.
func awsVerifier(t *testing.T, service, region string, secrets map[string]string, ok http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		deny := func(msg string) {
			w.WriteHeader(http.StatusForbidden)
			_ = json.NewEncoder(w).Encode(map[string]any{"message": msg})
		}
		auth := r.Header.Get("Authorization")
		var cred, signed string
		for _, part := range strings.Split(strings.TrimPrefix(auth, "AWS4-HMAC-SHA256 "), ", ") {
			if v, found := strings.CutPrefix(part, "Credential="); found {
				cred = v
			}
			if v, found := strings.CutPrefix(part, "SignedHeaders="); found {
				signed = v
			}
		}
		scope := strings.SplitN(cred, "/", 2)
		if !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 ") || len(scope) != 2 {
			deny("missing authentication token")
			return
		}
		secret, known := secrets[scope[0]]
		if !known || !strings.HasSuffix(scope[1], "/"+region+"/"+service+"/aws4_request") {
			deny("the security token included in the request is invalid")
			return
		}
		at, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
		if err != nil {
			deny("no X-Amz-Date")
			return
		}
		again, _ := http.NewRequest(r.Method, "https://"+r.Host+r.URL.RequestURI(), nil)
		for _, h := range strings.Split(signed, ";") {
			if h != "host" && h != "x-amz-date" {
				again.Header[http.CanonicalHeaderKey(h)] = r.Header.Values(h)
			}
		}
		if err := signV4(context.Background(), again, nil, scope[0], secret, region, service, at); err != nil {
			t.Error(err)
		}
		if again.Header.Get("Authorization") != auth {
			deny("The request signature we calculated does not match the signature you provided.")
			return
		}
		ok(w, r)
	}
}

func TestLogsElasticSigV4Online(t *testing.T) {
	srv := httptest.NewTLSServer(awsVerifier(t, "es", "eu-west-1", map[string]string{"AKESPROBE": "es-secret-123"},
		func(w http.ResponseWriter, r *http.Request) {
			_ = json.NewEncoder(w).Encode(map[string]any{"version": map[string]any{"number": "2.13.0", "distribution": "opensearch"}})
		}))
	defer srv.Close()
	h, p := hostPortOf(t, srv)
	cfg := func(secret, region string) map[string]any {
		return map[string]any{"producer": "elasticsearch", "elasticsearch_config": map[string]any{
			"host": h, "port": p, "access_key": "AKESPROBE", "secret_key": secret, "aws_region": region, "use_ssl": true}}
	}
	srvs := []*httptest.Server{srv}
	wantNoErrors(t, logsValidate(t, srvs, "elasticsearch", cfg("es-secret-123", "eu-west-1")), groupElastic)
	ps := logsValidate(t, srvs, "elasticsearch", cfg("wrong-secret-value", "eu-west-1"))
	wantProblem(t, ps, groupElastic, "LOGS_MODEL_CONFIG.elasticsearch_config.access_key", problem.Error, "403", "signed for AWS (SigV4, region eu-west-1)")
	ps = logsValidate(t, srvs, "elasticsearch", cfg("es-secret-123", "us-east-1"))
	wantProblem(t, ps, groupElastic, "LOGS_MODEL_CONFIG.elasticsearch_config.access_key", problem.Error, "403", "region us-east-1")
}
