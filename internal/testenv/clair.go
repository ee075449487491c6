package testenv

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// ClairVersion is the Clair build install.sh puts in the cache.
const ClairVersion = "v4.9.0"

// ClairServer is a private Clair v4 in combo mode on 127.0.0.1, with PSK
// (HS256 JWT) auth, airgapped (no updaters, no network), backed by database
// "clair" of the shared [Postgres].
type ClairServer struct {
	URL    string // http://127.0.0.1:PORT
	Addr   string // 127.0.0.1:PORT
	PSK    string // base64 key, as in Quay's SECURITY_SCANNER_V4_PSK
	Issuer string // "quay"
	DB     string // "clair" in the Postgres of [Postgres]

	Dir string
}

var sharedClair = newShared[ClairServer]()

// Clair returns the shared private Clair, starting it (and Postgres) if
// needed.
func Clair(t testing.TB) *ClairServer {
	t.Helper()
	if _, err := os.Stat(clairBin()); err != nil {
		// Say so before starting Postgres for nothing.
		fail(t, "clair", &missingError{what: "clair " + ClairVersion + " (" + clairBin() + ")"})
	}
	pg := Postgres(t)
	return sharedClair.get(t, "clair", func(e *env) (*ClairServer, error) { return startClair(e, pg) })
}

func clairBin() string { return filepath.Join(CacheDir(), "clair-"+ClairVersion, "bin", "clair") }

func startClair(e *env, pg *PG) (*ClairServer, error) {
	bin := clairBin()
	if _, err := os.Stat(bin); err != nil {
		return nil, &missingError{what: "clair " + ClairVersion + " (" + bin + ")"}
	}
	ports, err := freePorts(2)
	if err != nil {
		return nil, err
	}
	// Each Clair has its own Postgres: in shared mode both are started once;
	// without Main, Clair(t) got a fresh Postgres from Postgres(t).
	dbName := "clair"
	if err := pg.createDB(dbName, "uuid-ossp"); err != nil {
		return nil, err
	}
	c := &ClairServer{
		URL: "http://" + hostPort(ports[0]), Addr: hostPort(ports[0]),
		PSK: base64.StdEncoding.EncodeToString([]byte(randHex(16))), Issuer: "quay", DB: dbName, Dir: e.dir,
	}
	mapping := filepath.Join(e.dir, "mapping.json")
	if err := writeFile(mapping, []byte(`{"data":{}}`), 0o644); err != nil {
		return nil, err
	}
	conn := fmt.Sprintf("host=127.0.0.1 port=%d user=%s password=%s dbname=%s sslmode=disable", pg.Port, pg.User, pg.Password, dbName)
	conf := fmt.Sprintf(`http_listen_addr: %q
introspection_addr: %q
log_level: info
indexer:
  connstring: %q
  migrations: true
  airgap: true
  scanlock_retry: 10
  layer_scan_concurrency: 1
  scanner:
    repo:
      rhel-repository-scanner:
        repo2cpe_mapping_file: %q
    package:
      rhel_containerscanner:
        name2repos_mapping_file: %q
matcher:
  connstring: %q
  migrations: true
  disable_updaters: true
updaters:
  sets: []
notifier:
  connstring: %q
  migrations: true
  delivery_interval: 1m
  poll_interval: 5m
auth:
  psk:
    key: %q
    iss: [%q]
`, c.Addr, hostPort(ports[1]), conn, mapping, mapping, conn, conn, c.PSK, c.Issuer)
	confPath := filepath.Join(e.dir, "config.yaml")
	if err := writeFile(confPath, []byte(conf), 0o600); err != nil {
		return nil, err
	}
	logPath := filepath.Join(e.dir, "clair.log")
	p, err := startProc(e, "clair", "", logPath, syscall.SIGTERM, []string{"CLAIR_CONF=" + confPath, "CLAIR_MODE=combo"},
		bin, "-conf", confPath, "-mode", "combo")
	if err != nil {
		return nil, err
	}
	if err := waitFor(p, "clair index_state", func() error {
		resp, err := c.Get("/indexer/api/v1/index_state", true)
		if err != nil {
			return err
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("index_state: %s: %s", resp.Status, b)
		}
		return nil
	}); err != nil {
		return nil, err
	}
	return c, nil
}

// Token returns a fresh HS256 JWT signed with the PSK (iss=Issuer, 5 min).
func (c *ClairServer) Token() string {
	key, err := base64.StdEncoding.DecodeString(c.PSK)
	if err != nil {
		panic(err)
	}
	return SignHS256(key, map[string]any{
		"iss": c.Issuer,
		"iat": time.Now().Unix(),
		"nbf": time.Now().Add(-time.Minute).Unix(),
		"exp": time.Now().Add(5 * time.Minute).Unix(),
	})
}

// Get sends GET URL+path, with "Authorization: Bearer <Token()>" when auth.
func (c *ClairServer) Get(path string, auth bool) (*http.Response, error) {
	req, err := http.NewRequest(http.MethodGet, c.URL+path, nil)
	if err != nil {
		return nil, err
	}
	if auth {
		req.Header.Set("Authorization", "Bearer "+c.Token())
	}
	return (&http.Client{Timeout: 10 * time.Second}).Do(req)
}

// SignHS256 makes a compact JWT with header {"alg":"HS256","typ":"JWT"}.
func SignHS256(key []byte, claims map[string]any) string {
	enc := base64.RawURLEncoding
	h, _ := json.Marshal(map[string]string{"alg": "HS256", "typ": "JWT"})
	p, _ := json.Marshal(claims)
	signing := enc.EncodeToString(h) + "." + enc.EncodeToString(p)
	m := hmac.New(sha256.New, key)
	m.Write([]byte(signing))
	return signing + "." + enc.EncodeToString(m.Sum(nil))
}
