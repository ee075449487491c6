package validators

import (
	"io"
	"net"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/quay-tools/config-editor/internal/problem"
	"github.com/quay-tools/config-editor/internal/testenv"
)

func pgConfig(pg *testenv.PG, db, password, sslmode string) map[string]any {
	u := url.URL{Scheme: "postgresql", User: url.UserPassword(pg.User, password), Host: pg.Addr(), Path: "/" + db}
	cfg := map[string]any{"DB_URI": u.String()}
	if sslmode != "" {
		cfg["DB_CONNECTION_ARGS"] = map[string]any{"sslmode": sslmode, "sslrootcert": "conf/stack/database.pem"}
	}
	return cfg
}

func TestPostgresOnline(t *testing.T) {
	pg := testenv.Postgres(t)
	ca := testenv.CA()
	trusted := map[string][]byte{"database.pem": ca.CAPEM}
	untrusted := map[string][]byte{"database.pem": ca.UntrustedCAPEM}

	t.Run("verify-full with database.pem", func(t *testing.T) {
		ps := validateOnline(t, onlineBundle(t, pgConfig(pg, pg.DB, pg.Password, "verify-full"), trusted), "Database")
		wantNoProblems(t, ps, "Database")
	})
	t.Run("verify-ca with database.pem", func(t *testing.T) {
		ps := validateOnline(t, onlineBundle(t, pgConfig(pg, pg.DB, pg.Password, "verify-ca"), trusted), "Database")
		wantNoErrors(t, ps, "Database")
	})
	t.Run("client certificate", func(t *testing.T) {
		certPEM, keyPEM, err := ca.ClientCert(pg.CertUser)
		if err != nil {
			t.Fatal(err)
		}
		otherPEM, otherKey, err := ca.ClientCert("someone-else")
		if err != nil {
			t.Fatal(err)
		}
		cfg := func() map[string]any {
			u := url.URL{Scheme: "postgresql", User: url.User(pg.CertUser), Host: pg.Addr(), Path: "/" + pg.DB}
			return map[string]any{"DB_URI": u.String(), "DB_CONNECTION_ARGS": map[string]any{"sslmode": "verify-full",
				"sslrootcert": "conf/stack/database.pem", "sslcert": "conf/stack/db-client.crt", "sslkey": "conf/stack/db-client.key"}}
		}
		files := func(crt, key []byte) map[string][]byte {
			return map[string][]byte{"database.pem": ca.CAPEM, "db-client.crt": crt, "db-client.key": key}
		}
		ps, passed := validatePassed(t, cfg(), files(certPEM, keyPEM), "Database")
		wantNoErrors(t, ps, "Database")
		wantPassed(t, passed, "Database", "connected to PostgreSQL", "as "+pg.CertUser)
		// a certificate for another name is refused by the server
		ps = validateOnline(t, onlineBundle(t, cfg(), files(otherPEM, otherKey)), "Database")
		wantProblem(t, ps, "Database", "DB_URI", problem.Error, "as "+pg.CertUser, "certificate authentication failed")
		wantNoSecret(t, ps, string(keyPEM), string(otherKey))
	})
	t.Run("wrong password", func(t *testing.T) {
		ps := validateOnline(t, onlineBundle(t, pgConfig(pg, pg.DB, "not-the-password", "verify-full"), trusted), "Database")
		wantProblem(t, ps, "Database", "DB_URI", problem.Error, "rejected the password of user quay", pg.Addr())
		wantNoSecret(t, ps, "not-the-password", pg.Password)
	})
	t.Run("no pg_trgm", func(t *testing.T) {
		ps := validateOnline(t, onlineBundle(t, pgConfig(pg, pg.DBNoTrgm, pg.Password, "verify-full"), trusted), "Database")
		wantProblem(t, ps, "Database", "DB_URI", problem.Error, "connected to PostgreSQL", "as quay", "extension pg_trgm is not installed in database quay_notrgm", "CREATE EXTENSION pg_trgm")
	})
	t.Run("untrusted CA", func(t *testing.T) {
		ps := validateOnline(t, onlineBundle(t, pgConfig(pg, pg.DB, pg.Password, "verify-full"), untrusted), "Database")
		wantProblem(t, ps, "Database", "DB_CONNECTION_ARGS", problem.Error, "unknown authority", pg.Addr())
	})
	t.Run("require with untrusted CA warns", func(t *testing.T) {
		cfg := pgConfig(pg, pg.DB, pg.Password, "")
		cfg["DB_CONNECTION_ARGS"] = map[string]any{"sslmode": "require"}
		ps := validateOnline(t, onlineBundle(t, cfg, nil), "Database")
		wantNoErrors(t, ps, "Database")
		wantProblem(t, ps, "Database", "DB_CONNECTION_ARGS.sslmode", problem.Warning, "without verifying", "unknown authority")
	})
	t.Run("no sslmode (prefer) connects", func(t *testing.T) {
		ps := validateOnline(t, onlineBundle(t, pgConfig(pg, pg.DB, pg.Password, ""), nil), "Database")
		wantNoErrors(t, ps, "Database")
	})
	t.Run("missing database", func(t *testing.T) {
		ps := validateOnline(t, onlineBundle(t, pgConfig(pg, "nosuchdb", pg.Password, "disable"), nil), "Database")
		p := wantProblem(t, ps, "Database", "DB_URI", problem.Error, "database nosuchdb does not exist")
		if strings.Contains(p.Message, pg.Password) {
			t.Fatal("leak")
		}
	})
}

