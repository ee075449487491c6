package testenv

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// PG is a private PostgreSQL server: scram-sha-256 for TCP, TLS on with the
// test certificate (clients may still connect without TLS), listening on
// 127.0.0.1 only.
type PG struct {
	Host     string // 127.0.0.1
	Port     int
	User     string // "quay", owner of DB and DBNoTrgm, not a superuser
	Password string
	DB       string // "quay", has the pg_trgm extension
	DBNoTrgm string // "quay_notrgm", without pg_trgm

	AdminUser     string // superuser "postgres"
	AdminPassword string

	// CertUser ("quaycert") has no password: it logs in over TLS with a
	// client certificate from CA().ClientCert(CertUser) (pg_hba "cert").
	CertUser string

	Dir       string // data dir root (socket, logs)
	socketDir string
	psqlBin   string
	binDir    string
	logPath   string
}

var sharedPG = newShared[PG]()

var pgBinGlobs = []string{"/usr/lib/postgresql/*/bin/%s", "/usr/local/pgsql/bin/%s"}

func pgBin(name string) (string, error) {
	var extra []string
	for _, g := range pgBinGlobs {
		extra = append(extra, fmt.Sprintf(g, name))
	}
	// Prefer the versioned dir (postgres, initdb are not on PATH on Debian).
	if p, ok := globBin(extra...); ok {
		return p, nil
	}
	if p, err := findBin(name); err == nil {
		return p, nil
	}
	return "", &missingError{what: "PostgreSQL " + name + " (Debian package postgresql)"}
}

// Postgres returns the shared private PostgreSQL server, starting it if
// needed.
func Postgres(t testing.TB) *PG {
	t.Helper()
	return sharedPG.get(t, "postgres", startPostgres)
}

func startPostgres(e *env) (*PG, error) {
	initdb, err := pgBin("initdb")
	if err != nil {
		return nil, err
	}
	postgres, err := pgBin("postgres")
	if err != nil {
		return nil, err
	}
	psql, err := findBin("psql", "/usr/lib/postgresql/*/bin/psql")
	if err != nil {
		return nil, &missingError{what: "psql (Debian package postgresql-client)"}
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(postgres), "..", "lib", "pg_trgm.so")); err != nil {
		if m, _ := filepath.Glob("/usr/lib/postgresql/*/lib/pg_trgm.so"); len(m) == 0 {
			return nil, &missingError{what: "pg_trgm (Debian package postgresql-contrib)"}
		}
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	pg := &PG{
		Host: "127.0.0.1", Port: port,
		User: "quay", Password: randHex(12),
		DB: "quay", DBNoTrgm: "quay_notrgm",
		AdminUser: "postgres", AdminPassword: randHex(12), CertUser: "quaycert",
		Dir: e.dir, socketDir: e.dir, psqlBin: psql, binDir: filepath.Dir(postgres),
		logPath: filepath.Join(e.dir, "postgres.log"),
	}
	ca := CA()
	data := filepath.Join(e.dir, "data")
	for name, b := range map[string][]byte{"server.crt": ca.ServerCertPEM, "server.key": ca.ServerKeyPEM, "ca.crt": ca.CAPEM} {
		if err := writeFile(filepath.Join(e.dir, name), b, 0o600); err != nil {
			return nil, err
		}
	}
	if err := writeFile(filepath.Join(e.dir, "pw"), []byte(pg.AdminPassword+"\n"), 0o600); err != nil {
		return nil, err
	}
	if err := chownTree(e.dir, "postgres"); err != nil {
		return nil, err
	}
	// initdb refuses to run as root: run it (and the server) as postgres.
	if _, err := command(2*time.Minute, "postgres", nil, initdb,
		"-D", data, "-U", pg.AdminUser, "--pwfile="+filepath.Join(e.dir, "pw"),
		"--auth-local=trust", "--auth-host=scram-sha-256",
		"-E", "UTF8", "--locale=C.UTF-8", "--no-sync"); err != nil {
		return nil, err
	}
	// the certificate-only user comes before initdb's password rules
	hba := filepath.Join(data, "pg_hba.conf")
	rules, err := os.ReadFile(hba)
	if err != nil {
		return nil, err
	}
	rules = append([]byte("hostssl all "+pg.CertUser+" 127.0.0.1/32 cert\n"), rules...)
	if err := writeFile(hba, rules, 0o600); err != nil {
		return nil, err
	}
	if err := chownTree(data, "postgres"); err != nil {
		return nil, err
	}
	p, err := startProc(e, "postgres", "postgres", pg.logPath, syscall.SIGINT, nil, postgres,
		"-D", data,
		"-c", "listen_addresses=127.0.0.1",
		"-p", strconv.Itoa(port),
		"-c", "unix_socket_directories="+e.dir,
		"-c", "password_encryption=scram-sha-256",
		"-c", "ssl=on",
		"-c", "ssl_cert_file="+filepath.Join(e.dir, "server.crt"),
		"-c", "ssl_key_file="+filepath.Join(e.dir, "server.key"),
		"-c", "ssl_ca_file="+filepath.Join(e.dir, "ca.crt"),
		"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
		"-c", "max_connections=200",
	)
	if err != nil {
		return nil, err
	}
	if err := waitFor(p, "postgres", func() error {
		_, err := pg.adminSQL("postgres", "SELECT 1")
		return err
	}); err != nil {
		return nil, err
	}
	setup := []string{
		fmt.Sprintf("CREATE ROLE %s LOGIN PASSWORD '%s'", pg.User, pg.Password),
		fmt.Sprintf("CREATE DATABASE %s OWNER %s", pg.DB, pg.User),
		fmt.Sprintf("CREATE DATABASE %s OWNER %s", pg.DBNoTrgm, pg.User),
		fmt.Sprintf("CREATE ROLE %s LOGIN", pg.CertUser),
	}
	for _, s := range setup {
		if _, err := pg.adminSQL("postgres", s); err != nil {
			return nil, fmt.Errorf("%v\n%s", err, tail(pg.logPath))
		}
	}
	if _, err := pg.adminSQL(pg.DB, "CREATE EXTENSION pg_trgm"); err != nil {
		return nil, err
	}
	return pg, nil
}

