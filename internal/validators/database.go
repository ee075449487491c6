package validators

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/quay-tools/config-editor/internal/bundle"
	"github.com/quay-tools/config-editor/internal/problem"
	"github.com/quay-tools/config-editor/internal/schema"
	"github.com/quay-tools/config-editor/internal/secret"
)

const groupDatabase = "Database"

// dbEngine maps a URI scheme Quay's database layer accepts to an engine:
// postgres, mysql or sqlite; "" for any other scheme.
func dbEngine(scheme string) string {
	switch scheme {
	case "postgresql", "postgresql+psycopg2":
		return "postgres"
	case "mysql", "mysql+pymysql":
		return "mysql"
	case "sqlite":
		return "sqlite"
	}
	return ""
}

// dbURI is DB_URI read once per validation (Context.db) and shared by the
// offline rules and the probe: its scheme, the engine that scheme selects,
// and, for a server engine, the parsed URI. The password never leaves it:
// url.Parse errors quote the whole URI, so only their existence is kept.
type dbURI struct {
	scheme string   // "" when DB_URI is not a string of the schema's shape
	engine string   // decided once: postgres, mysql, sqlite or ""
	u      *url.URL // postgres and mysql only; nil when it does not parse
}

func readDBURI(cat *schema.Catalogue, v any) *dbURI {
	s, _ := v.(string)
	if s == "" || cat.DBURIPattern() == nil || !cat.MatchDBURI(s) {
		return &dbURI{}
	}
	d := &dbURI{scheme: s[:strings.Index(s, "://")]}
	d.engine = dbEngine(d.scheme)
	if d.engine == "postgres" || d.engine == "mysql" {
		if u, err := url.Parse(s); err == nil {
			d.u = u
		}
	}
	return d
}

// db returns DB_URI as read once for this validation.
func (c *Context) db() *dbURI {
	c.dbOnce.Do(func() { c.dbURI = readDBURI(c.Cat, c.Raw["DB_URI"]) })
	return c.dbURI
}

// Database: DB_URI and DB_CONNECTION_ARGS. Online: connect (PostgreSQL
// with the sslmode of the config, or MySQL/MariaDB), read the server version
// and require the pg_trgm extension.
func databaseCheck() Check {
	return Check{Group: groupDatabase, Offline: databaseOffline, Probes: databaseProbes}
}