func TestMariaDBOnline(t *testing.T) {
	my := testenv.MariaDB(t)
	ca := testenv.CA()
	cfg := func(password string) map[string]any {
		u := url.URL{Scheme: "mysql+pymysql", User: url.UserPassword(my.User, password), Host: my.Addr(), Path: "/" + my.DB}
		return map[string]any{"DB_URI": u.String(), "DB_CONNECTION_ARGS": map[string]any{"ssl": map[string]any{"ca": "conf/stack/database.pem"}}}
	}
	t.Run("TLS with database.pem", func(t *testing.T) {
		ps := validateOnline(t, onlineBundle(t, cfg(my.Password), map[string][]byte{"database.pem": ca.CAPEM}), "Database")
		wantNoErrors(t, ps, "Database")
	})
	t.Run("wrong password", func(t *testing.T) {
		ps := validateOnline(t, onlineBundle(t, cfg("bad-pass"), map[string][]byte{"database.pem": ca.CAPEM}), "Database")
		wantProblem(t, ps, "Database", "DB_URI", problem.Error, "rejected the password of user quay", "1045", my.Addr())
		wantNoSecret(t, ps, "bad-pass", my.Password)
	})
	t.Run("untrusted CA", func(t *testing.T) {
		ps := validateOnline(t, onlineBundle(t, cfg(my.Password), map[string][]byte{"database.pem": ca.UntrustedCAPEM}), "Database")
		wantProblem(t, ps, "Database", "DB_CONNECTION_ARGS.ssl", problem.Error, "unknown authority", my.Addr())
	})
}

// tlsRefusingProxy stands in front of a real PostgreSQL like a server
// without TLS: it answers N to the TLS request and passes everything else
// through. It counts the connections it accepts.
func tlsRefusingProxy(t *testing.T, target string) (string, *atomic.Int64) {
	return tcpProxy(t, target, func(c net.Conn) ([]byte, error) {
		var first [8]byte
		if _, err := io.ReadFull(c, first[:]); err != nil {
			return nil, err
		}
		if first != pgSSLRequest {
			return first[:], nil
		}
		_, err := c.Write([]byte("N"))
		return nil, err
	})
}

// sslmode=prefer (the default) takes one connection whether the server
// offers TLS or refuses it, and uses TLS when it is offered.
func TestPostgresPreferOneConnection(t *testing.T) {
	pg := testenv.Postgres(t)
	uri := func(host string) map[string]any {
		u := url.URL{Scheme: "postgresql", User: url.UserPassword(pg.User, pg.Password), Host: host, Path: "/" + pg.DB}
		return map[string]any{"DB_URI": u.String()}
	}
	proxy, accepted := tlsRefusingProxy(t, pg.Addr())
	ps, passed := validatePassed(t, uri(proxy), nil, "Database")
	wantNoErrors(t, ps, "Database")
	wantPassed(t, passed, "Database", "connected to PostgreSQL", "has pg_trgm")
	for _, p := range ps {
		if strings.Contains(p.Message, "over TLS") {
			t.Errorf("TLS through a server that refuses it: %s", p)
		}
	}
	if n := accepted.Load(); n != 1 {
		t.Errorf("a server that refuses TLS got %d connections, want 1", n)
	}
	// offered TLS is used (and, the test CA being unknown here, said to be
	// unverified)
	ps, passed = validatePassed(t, uri(pg.Addr()), nil, "Database")
	wantNoErrors(t, ps, "Database")
	wantPassed(t, passed, "Database", "connected to PostgreSQL", "has pg_trgm")
	wantProblem(t, ps, "Database", "DB_CONNECTION_ARGS.sslmode", problem.Warning, "over TLS without verifying", "sslmode prefer", "unknown authority")
}