// adminSQL runs SQL as the superuser over the unix socket.
func (pg *PG) adminSQL(db, sql string) (string, error) {
	return command(30*time.Second, "", nil, pg.psqlBin, "-X", "-q", "-A", "-t",
		"-v", "ON_ERROR_STOP=1", "-h", pg.socketDir, "-p", strconv.Itoa(pg.Port),
		"-U", pg.AdminUser, "-d", db, "-c", sql)
}

// AdminSQL runs SQL as the superuser in db and returns psql's unaligned
// output.
func (pg *PG) AdminSQL(t testing.TB, db, sql string) string {
	t.Helper()
	out, err := pg.adminSQL(db, sql)
	if err != nil {
		t.Fatalf("testenv: postgres: %v", err)
	}
	return strings.TrimSpace(out)
}

// CreateDB creates a database owned by User (if it does not exist) with the
// given extensions.
func (pg *PG) CreateDB(t testing.TB, name string, extensions ...string) {
	t.Helper()
	if err := pg.createDB(name, extensions...); err != nil {
		t.Fatalf("testenv: postgres: %v", err)
	}
}

func (pg *PG) createDB(name string, extensions ...string) error {
	out, err := pg.adminSQL("postgres", fmt.Sprintf("SELECT 1 FROM pg_database WHERE datname='%s'", name))
	if err != nil {
		return err
	}
	if strings.TrimSpace(out) != "1" {
		if _, err := pg.adminSQL("postgres", fmt.Sprintf("CREATE DATABASE %q OWNER %s", name, pg.User)); err != nil {
			return err
		}
	}
	for _, ext := range extensions {
		if _, err := pg.adminSQL(name, fmt.Sprintf("CREATE EXTENSION IF NOT EXISTS %q", ext)); err != nil {
			return err
		}
	}
	return nil
}

// Addr is host:port.
func (pg *PG) Addr() string { return hostPort(pg.Port) }

// DSN is a libpq/pgx keyword DSN for User in db. sslmode "verify-ca" and
// "verify-full" add sslrootcert=<test CA file>.
func (pg *PG) DSN(db, sslmode string) string {
	s := fmt.Sprintf("host=%s port=%d user=%s password=%s dbname=%s sslmode=%s connect_timeout=10",
		pg.Host, pg.Port, pg.User, pg.Password, db, sslmode)
	if sslmode == "verify-ca" || sslmode == "verify-full" {
		s += " sslrootcert=" + CA().CAFile
	}
	return s
}

// URI is the URL form postgresql://quay:PW@127.0.0.1:PORT/db (as in Quay's
// DB_URI), without TLS parameters.
func (pg *PG) URI(db string) string {
	u := url.URL{Scheme: "postgresql", User: url.UserPassword(pg.User, pg.Password), Host: pg.Addr(), Path: "/" + db}
	return u.String()
}