// databaseOffline: the URI names a known engine, a host and a database; the
// connection arguments fit the engine and their CA files are in the bundle.
// DB_URI carries the password, so it is never quoted in a message.
func databaseOffline(c *Context, l *problem.List) {
	db := c.db()
	engine := db.engine
	if scheme := db.scheme; scheme != "" {
		switch {
		case scheme == "postgres":
			l.Errorf(groupDatabase, at("DB_URI"), "DB_URI uses the scheme postgres://, which Quay does not recognise; write postgresql:// instead.")
		case engine == "":
			l.Errorf(groupDatabase, at("DB_URI"), "DB_URI uses the scheme %s://, which Quay does not support; use postgresql:// or mysql+pymysql://.", scheme)
		case engine == "sqlite":
			l.Warnf(groupDatabase, at("DB_URI"), "DB_URI points to SQLite, which is only meant for tests; use PostgreSQL in production.")
		default:
			checkServerURI(l, db.u)
		}
	}
	args := c.Map("DB_CONNECTION_ARGS")
	if args == nil {
		if _, ok := c.Bundle.File("database.pem"); ok && engine != "" && engine != "sqlite" {
			l.Warnf(groupDatabase, at("DB_CONNECTION_ARGS"), "The bundle holds database.pem but DB_CONNECTION_ARGS does not use it; set %s so the database certificate is verified.", caArgHint(engine))
		}
		return
	}
	base := at("DB_CONNECTION_ARGS")
	for _, k := range []string{"threadlocals", "autorollback"} {
		if b, ok := args[k].(bool); ok && !b {
			l.Warnf(groupDatabase, base.Child(k), "DB_CONNECTION_ARGS.%s should stay true; Quay's connection handling relies on it.", k)
		}
	}
	pgArgs := present(args, "sslmode") || present(args, "sslrootcert") || present(args, "sslcert") || present(args, "sslkey")
	switch {
	case engine == "mysql" && pgArgs:
		l.Warnf(groupDatabase, base, "DB_CONNECTION_ARGS holds PostgreSQL TLS arguments (sslmode, sslrootcert, ...) but DB_URI is MySQL; use ssl: {ca: conf/stack/database.pem} instead.")
	case engine == "postgres" && present(args, "ssl"):
		l.Warnf(groupDatabase, base.Child("ssl"), "DB_CONNECTION_ARGS.ssl is a MySQL argument but DB_URI is PostgreSQL; use sslmode and sslrootcert instead.")
	}
	mode := str(args, "sslmode")
	root := str(args, "sslrootcert")
	if wrongType(args, "sslrootcert") {
		root = ""
	}
	switch {
	case (mode == "verify-ca" || mode == "verify-full") && root == "":
		l.WarnTags(groupDatabase, base.Child("sslrootcert"), []string{"DB_CONNECTION_ARGS"},
			"DB_CONNECTION_ARGS.sslmode is %s but no sslrootcert is set, so the driver looks for ~/.postgresql/root.crt inside the container; upload the database CA as database.pem and set sslrootcert: conf/stack/database.pem.", mode)
	case mode == "disable" && root != "":
		l.WarnTags(groupDatabase, base.Child("sslmode"), []string{"DB_CONNECTION_ARGS"},
			"DB_CONNECTION_ARGS.sslmode is disable, so sslrootcert is ignored and the connection is not encrypted; use verify-full.")
	}
	c.checkBundlePEM(l, groupDatabase, base.Child("sslrootcert"), root, "the database CA")
	if !wrongType(args, "sslcert") && !wrongType(args, "sslkey") {
		cert, key := str(args, "sslcert"), str(args, "sslkey")
		switch {
		case cert != "" && key == "":
			l.Errorf(groupDatabase, base.Child("sslkey"), "DB_CONNECTION_ARGS.sslcert is set but sslkey is not; a client certificate needs its private key.")
		case key != "" && cert == "":
			l.Errorf(groupDatabase, base.Child("sslcert"), "DB_CONNECTION_ARGS.sslkey is set but sslcert is not; a client key needs its certificate.")
		}
		c.checkBundlePEM(l, groupDatabase, base.Child("sslcert"), cert, "the database client certificate")
		if key != "" {
			if data, name, ok := c.BundleFile(key); ok {
				if _, err := ParseKeyPEM(data); err != nil {
					l.Errorf(groupDatabase, base.Child("sslkey"), "%s (the database client key) is not usable: %v.", name, err)
				}
			} else if !strings.HasPrefix(key, "/") || strings.HasPrefix(key, "/conf/stack/") {
				l.Errorf(groupDatabase, base.Child("sslkey"), "DB_CONNECTION_ARGS.sslkey refers to %q, which is not in the bundle; upload it as %s.", key, name)
			}
		}
	}
	if ssl, ok := args["ssl"].(map[string]any); ok && !wrongType(ssl, "ca") {
		c.checkBundlePEM(l, groupDatabase, base.Child("ssl").Child("ca"), str(ssl, "ca"), "the database CA")
	}
}

func caArgHint(engine string) string {
	if engine == "mysql" {
		return "DB_CONNECTION_ARGS.ssl.ca: conf/stack/database.pem"
	}
	return "DB_CONNECTION_ARGS.sslmode: verify-full and sslrootcert: conf/stack/database.pem"
}

// checkServerURI checks a postgres/mysql URI has a host and a database name;
// u is nil when it did not parse.
func checkServerURI(l *problem.List, u *url.URL) {
	if u == nil {
		l.Errorf(groupDatabase, at("DB_URI"), "DB_URI cannot be parsed as a URI; if the password holds reserved characters (@ : / ? # %%), percent-encode them.")
		return
	}
	if u.Hostname() == "" {
		l.Errorf(groupDatabase, at("DB_URI"), "DB_URI has no host name; write it as %s://user:password@host:port/database.", u.Scheme)
	}
	if p := u.Port(); p != "" {
		if n, ok := AsInt(p); !ok || n < 1 || n > 65535 {
			l.Errorf(groupDatabase, at("DB_URI"), "DB_URI has an invalid port; use a number between 1 and 65535.")
		}
	}
	if strings.Trim(u.Path, "/") == "" {
		l.Errorf(groupDatabase, at("DB_URI"), "DB_URI names no database; add it after the host, as in %s://user:password@host:port/quay.", u.Scheme)
	}
	if u.User == nil || u.User.Username() == "" {
		l.Warnf(groupDatabase, at("DB_URI"), "DB_URI names no user; Quay will connect as the container's default user, which is rarely intended.")
	}
}

