package validators

import (
	"strings"

	"github.com/quay-tools/config-editor/internal/problem"
)

const groupModelCache = "ModelCache"

func modelCacheCheck() Check {
	return Check{Group: groupModelCache, Offline: modelCacheOffline,
		OnlineProof: "PING the Redis or dial memcached"}
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
