package validators

import (
	"net"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/quay-tools/config-editor/internal/problem"
	"github.com/quay-tools/config-editor/internal/testenv"
)

func TestRedisOnline(t *testing.T) {
	rs := testenv.Redis(t)
	ca := map[string][]byte{"extra_ca_certs/test-ca.crt": testenv.CA().CAPEM}
	obj := func(port int, password any, ssl bool) map[string]any {
		m := map[string]any{"host": rs.Host, "port": port, "ssl": ssl}
		if password != nil {
			m["password"] = password
		}
		return m
	}
	t.Run("password OK on every key", func(t *testing.T) {
		cfg := map[string]any{
			"BUILDLOGS_REDIS":    obj(rs.Port, rs.Password, false),
			"USER_EVENTS_REDIS":  obj(rs.Port, rs.Password, false),
			"PULL_METRICS_REDIS": obj(rs.TLSPort, rs.Password, true),
		}
		ps := validateOnline(t, onlineBundle(t, cfg, ca), "Redis")
		wantNoErrors(t, ps, "Redis")
	})
	t.Run("each key has its own settings", func(t *testing.T) {
		cfg := map[string]any{
			"BUILDLOGS_REDIS":   obj(rs.Port, rs.Password, false),
			"USER_EVENTS_REDIS": obj(rs.Port, "wrong-one", false),
		}
		ps := validateOnline(t, onlineBundle(t, cfg, nil), "Redis")
		wantProblem(t, ps, "Redis", "USER_EVENTS_REDIS.password", problem.Error, "WRONGPASS", rs.Addr())
		for _, p := range ps {
			if p.Path.String() == "BUILDLOGS_REDIS" || p.Path.String() == "BUILDLOGS_REDIS.password" {
				t.Fatalf("BUILDLOGS_REDIS is fine, got %s", p)
			}
		}
		wantNoSecret(t, ps, "wrong-one", rs.Password)
	})
	t.Run("no password", func(t *testing.T) {
		ps := validateOnline(t, onlineBundle(t, map[string]any{"BUILDLOGS_REDIS": obj(rs.Port, nil, false)}, nil), "Redis")
		wantProblem(t, ps, "Redis", "BUILDLOGS_REDIS.password", problem.Error, "NOAUTH", "none is configured")
	})
	t.Run("TLS untrusted", func(t *testing.T) {
		ps := validateOnline(t, onlineBundle(t, map[string]any{"BUILDLOGS_REDIS": obj(rs.TLSPort, rs.Password, true)}, nil), "Redis")
		wantProblem(t, ps, "Redis", "BUILDLOGS_REDIS.ssl", problem.Error, "unknown authority", rs.TLSAddr(), "over TLS")
	})
	t.Run("build manager orchestrator", func(t *testing.T) {
		cfg := map[string]any{"BUILD_MANAGER": []any{"ephemeral", map[string]any{"ORCHESTRATOR": map[string]any{
			"REDIS_HOST": rs.Host, "REDIS_PORT": rs.TLSPort, "REDIS_PASSWORD": "nope", "REDIS_SSL": true}}}}
		ps := validateOnline(t, onlineBundle(t, cfg, ca), "BuildManager")
		wantProblem(t, ps, "BuildManager", "BUILD_MANAGER[1].ORCHESTRATOR.REDIS_PASSWORD", problem.Error, "WRONGPASS", rs.TLSAddr())
		cfg["BUILD_MANAGER"].([]any)[1].(map[string]any)["ORCHESTRATOR"].(map[string]any)["REDIS_PASSWORD"] = rs.Password
		for _, p := range validateOnline(t, onlineBundle(t, cfg, ca), "BuildManager") {
			if p.Path.String() == "BUILD_MANAGER[1].ORCHESTRATOR" || p.Path.String() == "BUILD_MANAGER[1].ORCHESTRATOR.REDIS_PASSWORD" {
				t.Fatalf("right password: %s", p)
			}
		}
	})
	t.Run("model cache primary and replica", func(t *testing.T) {
		cfg := map[string]any{"DATA_MODEL_CACHE_CONFIG": map[string]any{"engine": "redis", "redis_config": map[string]any{
			"primary": obj(rs.TLSPort, rs.Password, true),
			"replica": obj(rs.Port, nil, false)}}}
		ps := validateOnline(t, onlineBundle(t, cfg, ca), "ModelCache")
		wantProblem(t, ps, "ModelCache", "DATA_MODEL_CACHE_CONFIG.redis_config.replica.password", problem.Error, "NOAUTH")
		for _, p := range ps {
			if p.Severity == problem.Error && p.Path.String() != "DATA_MODEL_CACHE_CONFIG.redis_config.replica.password" {
				t.Fatalf("unexpected %s", p)
			}
		}
	})
	t.Run("model cache rediscluster", func(t *testing.T) {
		cn := testenv.RedisCluster(t)
		cluster := func(password string, nodes ...map[string]any) map[string]any {
			list := make([]any, len(nodes))
			for i, n := range nodes {
				list[i] = n
			}
			return map[string]any{"DATA_MODEL_CACHE_CONFIG": map[string]any{"engine": "rediscluster", "redis_config": map[string]any{
				"startup_nodes": list, "password": password}}}
		}
		node := map[string]any{"host": cn.Host, "port": cn.Port}
		ps, passed := validatePassed(t, cluster(cn.Password, node), nil, "ModelCache")
		wantNoErrors(t, ps, "ModelCache")
		wantPassed(t, passed, "ModelCache", "cluster_state:ok")

		ps = validateOnline(t, onlineBundle(t, cluster("wrong-secret-value", node), nil), "ModelCache")
		wantProblem(t, ps, "ModelCache", "DATA_MODEL_CACHE_CONFIG.redis_config.startup_nodes[0]", problem.Error, "WRONGPASS")

		// a plain Redis answers PING but cannot serve a cluster client
		plain := map[string]any{"host": rs.Host, "port": rs.Port}
		ps = validateOnline(t, onlineBundle(t, cluster(rs.Password, plain), nil), "ModelCache")
		wantProblem(t, ps, "ModelCache", "DATA_MODEL_CACHE_CONFIG.redis_config.startup_nodes[0]", problem.Error, "not in cluster mode", "engine: redis")
		wantNoSecret(t, ps, rs.Password, cn.Password, "wrong-secret-value")
	})
}

