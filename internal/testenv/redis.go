package testenv

import (
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// RedisServer is a private redis-server on 127.0.0.1 with requirepass, a
// plain port and a TLS port (test cert; client certs not required).
type RedisServer struct {
	Host     string // 127.0.0.1
	Port     int
	TLSPort  int
	Password string

	Dir string
}

var sharedRedis = newShared[RedisServer]()

// Redis returns the shared private Redis server, starting it if needed.
func Redis(t testing.TB) *RedisServer {
	t.Helper()
	return sharedRedis.get(t, "redis", startRedis)
}

// startRedisServer runs a private redis-server on 127.0.0.1:port with
// requirepass, no persistence and the given extra arguments, and waits
// until every one of ports accepts connections.
func startRedisServer(e *env, name, logName, password string, ports []int, extra ...string) (*proc, error) {
	bin, err := findBin("redis-server", "/usr/bin/redis-server")
	if err != nil {
		return nil, &missingError{what: "redis-server (Debian package redis-server)"}
	}
	args := append([]string{
		"--port", strconv.Itoa(ports[0]),
		"--bind", "127.0.0.1",
		"--requirepass", password,
		"--dir", e.dir,
		"--save", "",
		"--appendonly", "no",
		"--daemonize", "no",
		"--logfile", "",
	}, extra...)
	p, err := startProc(e, name, "", filepath.Join(e.dir, logName), syscall.SIGTERM, nil, bin, args...)
	if err != nil {
		return nil, err
	}
	for _, port := range ports {
		if err := waitFor(p, fmt.Sprintf("%s port %d", name, port), dialCheck(hostPort(port))); err != nil {
			return nil, err
		}
	}
	return p, nil
}

func startRedis(e *env) (*RedisServer, error) {
	ports, err := freePorts(2)
	if err != nil {
		return nil, err
	}
	r := &RedisServer{Host: "127.0.0.1", Port: ports[0], TLSPort: ports[1], Password: randHex(12), Dir: e.dir}
	ca := CA()
	if _, err := startRedisServer(e, "redis-server", "redis.log", r.Password, ports,
		"--tls-port", strconv.Itoa(r.TLSPort),
		"--tls-cert-file", ca.ServerCertFile,
		"--tls-key-file", ca.ServerKeyFile,
		"--tls-ca-cert-file", ca.CAFile,
		"--tls-auth-clients", "no",
	); err != nil {
		return nil, err
	}
	return r, nil
}

// Addr is host:port of the plain port.
func (r *RedisServer) Addr() string { return hostPort(r.Port) }

// TLSAddr is host:port of the TLS port.
func (r *RedisServer) TLSAddr() string { return hostPort(r.TLSPort) }

// RedisClusterNode is a private single-node Redis Cluster on 127.0.0.1:
// cluster mode on, every hash slot assigned to the node, requirepass, no
// TLS. It is what DATA_MODEL_CACHE_CONFIG engine rediscluster talks to.
type RedisClusterNode struct {
	Host     string // 127.0.0.1
	Port     int
	Password string
}

var sharedRedisCluster = newShared[RedisClusterNode]()

// RedisCluster returns the shared single-node Redis Cluster, starting it
// (and waiting for cluster_state:ok) if needed.
func RedisCluster(t testing.TB) *RedisClusterNode {
	t.Helper()
	return sharedRedisCluster.get(t, "rediscluster", startRedisCluster)
}

func startRedisCluster(e *env) (*RedisClusterNode, error) {
	cli, err := findBin("redis-cli", "/usr/bin/redis-cli")
	if err != nil {
		return nil, &missingError{what: "redis-cli (Debian package redis-tools)"}
	}
	ports, err := freePorts(1)
	if err != nil {
		return nil, err
	}
	r := &RedisClusterNode{Host: "127.0.0.1", Port: ports[0], Password: randHex(12)}
	logPath := filepath.Join(e.dir, "redis-cluster.log")
	p, err := startRedisServer(e, "redis-server (cluster)", "redis-cluster.log", r.Password, ports,
		"--masterauth", r.Password,
		"--cluster-enabled", "yes",
		"--cluster-config-file", filepath.Join(e.dir, "nodes.conf"),
	)
	if err != nil {
		return nil, err
	}
	run := func(args ...string) (string, error) {
		base := []string{"-h", r.Host, "-p", strconv.Itoa(r.Port), "--no-auth-warning", "-a", r.Password}
		out, err := exec.Command(cli, append(base, args...)...).CombinedOutput()
		if err != nil {
			return "", fmt.Errorf("redis-cli %s: %v: %s", strings.Join(args, " "), err, out)
		}
		return string(out), nil
	}
	if out, err := run("CLUSTER", "ADDSLOTSRANGE", "0", "16383"); err != nil || !strings.Contains(out, "OK") {
		return nil, fmt.Errorf("assigning the hash slots: %v %s\n%s", err, out, tail(logPath))
	}
	if err := waitFor(p, "cluster_state:ok", func() error {
		out, err := run("CLUSTER", "INFO")
		if err != nil {
			return err
		}
		if !strings.Contains(out, "cluster_state:ok") {
			return errors.New("cluster_state is not ok yet")
		}
		return nil
	}); err != nil {
		return nil, err
	}
	return r, nil
}
