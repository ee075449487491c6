package validators

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/quay-tools/config-editor/internal/problem"
)

func init() {
	probes[groupRedis] = redisProbes
	probes[groupBuildManager] = buildManagerProbes
	probes[groupModelCache] = modelCacheProbes
	// go-redis logs dial failures to stderr; the probe reports them itself.
	redis.SetLogger(quietLog{})
}

type quietLog struct{}

func (quietLog) Printf(context.Context, string, ...any) {}

// redisEndpoint is one Redis server as one config object describes it; each
// has its own host, port, password and TLS setting.
type redisEndpoint struct {
	group    string
	path     *problem.Path // the object, e.g. BUILDLOGS_REDIS
	host     string
	port     int
	username string
	password string
	ssl      bool
	cluster  bool // a startup node of engine rediscluster: must be in cluster mode
	// keys of the object, for paths in messages
	hostKey, passwordKey, sslKey string
}

// redisFrom reads a Redis object with the given key names; ok is false when
// it has no usable host (the offline rules report that).
func redisFrom(group string, path *problem.Path, m map[string]any, hostKey, portKey, passwordKey, sslKey string) (redisEndpoint, bool) {
	e := redisEndpoint{group: group, path: path, hostKey: hostKey, passwordKey: passwordKey, sslKey: sslKey, port: 6379}
	e.host = strings.TrimSpace(str(m, hostKey))
	if e.host == "" || strings.ContainsAny(e.host, " /") || strings.Contains(e.host, "://") {
		return e, false
	}
	if p, ok := AsInt(m[portKey]); ok {
		if p < 1 || p > 65535 {
			return e, false
		}
		e.port = p
	} else if m[portKey] != nil {
		return e, false
	}
	e.password, _ = m[passwordKey].(string)
	e.username, _ = m["username"].(string)
	e.ssl, _ = m[sslKey].(bool)
	return e, true
}

func (e redisEndpoint) probe(c *Context) Probe {
	return Probe{Name: fmt.Sprintf("%s (Redis at %s)", e.path, hostPort(e.host, e.port)),
		Run: func(ctx context.Context, l *problem.List) { probeRedis(ctx, c, e, l) }}
}

func redisProbes(c *Context) []Probe {
	var out []Probe
	for _, key := range []string{"BUILDLOGS_REDIS", "USER_EVENTS_REDIS", "PULL_METRICS_REDIS"} {
		if m := c.Map(key); m != nil {
			if e, ok := redisFrom(groupRedis, at(key), m, "host", "port", "password", "ssl"); ok {
				out = append(out, e.probe(c))
			}
		}
	}
	return out
}

// buildManagerProbes: the orchestrator Redis of BUILD_MANAGER[1].
func buildManagerProbes(c *Context) []Probe {
	bm := c.List("BUILD_MANAGER")
	if len(bm) < 2 {
		return nil
	}
	settings, _ := bm[1].(map[string]any)
	orch, _ := settings["ORCHESTRATOR"].(map[string]any)
	if orch == nil {
		return nil
	}
	path := at("BUILD_MANAGER").Index(1).Child("ORCHESTRATOR")
	if e, ok := redisFrom(groupBuildManager, path, orch, "REDIS_HOST", "REDIS_PORT", "REDIS_PASSWORD", "REDIS_SSL"); ok {
		return []Probe{e.probe(c)}
	}
	return nil
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

func probeRedis(ctx context.Context, c *Context, e redisEndpoint, l *problem.List) {
	addr := hostPort(e.host, e.port)
	how := "without TLS"
	dial := dialerFor(ctx)
	if e.ssl {
		how = "over TLS"
		tc := c.TLSConfig(e.host)
		dial = func(dctx context.Context, network, a string) (net.Conn, error) {
			return dialTLS(ctx, a, tc)
		}
	}
	opts := &redis.Options{
		Addr:            addr,
		Username:        e.username,
		Password:        e.password,
		Dialer:          dial,
		Protocol:        2,
		DisableIdentity: true,
		MaxRetries:      -1,
		DialerRetries:   1,
		PoolSize:        1,
		MinIdleConns:    0,
		MaxIdleConns:    0,
	}
	if dl, ok := ctx.Deadline(); ok {
		d := timeUntil(dl)
		opts.DialTimeout, opts.ReadTimeout, opts.WriteTimeout, opts.PoolTimeout = d, d, d, d
	}
	client := redis.NewClient(opts)
	defer client.Close()
	err := client.Ping(ctx).Err()
	if err == nil && e.cluster {
		checkClusterNode(ctx, client, e, addr, how, l)
		return
	}
	if err == nil {
		l.Passedf(e.group, e.path, "PING answered by the Redis of %s at %s %s.", e.path, addr, how)
		return
	}
	msg := err.Error()
	path, tags := e.path, []string{}
	var what string
	switch {
	case strings.HasPrefix(msg, "WRONGPASS"), strings.Contains(msg, "invalid password"), strings.Contains(msg, "invalid username-password"):
		what = "the server rejected the password (WRONGPASS)"
		if e.passwordKey != "" {
			path = e.path.Child(e.passwordKey)
		}
	case strings.HasPrefix(msg, "NOAUTH"):
		what = "the server requires a password (NOAUTH) but none is configured"
		if e.passwordKey != "" {
			path = e.path.Child(e.passwordKey)
		}
	case strings.Contains(msg, "AUTH <password> called without any password configured"), strings.Contains(msg, "without any password configured"):
		what = "a password is configured but the server has none; remove it"
		if e.passwordKey != "" {
			path = e.path.Child(e.passwordKey)
		}
	default:
		var re redis.Error
		if errors.As(err, &re) {
			what = "the server answered " + msg
		} else {
			what = describeErr(err)
			if e.ssl && strings.HasPrefix(what, "TLS") && e.sslKey != "" {
				path = e.path.Child(e.sslKey)
			}
			if !e.ssl && (strings.Contains(what, "closed the connection") || strings.Contains(what, "reset")) {
				what += "; if the server only speaks TLS, set " + e.sslKey + ": true"
			}
		}
	}
	l.ErrorTags(e.group, path, tags, "could not PING the Redis of %s at %s %s: %s.", e.path, addr, how, what)
}

// checkClusterNode: a startup node of engine rediscluster must be a Redis
// Cluster node whose cluster is healthy (cluster_state:ok); a plain Redis
// answers PING too, but Quay's cluster client cannot use it.
func checkClusterNode(ctx context.Context, client *redis.Client, e redisEndpoint, addr, how string, l *problem.List) {
	info, err := client.ClusterInfo(ctx).Result()
	if err != nil {
		if strings.Contains(err.Error(), "cluster support disabled") {
			l.ErrorTags(e.group, e.path, []string{}, "the Redis at %s (%s) answers PING but is not in cluster mode, so engine rediscluster cannot use it; set engine: redis with redis_config.primary, or point startup_nodes at Redis Cluster nodes.", addr, how)
			return
		}
		l.ErrorTags(e.group, e.path, []string{}, "the Redis at %s (%s) answers PING, but CLUSTER INFO failed: %s.", addr, how, describeErr(err))
		return
	}
	state := ""
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "cluster_state:"); ok {
			state = v
		}
	}
	if state != "ok" {
		l.ErrorTags(e.group, e.path, []string{}, "the Redis Cluster node at %s (%s) reports cluster_state:%s; the cluster cannot serve every hash slot (check CLUSTER INFO and CLUSTER NODES).", addr, how, state)
		return
	}
	l.Passedf(e.group, e.path, "the Redis Cluster node at %s (%s) answers PING and reports cluster_state:ok.", addr, how)
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
