package testenv

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// MySQL is a private MariaDB server on 127.0.0.1 with TLS (test cert) and
// --skip-name-resolve. User exists as 'quay'@'127.0.0.1' and 'quay'@'::1'.
type MySQL struct {
	Host     string // 127.0.0.1
	Port     int
	User     string // "quay"
	Password string
	DB       string // "quay"

	Dir       string
	socket    string
	clientBin string
	logPath   string
}

var sharedMySQL = newShared[MySQL]()

// MariaDB returns the shared private MariaDB server, starting it if needed.
func MariaDB(t testing.TB) *MySQL {
	t.Helper()
	return sharedMySQL.get(t, "mariadb", startMariaDB)
}

func startMariaDB(e *env) (*MySQL, error) {
	miss := &missingError{what: "MariaDB (Debian packages mariadb-server mariadb-client)"}
	mariadbd, err := findBin("mariadbd", "/usr/sbin/mariadbd", "/usr/sbin/mysqld")
	if err != nil {
		return nil, miss
	}
	installDB, err := findBin("mariadb-install-db", "/usr/bin/mariadb-install-db", "/usr/bin/mysql_install_db")
	if err != nil {
		return nil, miss
	}
	client, err := findBin("mariadb", "/usr/bin/mysql")
	if err != nil {
		return nil, miss
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	m := &MySQL{
		Host: "127.0.0.1", Port: port, User: "quay", Password: randHex(12), DB: "quay",
		Dir: e.dir, socket: filepath.Join(e.dir, "sock"), clientBin: client,
		logPath: filepath.Join(e.dir, "err.log"),
	}
	ca := CA()
	for name, b := range map[string][]byte{"server.crt": ca.ServerCertPEM, "server.key": ca.ServerKeyPEM, "ca.crt": ca.CAPEM} {
		if err := writeFile(filepath.Join(e.dir, name), b, 0o600); err != nil {
			return nil, err
		}
	}
	data := filepath.Join(e.dir, "data")
	if err := os.Mkdir(data, 0o700); err != nil {
		return nil, err
	}
	userArgs := []string{}
	if os.Geteuid() == 0 {
		userArgs = []string{"--user=mysql"}
		if err := chownTree(e.dir, "mysql"); err != nil {
			return nil, err
		}
	}
	args := append([]string{"--no-defaults"}, userArgs...)
	args = append(args, "--datadir="+data, "--auth-root-authentication-method=normal",
		"--skip-test-db", "--skip-name-resolve")
	if _, err := command(3*time.Minute, "", nil, installDB, args...); err != nil {
		return nil, err
	}
	args = append([]string{"--no-defaults"}, userArgs...)
	args = append(args,
		"--datadir="+data,
		"--bind-address=127.0.0.1",
		"--port="+strconv.Itoa(port),
		"--socket="+m.socket,
		"--pid-file="+filepath.Join(e.dir, "mariadb.pid"),
		"--skip-name-resolve",
		"--ssl-ca="+filepath.Join(e.dir, "ca.crt"),
		"--ssl-cert="+filepath.Join(e.dir, "server.crt"),
		"--ssl-key="+filepath.Join(e.dir, "server.key"),
		"--log-error="+m.logPath,
		"--innodb-buffer-pool-size=32M",
		"--innodb-log-file-size=16M",
		"--innodb-flush-log-at-trx-commit=0",
		"--skip-log-bin",
		"--performance-schema=OFF",
	)
	p, err := startProc(e, "mariadbd", "", filepath.Join(e.dir, "stdout.log"), syscall.SIGTERM, nil, mariadbd, args...)
	if err != nil {
		return nil, err
	}
	p.logPath = m.logPath
	if err := waitFor(p, "mariadb", func() error {
		_, err := m.rootSQL("SELECT 1")
		return err
	}); err != nil {
		return nil, err
	}
	q := func(s string, a ...any) string { return fmt.Sprintf(s, a...) }
	setup := q("CREATE DATABASE `%s`;", m.DB)
	for _, host := range []string{"127.0.0.1", "::1"} {
		setup += q("CREATE USER '%s'@'%s' IDENTIFIED BY '%s';", m.User, host, m.Password)
		setup += q("GRANT ALL PRIVILEGES ON `%s`.* TO '%s'@'%s';", m.DB, m.User, host)
	}
	setup += "FLUSH PRIVILEGES;"
	if _, err := m.rootSQL(setup); err != nil {
		return nil, fmt.Errorf("%v\n%s", err, tail(m.logPath))
	}
	return m, nil
}

func (m *MySQL) rootSQL(sql string) (string, error) {
	return command(30*time.Second, "", nil, m.clientBin, "--no-defaults", "-uroot",
		"--socket="+m.socket, "-N", "-B", "-e", sql)
}

// Exec runs SQL as root over the unix socket and returns the tab-separated
// output.
func (m *MySQL) Exec(t testing.TB, sql string) string {
	t.Helper()
	out, err := m.rootSQL(sql)
	if err != nil {
		t.Fatalf("testenv: mariadb: %v", err)
	}
	return strings.TrimSpace(out)
}

// Addr is host:port.
func (m *MySQL) Addr() string { return hostPort(m.Port) }

// DSN is a go-sql-driver/mysql DSN for User on DB; params (e.g.
// "tls=custom&timeout=5s") are appended after '?'.
func (m *MySQL) DSN(params string) string {
	s := fmt.Sprintf("%s:%s@tcp(%s)/%s", m.User, m.Password, m.Addr(), m.DB)
	if params != "" {
		s += "?" + params
	}
	return s
}
