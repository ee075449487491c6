package validators

import (
	"context"
	"strings"

	"github.com/quay-tools/config-editor/internal/problem"
)

const groupModelCache = "ModelCache"

// ModelCache: the data-model cache engine. Online: PING the primary and
// replica Redis or every cluster startup node (redisclient.go), or ask
// memcached for its version.
func modelCacheCheck() Check {
	return Check{Group: groupModelCache, Offline: modelCacheOffline, Probes: modelCacheProbes}
}

// modelCacheOffline: each engine needs its own connection settings.
func modelCacheOffline(c *Context, l *problem.List) {
	cfg, ok := c.Raw["DATA_MODEL_CACHE_CONFIG"].(map[string]any)
	if !ok {
		return
	}
	base := at("DATA_MODEL_CACHE_CONFIG")
	if !requireIn(l, groupModelCache, cfg, base, "engine", "; use inmemory, memcached, redis or rediscluster") {
		return
	}
	switch engine := str(cfg, "engine"); engine {
	case "memcached":
		if !requireIn(l, groupModelCache, cfg, base, "endpoint", " for memcached; write it as [host, port]") {
			return
		}
		switch ep := cfg["endpoint"].(type) {
		case []any:
			bad := len(ep) != 2
			if !bad {
				h, _ := ep[0].(string)
				p, ok := AsInt(ep[1])
				bad = h == "" || !ok || p < 1 || p > 65535
			}
			if bad {
				l.Errorf(groupModelCache, base.Child("endpoint"), "DATA_MODEL_CACHE_CONFIG.endpoint must be [host, port], for example [memcached.example.com, 11211].")
			}
		case string:
			h, p, found := strings.Cut(ep, ":")
			n, ok := AsInt(p)
			if !found || h == "" || !ok || n < 1 || n > 65535 {
				l.Errorf(groupModelCache, base.Child("endpoint"), "DATA_MODEL_CACHE_CONFIG.endpoint %q must be host:port or [host, port].", ep)
			}
		}
	case "redis", "rediscluster":
		rc, ok := cfg["redis_config"].(map[string]any)
		if !ok {
			if cfg["redis_config"] == nil {
				l.Errorf(groupModelCache, base.Child("redis_config"), "DATA_MODEL_CACHE_CONFIG.redis_config is required for the %s engine.", engine)
			}
			return
		}
		rp := base.Child("redis_config")
		nodes, _ := rc["startup_nodes"].([]any)
		if engine == "rediscluster" && len(nodes) > 0 {
			for i, n := range nodes {
				if m, ok := n.(map[string]any); ok {
					requireIn(l, groupModelCache, m, rp.Child("startup_nodes").Index(i), "host", "")
				}
			}
			return
		}
		primary, ok := rc["primary"].(map[string]any)
		if !ok {
			if rc["primary"] == nil {
				what := "redis_config.primary"
				if engine == "rediscluster" {
					what = "redis_config.startup_nodes (or redis_config.primary)"
				}
				l.Errorf(groupModelCache, rp.Child("primary"), "DATA_MODEL_CACHE_CONFIG.%s is required for the %s engine.", what, engine)
			}
			return
		}
		if requireIn(l, groupModelCache, primary, rp.Child("primary"), "host", " for the "+engine+" engine") {
			redisTarget(l, groupModelCache, rp.Child("primary"), primary, "host", "port", "ssl", false)
		}
		if replica, ok := rc["replica"].(map[string]any); ok && requireIn(l, groupModelCache, replica, rp.Child("replica"), "host", " when a replica is configured") {
			redisTarget(l, groupModelCache, rp.Child("replica"), replica, "host", "port", "ssl", false)
		}
	}
}

// modelCacheProbes: the primary and replica Redis (redis), every startup
// node (rediscluster), or the memcached endpoint.
func modelCacheProbes(c *Context) []Probe {
	cfg := c.Map("DATA_MODEL_CACHE_CONFIG")
	if cfg == nil {
		return nil
	}
	base := at("DATA_MODEL_CACHE_CONFIG")
	rc, _ := cfg["redis_config"].(map[string]any)
	var out []Probe
	switch str(cfg, "engine") {
	case "redis", "rediscluster":
		if rc == nil {
			return nil
		}
		rp := base.Child("redis_config")
		if nodes, _ := rc["startup_nodes"].([]any); len(nodes) > 0 && str(cfg, "engine") == "rediscluster" {
			for i, n := range nodes {
				m, _ := n.(map[string]any)
				if m == nil {
					continue
				}
				node := map[string]any{"host": m["host"], "port": m["port"], "password": rc["password"], "ssl": rc["ssl"]}
				if e, ok := redisFrom(groupModelCache, rp.Child("startup_nodes").Index(i), node, "host", "port", "password", "ssl"); ok {
					e.passwordKey = "" // the password is redis_config.password
					e.cluster = true
					out = append(out, e.probe(c))
				}
			}
			return out
		}
		for _, role := range []string{"primary", "replica"} {
			if m, _ := rc[role].(map[string]any); m != nil {
				if e, ok := redisFrom(groupModelCache, rp.Child(role), m, "host", "port", "password", "ssl"); ok {
					out = append(out, e.probe(c))
				}
			}
		}
	case "memcached":
		host, port := "", 0
		switch ep := cfg["endpoint"].(type) {
		case []any:
			if len(ep) == 2 {
				host, _ = ep[0].(string)
				port, _ = AsInt(ep[1])
			}
		case string:
			h, p, _ := strings.Cut(ep, ":")
			host = h
			port, _ = AsInt(p)
		}
		if host != "" && port > 0 && port < 65536 {
			addr := hostPort(host, port)
			out = append(out, Probe{Name: "memcached at " + addr, Run: func(ctx context.Context, l *problem.List) {
				probeMemcached(ctx, addr, l)
			}})
		}
	}
	return out
}

// probeMemcached sends "version" and expects "VERSION ...".
func probeMemcached(ctx context.Context, addr string, l *problem.List) {
	path := at("DATA_MODEL_CACHE_CONFIG", "endpoint")
	conn, err := dialerFor(ctx)(ctx, "tcp", addr)
	if err != nil {
		l.Errorf(groupModelCache, path, "could not connect to memcached at %s: %s.", addr, describeErr(err))
		return
	}
	defer conn.Close()
	if _, err := conn.Write([]byte("version\r\n")); err != nil {
		l.Errorf(groupModelCache, path, "connected to memcached at %s, but could not send a command: %s.", addr, describeErr(err))
		return
	}
	buf := make([]byte, 128)
	n, err := conn.Read(buf)
	if err != nil {
		l.Errorf(groupModelCache, path, "connected to memcached at %s, but it did not answer the version command: %s.", addr, describeErr(err))
		return
	}
	if !strings.HasPrefix(string(buf[:n]), "VERSION ") {
		l.Errorf(groupModelCache, path, "%s answered the memcached version command with %q; is it a memcached server?", addr, strings.TrimSpace(string(buf[:min(n, 40)])))
	}
}