// minPostgresMajor is the oldest PostgreSQL Quay supports without warning.
const minPostgresMajor = 13

// dbTarget is DB_URI taken apart. The password never leaves this struct.
type dbTarget struct {
	engine   string
	host     string
	port     int
	user     string
	Password secret.Secret // exported, so fmt shows <secret> even in %+v of the struct
	database string
	query    url.Values
}

func (t dbTarget) addr() string { return hostPort(t.host, t.port) }

// who is "127.0.0.1:5432 as quay", for messages.
func (t dbTarget) who() string {
	if t.user == "" {
		return t.addr()
	}
	return t.addr() + " as " + t.user
}

// target is the server DB_URI names; ok is false when it names none the
// probe could use (the offline rules say why).
func (d *dbURI) target() (dbTarget, bool) {
	u := d.u
	if u == nil || u.Hostname() == "" {
		return dbTarget{}, false
	}
	t := dbTarget{engine: d.engine, host: u.Hostname(), database: strings.Trim(u.Path, "/"), query: u.Query()}
	switch d.engine {
	case "postgres":
		t.port = 5432
	case "mysql":
		t.port = 3306
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return dbTarget{}, false
		}
		t.port = n
	}
	if u.User != nil {
		t.user = u.User.Username()
		pw, _ := u.User.Password()
		t.Password = secret.New(pw)
	}
	return t, true
}

// databaseProbes: one probe for DB_URI when it names a server the offline
// rules could read (they report the URIs that cannot be).
func databaseProbes(c *Context) []Probe {
	t, ok := c.db().target()
	if !ok {
		return nil
	}
	if t.engine == "postgres" {
		return []Probe{{Name: "PostgreSQL at " + t.addr(), Run: func(ctx context.Context, l *problem.List) { probePostgres(ctx, c, t, l) }}}
	}
	return []Probe{{Name: "MySQL at " + t.addr(), Run: func(ctx context.Context, l *problem.List) { probeMySQL(ctx, c, t, l) }}}
}

// dbCA returns the PEM data of the database's own CA: the file named by
// argKey in DB_CONNECTION_ARGS (sslrootcert, ssl.ca) or else database.pem.
func (c *Context) dbCA(ref string) []byte {
	if ref != "" {
		if data, _, ok := c.BundleFile(ref); ok {
			return data
		}
	}
	data, _ := c.Bundle.File("database.pem")
	return data
}

// leafVerifyError is the error leaf.Verify(opts) returns before it looks
// at any root, or nil when the answer depends on the roots: x509 checks the
// leaf's own validity and then its host name before it builds a chain, so
// a server whose certificate names another host (PostgreSQL's self-signed
// snakeoil certificate reached as 127.0.0.1) is told apart without parsing
// the system's CA certificates. opts.Roots is ignored.
func leafVerifyError(leaf *x509.Certificate, opts x509.VerifyOptions) error {
	opts.Roots = x509.NewCertPool()
	_, err := leaf.Verify(opts)
	var host x509.HostnameError
	var invalid x509.CertificateInvalidError
	if errors.As(err, &host) || errors.As(err, &invalid) && invalid.Cert == leaf {
		return err
	}
	return nil
}

// pgCurves are the key exchanges offered to PostgreSQL: Go's defaults
// without X25519MLKEM768, which would take the first key share (Go sends
// shares for the first group only, and for the ECDH half of a hybrid);
// SecP256r1MLKEM768 comes first and brings a P-256 share.
var pgCurves = []tls.CurveID{tls.SecP256r1MLKEM768, tls.SecP384r1MLKEM1024, tls.X25519, tls.CurveP256, tls.CurveP384, tls.CurveP521}

