package validators

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync/atomic"

	"github.com/quay-tools/config-editor/internal/problem"
	"github.com/quay-tools/config-editor/internal/secret"
	"github.com/redis/go-redis/v9"
)

// The Redis PING shared by the Redis, BuildManager and ModelCache groups:
// each Redis object of the config (host, port, password, TLS) is one
// endpoint; a probe dials it itself (bound to the probe's deadline, TLS
// with the bundle's CAs) and hands that one connection to go-redis, which
// then authenticates and sends PING. go-redis never dials, so it has no
// dial failure to log or to retry.
//
// Objects that name the same server with the same credentials and TLS
// setting (BUILDLOGS_REDIS and USER_EVENTS_REDIS often do) share one
// connection and one PING per validation: the answer proves each of them,
// and each still gets its own record.

// redisEndpoint is one Redis server as one config object describes it; each
// has its own host, port, password and TLS setting.
type redisEndpoint struct {
	group    string
	path     *problem.Path // the object, e.g. BUILDLOGS_REDIS
	host     string
	port     int
	username string
	Password secret.Secret // exported, so fmt shows <secret> even in %+v of the struct
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
	if pw, ok := m[passwordKey].(string); ok {
		e.Password = secret.New(pw)
	}
	e.username, _ = m["username"].(string)
	e.ssl, _ = m[sslKey].(bool)
	return e, true
}

func (e redisEndpoint) probe(c *Context) Probe {
	return Probe{Name: fmt.Sprintf("%s (Redis at %s)", e.path, hostPort(e.host, e.port)),
		Run: func(ctx context.Context, l *problem.List) { probeRedis(ctx, c, e, l) }}
}

// redisServer is what one PING answers for: the same address, TLS setting
// and credentials get the same answer.
type redisServer struct {
	host, username string
	Password       secret.Secret
	port           int
	ssl, cluster   bool
}

// redisAnswer is what the server said: the error of the dial or of PING,
// and for a cluster node the CLUSTER INFO outcome.
type redisAnswer struct {
	err          error
	clusterErr   error
	clusterState string
}

func probeRedis(ctx context.Context, c *Context, e redisEndpoint, l *problem.List) {
	server := redisServer{host: e.host, username: e.username, Password: e.Password, port: e.port, ssl: e.ssl, cluster: e.cluster}
	v, ok := c.share(ctx, server, func() any { return pingRedis(ctx, c, e) })
	if !ok {
		return // the probe's own deadline came first; the runner says so
	}
	ans := v.(redisAnswer)
	addr := hostPort(e.host, e.port)
	how := "without TLS"
	if e.ssl {
		how = "over TLS"
	}
	switch {
	case ans.err != nil:
		e.fail(l, addr, how, ans.err)
	case e.cluster:
		reportClusterNode(e, addr, how, ans, l)
	default:
		l.Passedf(e.group, e.path, "PING answered by the Redis of %s at %s %s.", e.path, addr, how)
	}
}

// pingRedis dials the Redis of e and sends PING (and, for a cluster
// node, CLUSTER INFO).
func pingRedis(ctx context.Context, c *Context, e redisEndpoint) redisAnswer {
	addr := hostPort(e.host, e.port)
	var (
		conn net.Conn
		err  error
	)
	if e.ssl {
		conn, err = dialTLS(ctx, addr, c.TLSConfig(e.host))
	} else {
		conn, err = dialerFor(ctx)(ctx, "tcp", addr)
	}
	if err != nil {
		return redisAnswer{err: err}
	}
	client := redis.NewClient(redisOptions(ctx, addr, e, conn))
	defer client.Close()
	if err := client.Ping(ctx).Err(); err != nil {
		return redisAnswer{err: err}
	}
	if !e.cluster {
		return redisAnswer{}
	}
	info, err := client.ClusterInfo(ctx).Result()
	if err != nil {
		return redisAnswer{clusterErr: err}
	}
	ans := redisAnswer{}
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "cluster_state:"); ok {
			ans.clusterState = v
		}
	}
	return ans
}

// redisOptions makes a go-redis client of one connection that is already
// open: no dial, no retry, no pool beyond it.
func redisOptions(ctx context.Context, addr string, e redisEndpoint, conn net.Conn) *redis.Options {
	var handed atomic.Bool
	opts := &redis.Options{
		Addr:     addr,
		Username: e.username,
		Password: e.Password.Reveal(),
		Dialer: func(context.Context, string, string) (net.Conn, error) {
			if handed.Swap(true) {
				return nil, errors.New("the connection to the Redis was lost")
			}
			return conn, nil
		},
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
	return opts
}

// fail records why the Redis of e could not be PINGed, on the key that
// fixes it (the password, the TLS switch) when the answer says which.
func (e redisEndpoint) fail(l *problem.List, addr, how string, err error) {
	msg := err.Error()
	path := e.path
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
	l.ErrorTags(e.group, path, []string{}, "could not PING the Redis of %s at %s %s: %s.", e.path, addr, how, what)
}

// reportClusterNode: a startup node of engine rediscluster must be a Redis
// Cluster node whose cluster is healthy (cluster_state:ok); a plain Redis
// answers PING too, but Quay's cluster client cannot use it.
func reportClusterNode(e redisEndpoint, addr, how string, ans redisAnswer, l *problem.List) {
	if err := ans.clusterErr; err != nil {
		if strings.Contains(err.Error(), "cluster support disabled") {
			l.ErrorTags(e.group, e.path, []string{}, "the Redis at %s (%s) answers PING but is not in cluster mode, so engine rediscluster cannot use it; set engine: redis with redis_config.primary, or point startup_nodes at Redis Cluster nodes.", addr, how)
			return
		}
		l.ErrorTags(e.group, e.path, []string{}, "the Redis at %s (%s) answers PING, but CLUSTER INFO failed: %s.", addr, how, describeErr(err))
		return
	}
	if ans.clusterState != "ok" {
		l.ErrorTags(e.group, e.path, []string{}, "the Redis Cluster node at %s (%s) reports cluster_state:%s; the cluster cannot serve every hash slot (check CLUSTER INFO and CLUSTER NODES).", addr, how, ans.clusterState)
		return
	}
	l.Passedf(e.group, e.path, "the Redis Cluster node at %s (%s) answers PING and reports cluster_state:ok.", addr, how)
}