// countingProxy forwards every connection to target and counts them.
func countingProxy(t *testing.T, target string) (string, *atomic.Int64) {
	return tcpProxy(t, target, nil)
}

// Redis objects that name the same server with the same credentials share
// one connection and one PING per validation, across groups; each still
// gets its own record, and other credentials get their own connection.
func TestRedisSameServerOnePing(t *testing.T) {
	rs := testenv.Redis(t)
	addr, accepted := countingProxy(t, rs.Addr())
	host, portStr, _ := net.SplitHostPort(addr)
	port, _ := strconv.Atoi(portStr)
	obj := func(password string) map[string]any {
		return map[string]any{"host": host, "port": port, "password": password}
	}
	cfg := map[string]any{
		"BUILDLOGS_REDIS":    obj(rs.Password),
		"USER_EVENTS_REDIS":  obj(rs.Password),
		"PULL_METRICS_REDIS": obj("wrong-one"),
		"BUILD_MANAGER": []any{"ephemeral", map[string]any{
			"ORCHESTRATOR": map[string]any{"REDIS_HOST": host, "REDIS_PORT": port, "REDIS_PASSWORD": rs.Password},
			"EXECUTORS":    []any{map[string]any{"EXECUTOR": "kubernetes", "BUILDER_NAMESPACE": "builder"}}}},
	}
	ps, passed := validatePassed(t, cfg, nil, "Redis", "BuildManager")
	wantPassed(t, passed, "Redis", "PING answered", "BUILDLOGS_REDIS", addr)
	wantPassed(t, passed, "Redis", "PING answered", "USER_EVENTS_REDIS", addr)
	wantPassed(t, passed, "BuildManager", "PING answered", "ORCHESTRATOR", addr)
	wantProblem(t, ps, "Redis", "PULL_METRICS_REDIS.password", problem.Error, "WRONGPASS")
	wantNoSecret(t, ps, "wrong-one", rs.Password)
	if n := accepted.Load(); n != 2 {
		t.Errorf("%d connections to the Redis, want 2 (one per set of credentials)", n)
	}
}