// pgTLS builds the TLS setting of one sslmode. For the modes that encrypt
// without verifying (require, prefer, allow), unverified tells afterwards
// whether the server's certificate would have passed verification; it is
// checked once the probe has its answers, so that neither the handshake
// nor the queries wait for the trust store. verify-ca checks the chain in
// the handshake; only verify-full needs the trust store before it.
func pgTLS(c *Context, t dbTarget, mode string, ca []byte, cert *tls.Certificate) (primary *tls.Config, fallback *tls.Config, plainFirst, plainFallback bool, unverified func() error) {
	roots := sync.OnceValue(func() *x509.CertPool { return c.TLSConfig(t.host, ca).RootCAs })
	// PostgreSQL restricts its TLS key exchange to ssl_ecdh_curve, P-256
	// (prime256v1) unless changed: a first key share for X25519 alone, Go's
	// default, costs every connection a HelloRetryRequest (a round trip and
	// a second key exchange on both sides). Leading with the P-256 hybrid
	// sends a P-256 share too; every group stays offered.
	base := &tls.Config{ServerName: t.host, MinVersion: tls.VersionTLS12, CurvePreferences: pgCurves}
	if cert != nil {
		base.Certificates = []tls.Certificate{*cert}
	}
	verifyChain := func(cs tls.ConnectionState, host string) error {
		if len(cs.PeerCertificates) == 0 {
			return errors.New("the server sent no certificate")
		}
		inter := x509.NewCertPool()
		for _, ic := range cs.PeerCertificates[1:] {
			inter.AddCert(ic)
		}
		opts := x509.VerifyOptions{Intermediates: inter, DNSName: host}
		if err := leafVerifyError(cs.PeerCertificates[0], opts); err != nil {
			return err
		}
		opts.Roots = roots()
		_, err := cs.PeerCertificates[0].Verify(opts)
		return err
	}
	none := func() error { return nil }
	switch mode {
	case "disable":
		return nil, nil, true, false, none
	case "verify-full":
		full := base.Clone()
		full.RootCAs = roots()
		return full, nil, false, false, none
	case "verify-ca":
		// the chain must verify; the host name is not checked.
		cfg := base.Clone()
		cfg.InsecureSkipVerify = true
		cfg.VerifyConnection = func(cs tls.ConnectionState) error { return verifyChain(cs, "") }
		return cfg, nil, false, false, none
	}
	// require, prefer, allow: encryption without verification, as the
	// config asks; keep the server's certificates to tell afterwards
	// whether verification would have failed.
	var (
		mu   sync.Mutex
		peer *tls.ConnectionState
	)
	cfg := base.Clone()
	cfg.InsecureSkipVerify = true
	cfg.VerifyConnection = func(cs tls.ConnectionState) error {
		mu.Lock()
		peer = &cs
		mu.Unlock()
		// Verification will need the trust store only if the leaf itself
		// passes (host name, validity): then load it while the queries run.
		if len(cs.PeerCertificates) > 0 && leafVerifyError(cs.PeerCertificates[0], x509.VerifyOptions{DNSName: t.host}) == nil {
			c.preloadRootCAs()
		}
		return nil
	}
	unverified = func() error {
		mu.Lock()
		defer mu.Unlock()
		if peer == nil {
			return nil
		}
		return verifyChain(*peer, t.host)
	}
	switch mode {
	case "require":
		return cfg, nil, false, false, unverified
	case "allow":
		return nil, cfg, true, false, unverified
	}
	return cfg, nil, false, true, unverified // prefer
}

// pgSSLRequest is the message that asks a PostgreSQL server for TLS.
var pgSSLRequest = [8]byte{0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f}

// preferDial is the dial of sslmode=prefer on one connection, as libpq
// does it: ask for TLS on the dialled connection; the server answers S
// (then the handshake follows on it) or N (then the session goes on in
// clear text on the same connection). pgx would drop a refused connection
// and dial again for its plain fallback. Only when the handshake itself
// fails does pgx's fallback dial a second, plain connection: once one
// connection has asked for TLS, later dials are plain. (A dial that did
// not connect asked nothing, so the next address of the host still asks.)
func preferDial(ctx context.Context, tc *tls.Config) func(context.Context, string, string) (net.Conn, error) {
	dial := dialerFor(ctx)
	var asked atomic.Bool
	return func(dctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := dial(dctx, network, addr)
		if err != nil || asked.Swap(true) {
			return conn, err
		}
		var answer [1]byte
		if _, err = conn.Write(pgSSLRequest[:]); err == nil {
			_, err = io.ReadFull(conn, answer[:])
		}
		if err != nil {
			_ = conn.Close()
			return nil, err
		}
		switch answer[0] {
		case 'N':
			return conn, nil
		case 'S':
			tconn := tls.Client(conn, tc)
			if err := tconn.HandshakeContext(dctx); err != nil {
				_ = conn.Close()
				return nil, err
			}
			return tconn, nil
		}
		_ = conn.Close()
		return nil, fmt.Errorf("the server answered the TLS request with %q, not S or N; is it PostgreSQL?", answer[0])
	}
}

