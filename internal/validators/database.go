package validators

import (
	"net/url"
	"regexp"
	"strings"

	"github.com/quay-tools/config-editor/internal/problem"
)

const groupDatabase = "Database"

// the schema's own DB_URI pattern; values it rejects are already reported.
var dbURIShapeRE = regexp.MustCompile(`^(postgresql|postgres|mysql|sqlite)(\+[a-z0-9]+)?://`)

// dbEngines maps the URI schemes Quay's database layer accepts to an engine.
var dbEngines = map[string]string{
	"postgresql":          "postgres",
	"postgresql+psycopg2": "postgres",
	"mysql":               "mysql",
	"mysql+pymysql":       "mysql",
	"sqlite":              "sqlite",
}

func databaseCheck() Check {
	return Check{Group: groupDatabase, Offline: databaseOffline,
		OnlineProof: "connect, SHOW server_version, require the pg_trgm extension"}
}

// dbEngine returns postgres, mysql, sqlite or "" for the configured DB_URI.
func (c *Context) dbEngine() string {
	s, _ := c.Raw["DB_URI"].(string)
	if i := strings.Index(s, "://"); i > 0 {
		return dbEngines[s[:i]]
	}
	return ""
}

// databaseOffline: the URI names a known engine, a host and a database; the
// connection arguments fit the engine and their CA files are in the bundle.
// DB_URI carries the password, so it is never quoted in a message.
func databaseOffline(c *Context, l *problem.List) {
	uri, _ := c.Raw["DB_URI"].(string)
	engine := ""
	if uri != "" && dbURIShapeRE.MatchString(uri) {
		scheme := uri[:strings.Index(uri, "://")]
		engine = dbEngines[scheme]
		switch {
		case scheme == "postgres":
			l.Errorf(groupDatabase, at("DB_URI"), "DB_URI uses the scheme postgres://, which Quay does not recognise; write postgresql:// instead.")
		case engine == "":
			l.Errorf(groupDatabase, at("DB_URI"), "DB_URI uses the scheme %s://, which Quay does not support; use postgresql:// or mysql+pymysql://.", scheme)
		case engine == "sqlite":
			l.Warnf(groupDatabase, at("DB_URI"), "DB_URI points to SQLite, which is only meant for tests; use PostgreSQL in production.")
		default:
			checkServerURI(l, uri)
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

// checkServerURI checks a postgres/mysql URI has a host and a database name.
// url.Parse errors quote the whole URI, password included, so they are
// never passed on.
func checkServerURI(l *problem.List, uri string) {
	u, err := url.Parse(uri)
	if err != nil {
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
