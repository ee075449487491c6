package validators

import (
	"net/url"
	"strings"
	"testing"

	"github.com/quay-tools/config-editor/internal/problem"
)

// DB_URI is read once per validation: the offline rules and the probe use
// the same reading (and the engine it decided), not a parse of their own.
func TestDBURIReadOncePerValidation(t *testing.T) {
	c := newContext(mustBundle(t, "DB_URI: postgresql+psycopg2://quay:pw@db.example.com:5432/quay\n"), Options{Catalogue: catalogue()})
	d := c.db()
	if d.engine != "postgres" || d.scheme != "postgresql+psycopg2" || d.u == nil || d.u.Hostname() != "db.example.com" {
		t.Fatalf("DB_URI read as %+v", d)
	}
	if c.db() != d {
		t.Fatal("DB_URI was read a second time")
	}
	// change the shared reading: the probe follows it
	d.u = &url.URL{Scheme: "postgresql", Host: "other.example.com:6543", Path: "/quay", User: url.User("quay")}
	ps := databaseProbes(c)
	if len(ps) != 1 || ps[0].Name != "PostgreSQL at other.example.com:6543" {
		t.Fatalf("the probe did not use the shared reading: %+v", ps)
	}
	// and so do the offline rules
	d.u = nil
	var l problem.List
	databaseOffline(c, &l)
	if len(l) != 1 || !strings.Contains(l[0].Message, "cannot be parsed") {
		t.Fatalf("the offline rules did not use the shared reading: %v", l)
	}
	if len(databaseProbes(c)) != 0 {
		t.Fatal("a probe for a DB_URI the rules could not read")
	}
	// the engine is decided once, for the rules and the probe alike
	d.u, d.engine = &url.URL{Scheme: "mysql", Host: "db.example.com", Path: "/quay", User: url.User("quay")}, "mysql"
	if ps := databaseProbes(c); len(ps) != 1 || ps[0].Name != "MySQL at db.example.com:3306" {
		t.Fatalf("the probe did not follow the shared engine: %+v", ps)
	}
}