// pgConn is the connection to DB_URI's PostgreSQL the way Quay makes it:
// the sslmode of DB_CONNECTION_ARGS, else of DB_URI's query, else prefer;
// sslrootcert, sslcert and sslkey from DB_CONNECTION_ARGS, else from
// DB_URI's query, read from the bundle (conf/stack/<file>); the trust
// store is the system's plus the bundle's extra CAs plus the database CA
// (sslrootcert, else database.pem). Dials are bound to bound when it is
// not nil (a probe); pooled configurations (nil bound, connections made
// at any time) do sslmode prefer as pgx does, TLS then a plain fallback.
type pgConn struct {
	cfg        *pgx.ConnConfig
	mode       string
	unverified func() error
	certErr    error // the client certificate and key could not be loaded
}

func pgConnConfig(c *Context, t dbTarget, bound context.Context) pgConn {
	args := c.Map("DB_CONNECTION_ARGS")
	arg := func(k string) string {
		if v := str(args, k); v != "" {
			return v
		}
		return t.query.Get(k)
	}
	mode := arg("sslmode")
	if mode == "" {
		mode = "prefer" // libpq's and psycopg2's default
	}
	root := arg("sslrootcert")
	if mode == "require" && root != "" {
		mode = "verify-ca" // libpq: require with a root certificate verifies the chain
	}
	out := pgConn{mode: mode}
	var cert *tls.Certificate
	if cf, kf := arg("sslcert"), arg("sslkey"); cf != "" && kf != "" {
		certPEM, _, ok1 := c.BundleFile(cf)
		keyPEM, _, ok2 := c.BundleFile(kf)
		if ok1 && ok2 {
			pair, err := tls.X509KeyPair(certPEM, keyPEM)
			if err != nil {
				out.certErr = err
				return out
			}
			cert = &pair
		}
	}
	primary, fallback, plainFirst, plainFallback, unverified := pgTLS(c, t, mode, c.dbCA(root), cert)
	out.unverified = unverified

	cfg, err := pgx.ParseConfig("sslmode=disable")
	if err != nil {
		out.certErr = err // cannot happen: a constant DSN
		return out
	}
	cfg.Host, cfg.Port = t.host, uint16(t.port)
	cfg.User, cfg.Password, cfg.Database = t.user, t.Password.Reveal(), t.database
	cfg.DialFunc = dialerFor(bound)
	if bound == nil {
		cfg.DialFunc = (&net.Dialer{KeepAlive: 5 * time.Minute}).DialContext
	}
	cfg.RuntimeParams = map[string]string{"application_name": "config-editor"}
	cfg.Fallbacks = nil
	switch {
	case plainFirst:
		cfg.TLSConfig = nil
		if fallback != nil {
			cfg.Fallbacks = []*pgconn.FallbackConfig{{Host: t.host, Port: uint16(t.port), TLSConfig: fallback}}
		}
	case plainFallback && bound == nil:
		cfg.TLSConfig = primary
		cfg.Fallbacks = []*pgconn.FallbackConfig{{Host: t.host, Port: uint16(t.port)}}
	case plainFallback:
		// prefer: one connection, TLS when the server offers it
		cfg.TLSConfig = nil
		cfg.DialFunc = preferDial(bound, primary)
		cfg.Fallbacks = []*pgconn.FallbackConfig{{Host: t.host, Port: uint16(t.port)}}
	default:
		cfg.TLSConfig = primary
	}
	out.cfg = cfg
	return out
}

// PostgresConfig is the connection to DB_URI's PostgreSQL exactly as the
// Database probe makes it (TLS mode, CA, client certificate, trust store;
// see pgConn), for clients that keep connections (registry mode's
// replication queue). It fails when DB_URI does not name a PostgreSQL
// server or the client certificate cannot be loaded; messages never hold
// the password.
func PostgresConfig(b *bundle.Bundle) (*pgx.ConnConfig, error) {
	c := newContext(b, Options{Mode: Online, Catalogue: schema.Get()})
	t, ok := c.db().target()
	if !ok || t.engine != "postgres" {
		return nil, errors.New("DB_URI does not name a PostgreSQL server")
	}
	pc := pgConnConfig(c, t, nil)
	if pc.certErr != nil {
		return nil, fmt.Errorf("DB_CONNECTION_ARGS.sslcert: could not load the database client certificate and key: %v", pc.certErr)
	}
	return pc.cfg, nil
}

