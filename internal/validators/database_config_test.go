package validators

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/quay-tools/config-editor/internal/testenv"
)

// PostgresConfig (registry mode's replication queue) connects as the
// probe does. This test process does not trust the test CA, so verify-full
// connects only with the bundle's database.pem.
func TestPostgresConfig(t *testing.T) {
	pg := testenv.Postgres(t)
	ca := testenv.CA()
	connect := func(t *testing.T, cfg map[string]any, files map[string][]byte) (ssl bool, err error) {
		t.Helper()
		cc, err := PostgresConfig(onlineBundle(t, cfg, files))
		if err != nil {
			return false, err
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.ConnectConfig(ctx, cc)
		if err != nil {
			return false, err
		}
		defer conn.Close(ctx)
		err = conn.QueryRow(ctx, `SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()`).Scan(&ssl)
		return ssl, err
	}
	t.Run("verify-full with database.pem", func(t *testing.T) {
		ssl, err := connect(t, pgConfig(pg, pg.DB, pg.Password, "verify-full"), map[string][]byte{"database.pem": ca.CAPEM})
		if err != nil || !ssl {
			t.Fatalf("ssl %v, err %v", ssl, err)
		}
	})
	t.Run("verify-full in DB_URI's query", func(t *testing.T) {
		cfg := pgConfig(pg, pg.DB, pg.Password, "")
		cfg["DB_URI"] = cfg["DB_URI"].(string) + "?sslmode=verify-full&sslrootcert=conf/stack/database.pem"
		ssl, err := connect(t, cfg, map[string][]byte{"database.pem": ca.CAPEM})
		if err != nil || !ssl {
			t.Fatalf("ssl %v, err %v", ssl, err)
		}
	})
	t.Run("verify-full with an untrusted CA is refused", func(t *testing.T) {
		_, err := connect(t, pgConfig(pg, pg.DB, pg.Password, "verify-full"), map[string][]byte{"database.pem": ca.UntrustedCAPEM})
		if err == nil || !strings.Contains(err.Error(), "certificate") {
			t.Fatalf("err %v, want a certificate error", err)
		}
		if strings.Contains(err.Error(), pg.Password) {
			t.Error("the error holds the password")
		}
	})
	t.Run("verify-full without a CA is refused", func(t *testing.T) {
		cfg := pgConfig(pg, pg.DB, pg.Password, "")
		cfg["DB_URI"] = cfg["DB_URI"].(string) + "?sslmode=verify-full"
		if _, err := connect(t, cfg, nil); err == nil {
			t.Fatal("connected")
		}
	})
	t.Run("prefer: TLS on every connection of one configuration", func(t *testing.T) {
		cc, err := PostgresConfig(onlineBundle(t, pgConfig(pg, pg.DB, pg.Password, ""), nil))
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		for i := 0; i < 2; i++ {
			conn, err := pgx.ConnectConfig(ctx, cc)
			if err != nil {
				t.Fatalf("connection %d: %v", i, err)
			}
			var ssl bool
			err = conn.QueryRow(ctx, `SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()`).Scan(&ssl)
			_ = conn.Close(ctx)
			if err != nil || !ssl {
				t.Fatalf("connection %d: ssl %v, err %v", i, ssl, err)
			}
		}
	})
	t.Run("not PostgreSQL", func(t *testing.T) {
		if _, err := PostgresConfig(onlineBundle(t, map[string]any{"DB_URI": "mysql+pymysql://u:secretpw@127.0.0.1/quay"}, nil)); err == nil || strings.Contains(err.Error(), "secretpw") {
			t.Fatalf("err %v", err)
		}
	})
}
