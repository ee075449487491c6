package registry

import (
	"context"
	"fmt"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	"github.com/quay-tools/config-editor/internal/bundle"
	"github.com/quay-tools/config-editor/internal/problem"
	"github.com/quay-tools/config-editor/internal/testenv"
)

// The queue connects to DB_URI's PostgreSQL the way the Database probe
// does: TLS arguments of DB_CONNECTION_ARGS or of DB_URI's query, the CA
// read from the bundle. The private PostgreSQL serves TLS with the test
// CA, which is not in the system trust store, so verify-full connects
// only with the bundle's database.pem.
func TestQueueConnectsLikeTheDatabaseProbe(t *testing.T) {
	pg := testenv.Postgres(t)
	ca := testenv.CA()
	name := fmt.Sprintf("repl_tls_%d_%d", time.Now().UnixNano()%1e9, testSeq.Add(1))
	pg.CreateDB(t, name)
	plainURI := pg.URI(name)
	dir := t.TempDir()
	translate := func(t *testing.T, db string, files map[string][]byte) *Config {
		t.Helper()
		text := "SERVER_HOSTNAME: 127.0.0.1:1\nPREFERRED_URL_SCHEME: http\nSECRET_KEY: k\n" +
			"DISTRIBUTED_STORAGE_CONFIG:\n" +
			"  a: [LocalStorage, {storage_path: " + filepath.Join(dir, "a") + "}]\n" +
			"  b: [LocalStorage, {storage_path: " + filepath.Join(dir, "b") + "}]\n" +
			"DISTRIBUTED_STORAGE_PREFERENCE: [a, b]\nDISTRIBUTED_STORAGE_DEFAULT_LOCATIONS: [a, b]\n" +
			"FEATURE_STORAGE_REPLICATION: true\n" + db
		b, err := bundle.New([]byte(text), bundle.Limits{})
		if err != nil {
			t.Fatal(err)
		}
		for n, d := range files {
			if err := b.SetFile(n, d); err != nil {
				t.Fatal(err)
			}
		}
		cfg, ps := Translate(b, Env{})
		if problem.HasErrors(ps) {
			t.Fatalf("translate: %v", ps)
		}
		return cfg
	}
	// tls reports whether the queue's connection is encrypted.
	tlsOn := func(t *testing.T, cfg *Config) bool {
		t.Helper()
		pool, err := OpenQueue(context.Background(), cfg)
		if err != nil {
			t.Fatalf("OpenQueue: %v", err)
		}
		defer pool.Close()
		var ssl bool
		if err := pool.QueryRow(context.Background(), `SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()`).Scan(&ssl); err != nil {
			t.Fatal(err)
		}
		return ssl
	}
	trusted := map[string][]byte{"database.pem": ca.CAPEM}

	t.Run("DB_CONNECTION_ARGS verify-full with database.pem", func(t *testing.T) {
		cfg := translate(t, "DB_URI: "+plainURI+"\nDB_CONNECTION_ARGS: {sslmode: verify-full, sslrootcert: conf/stack/database.pem}\n", trusted)
		if !tlsOn(t, cfg) {
			t.Error("the queue's connection is not encrypted")
		}
	})
	t.Run("DB_URI query verify-full", func(t *testing.T) {
		cfg := translate(t, "DB_URI: "+plainURI+"?sslmode=verify-full&sslrootcert=conf/stack/database.pem\n", trusted)
		if !tlsOn(t, cfg) {
			t.Error("the queue's connection is not encrypted")
		}
	})
	t.Run("sslmode disable", func(t *testing.T) {
		cfg := translate(t, "DB_URI: "+plainURI+"\nDB_CONNECTION_ARGS: {sslmode: disable}\n", nil)
		if tlsOn(t, cfg) {
			t.Error("sslmode disable, and the connection is encrypted")
		}
	})
	t.Run("client certificate", func(t *testing.T) {
		certPEM, keyPEM, err := ca.ClientCert(pg.CertUser)
		if err != nil {
			t.Fatal(err)
		}
		// the certificate user has no password (pg_hba cert)
		own := name + "_cert"
		pg.CreateDB(t, own)
		pg.AdminSQL(t, own, "GRANT ALL ON SCHEMA public TO "+pg.CertUser)
		u := url.URL{Scheme: "postgresql", User: url.User(pg.CertUser), Host: pg.Addr(), Path: "/" + own}
		cfg := translate(t, "DB_URI: "+u.String()+"\nDB_CONNECTION_ARGS: {sslmode: verify-full, sslrootcert: conf/stack/database.pem, sslcert: conf/stack/db.crt, sslkey: conf/stack/db.key}\n",
			map[string][]byte{"database.pem": ca.CAPEM, "db.crt": certPEM, "db.key": keyPEM})
		pool, err := OpenQueue(context.Background(), cfg)
		if err != nil {
			t.Fatalf("OpenQueue as %s: %v", pg.CertUser, err)
		}
		defer pool.Close()
		var who string
		if err := pool.QueryRow(context.Background(), `SELECT current_user`).Scan(&who); err != nil || who != pg.CertUser {
			t.Errorf("connected as %q (%v), want %s", who, err, pg.CertUser)
		}
	})
	// The test process trusts the test CA (TestMain), so a verify-full
	// refused for an untrusted CA is shown where it does not:
	// internal/validators' TestPostgresConfig.
}