func probePostgres(ctx context.Context, c *Context, t dbTarget, l *problem.List) {
	argPath := at("DB_CONNECTION_ARGS")
	args := c.Map("DB_CONNECTION_ARGS")
	pc := pgConnConfig(c, t, ctx)
	if pc.certErr != nil {
		l.Errorf(groupDatabase, argPath.Child("sslcert"), "could not load the database client certificate and key: %v; the connection was not tried.", pc.certErr)
		return
	}
	cfg, mode, unverified := pc.cfg, pc.mode, pc.unverified
	if dl, ok := ctx.Deadline(); ok {
		cfg.ConnectTimeout = timeUntil(dl)
	}

	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		l.Errorf(groupDatabase, pgErrPath(err, args), "could not connect to PostgreSQL at %s (database %s, sslmode %s): %s.", t.who(), t.database, mode, pgDescribe(err, t))
		return
	}
	defer conn.Close(context.WithoutCancel(ctx))
	defer func() {
		if _, isTLS := conn.PgConn().Conn().(*tls.Conn); !isTLS {
			return
		}
		if err := unverified(); err != nil {
			l.WarnTags(groupDatabase, argPath.Child("sslmode"), []string{"DB_CONNECTION_ARGS"},
				"connected to PostgreSQL at %s over TLS without verifying it (sslmode %s); verification would fail: %s. Fix the CA before switching to verify-full.", t.who(), mode, describeErr(err))
		}
	}()
	// the version and pg_trgm in one round trip (simple protocol: no
	// prepare, no describe)
	var (
		version string
		trgm    bool
	)
	if err := conn.QueryRow(ctx, "SELECT current_setting('server_version'), EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm')",
		pgx.QueryExecModeSimpleProtocol).Scan(&version, &trgm); err != nil {
		l.Errorf(groupDatabase, at("DB_URI"), "connected to PostgreSQL at %s, but could not read its version and extensions: %s.", t.who(), pgDescribe(err, t))
		return
	}
	if major, ok := leadingInt(version); ok && major < minPostgresMajor {
		l.Warnf(groupDatabase, at("DB_URI"), "connected to PostgreSQL at %s: server version %s is older than %d, which Quay no longer supports; upgrade the database.", t.who(), version, minPostgresMajor)
	}
	if !trgm {
		l.Errorf(groupDatabase, at("DB_URI"), "connected to PostgreSQL %s at %s, but extension pg_trgm is not installed in database %s: run CREATE EXTENSION pg_trgm; in that database as a superuser.", version, t.who(), t.database)
		return
	}
	l.Passedf(groupDatabase, at("DB_URI"), "connected to PostgreSQL %s at %s, database %s has pg_trgm.", version, t.who(), t.database)
}

// pgErrPath puts TLS failures on DB_CONNECTION_ARGS (where they are fixed)
// when it exists, everything else on DB_URI.
func pgErrPath(err error, args map[string]any) *problem.Path {
	if args != nil && isTLSErr(err) {
		return at("DB_CONNECTION_ARGS")
	}
	return at("DB_URI")
}

func isTLSErr(err error) bool {
	return strings.HasPrefix(describeErr(unwrapAll(err)), "TLS") || strings.HasPrefix(describeErr(err), "TLS")
}

func unwrapAll(err error) error {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			return err
		}
		err = next
	}
}

// pgDescribe explains a pgx error in plain words; server errors keep their
// SQLSTATE meaning, network errors go through describeErr. pgx's own
// wrapping names the user and database, never the password.
func pgDescribe(err error, t dbTarget) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "28P01":
			return fmt.Sprintf("the server rejected the password of user %s (SQLSTATE 28P01)", t.user)
		case "28000":
			return fmt.Sprintf("the server does not allow user %s to connect from here (pg_hba.conf, SQLSTATE 28000): %s", t.user, pgErr.Message)
		case "3D000":
			return fmt.Sprintf("database %s does not exist (SQLSTATE 3D000)", t.database)
		case "42501":
			return "permission denied: " + pgErr.Message
		}
		return fmt.Sprintf("the server answered %s (SQLSTATE %s)", pgErr.Message, pgErr.Code)
	}
	if isTimeout(err) {
		return timeoutWords
	}
	if d := describeErr(unwrapAll(err)); d != unwrapAll(err).Error() {
		return d
	}
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) && ce.Unwrap() != nil {
		return describeErr(ce.Unwrap())
	}
	return describeErr(err)
}

