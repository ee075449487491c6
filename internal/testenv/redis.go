package testenv

import (
	"fmt"
	"path/filepath"
	"strconv"
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

func startRedis(e *env) (*RedisServer, error) {
	bin, err := findBin("redis-server", "/usr/bin/redis-server")
	if err != nil {
		return nil, &missingError{what: "redis-server (Debian package redis-server)"}
	}
	ports, err := freePorts(2)
	if err != nil {
		return nil, err
	}
	r := &RedisServer{Host: "127.0.0.1", Port: ports[0], TLSPort: ports[1], Password: randHex(12), Dir: e.dir}
	ca := CA()
	logPath := filepath.Join(e.dir, "redis.log")
	p, err := startProc(e, "redis-server", "", logPath, syscall.SIGTERM, nil, bin,
		"--port", strconv.Itoa(r.Port),
		"--bind", "127.0.0.1",
		"--requirepass", r.Password,
		"--tls-port", strconv.Itoa(r.TLSPort),
		"--tls-cert-file", ca.ServerCertFile,
		"--tls-key-file", ca.ServerKeyFile,
		"--tls-ca-cert-file", ca.CAFile,
		"--tls-auth-clients", "no",
		"--dir", e.dir,
		"--save", "",
		"--appendonly", "no",
		"--daemonize", "no",
		"--logfile", "",
	)
	if err != nil {
		return nil, err
	}
	for _, port := range []int{r.Port, r.TLSPort} {
		if err := waitFor(p, fmt.Sprintf("redis port %d", port), dialCheck(hostPort(port))); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// Addr is host:port of the plain port.
func (r *RedisServer) Addr() string { return hostPort(r.Port) }

// TLSAddr is host:port of the TLS port.
func (r *RedisServer) TLSAddr() string { return hostPort(r.TLSPort) }