func leadingInt(s string) (int, bool) {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	n, err := strconv.Atoi(s[:i])
	return n, err == nil
}

func probeMySQL(ctx context.Context, c *Context, t dbTarget, l *problem.List) {
	cfg := mysql.NewConfig()
	// the driver logs network errors to stderr; the probe reports them
	cfg.Logger = log.New(io.Discard, "", 0)
	cfg.User, cfg.Passwd, cfg.DBName = t.user, t.Password.Reveal(), t.database
	cfg.Net, cfg.Addr = "tcp", t.addr()
	cfg.DialFunc = dialerFor(ctx)
	if dl, ok := ctx.Deadline(); ok {
		// a little past the probe's deadline, so that the context (which
		// interrupts the connection) fires first and the error says so
		d := timeUntil(dl) + 100*time.Millisecond
		cfg.Timeout, cfg.ReadTimeout, cfg.WriteTimeout = d, d, d
	}
	args := c.Map("DB_CONNECTION_ARGS")
	ssl, useTLS := args["ssl"].(map[string]any)
	how := "without TLS"
	if useTLS {
		how = "over verified TLS"
		tc := c.TLSConfig(t.host, c.dbCA(str(ssl, "ca")))
		if cf, kf := str(ssl, "cert"), str(ssl, "key"); cf != "" && kf != "" {
			certPEM, _, ok1 := c.BundleFile(cf)
			keyPEM, _, ok2 := c.BundleFile(kf)
			if ok1 && ok2 {
				pair, err := tls.X509KeyPair(certPEM, keyPEM)
				if err != nil {
					l.Errorf(groupDatabase, at("DB_CONNECTION_ARGS", "ssl"), "could not load the MySQL client certificate and key: %v; the connection was not tried.", err)
					return
				}
				tc.Certificates = []tls.Certificate{pair}
			}
		}
		if v, ok := ssl["check_hostname"].(bool); ok && !v {
			// the config itself turns host name checking off: verify the chain only.
			roots := tc.RootCAs
			tc.InsecureSkipVerify = true
			tc.VerifyConnection = func(cs tls.ConnectionState) error {
				if len(cs.PeerCertificates) == 0 {
					return errors.New("the server sent no certificate")
				}
				inter := x509.NewCertPool()
				for _, ic := range cs.PeerCertificates[1:] {
					inter.AddCert(ic)
				}
				_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter})
				return err
			}
		}
		cfg.TLS = tc
	}
	connector, err := mysql.NewConnector(cfg)
	if err != nil {
		l.Errorf(groupDatabase, at("DB_URI"), "internal error preparing the MySQL connection: %v", err)
		return
	}
	db := sql.OpenDB(connector)
	defer db.Close()
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(0)
	var version string
	if err := db.QueryRowContext(ctx, "SELECT version()").Scan(&version); err != nil {
		path := at("DB_URI")
		if useTLS && isTLSErr(err) {
			path = at("DB_CONNECTION_ARGS", "ssl")
		}
		l.Errorf(groupDatabase, path, "could not connect to MySQL at %s (database %s, %s): %s.", t.who(), t.database, how, mysqlDescribe(ctx, err, t))
		return
	}
	l.Passedf(groupDatabase, at("DB_URI"), "connected to %s at %s (database %s, %s).", version, t.who(), t.database, how)
}

func mysqlDescribe(ctx context.Context, err error, t dbTarget) string {
	if isTimeout(err) || errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return timeoutWords
	}
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		switch me.Number {
		case 1045:
			return fmt.Sprintf("the server rejected the password of user %s (error 1045)", t.user)
		case 1044:
			return fmt.Sprintf("user %s may not use database %s (error 1044)", t.user, t.database)
		case 1049:
			return fmt.Sprintf("database %s does not exist (error 1049)", t.database)
		case 3159:
			return "the server requires TLS; set DB_CONNECTION_ARGS.ssl.ca (error 3159)"
		}
		return fmt.Sprintf("the server answered %s (error %d)", me.Message, me.Number)
	}
	if errors.Is(err, mysql.ErrNoTLS) {
		return "the server does not offer TLS, but DB_CONNECTION_ARGS.ssl asks for it"
	}
	return describeErr(err)
}
