package validators

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/quay-tools/config-editor/internal/problem"
	"github.com/quay-tools/config-editor/internal/testenv"
)

// validatePassed runs an online validation and returns the problems and
// what the probes reported as proved.
func validatePassed(t *testing.T, cfg map[string]any, files map[string][]byte, groups ...string) (ps, passed []problem.Problem) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	ps = Validate(ctx, onlineBundle(t, cfg, files), Options{Mode: Online, Timeout: 15 * time.Second, Groups: groups,
		OnPassed: func(p problem.Problem) { passed = append(passed, p) }})
	for _, p := range ps {
		if p.Severity == problem.Passed {
			t.Fatalf("a passed record is among the problems: %s", p)
		}
	}
	return ps, passed
}

func wantPassed(t *testing.T, passed []problem.Problem, group string, subs ...string) {
	t.Helper()
	for _, p := range passed {
		if p.FieldGroup != group {
			continue
		}
		ok := true
		for _, s := range subs {
			ok = ok && strings.Contains(p.Message, s)
		}
		if ok {
			return
		}
	}
	t.Fatalf("no passed record of %s with %q; got %v", group, subs, passed)
}

// A clean online run says what it proved: the LDAP user count, the
// PostgreSQL version, the Redis PING. A failing probe proves nothing.
func TestOnlinePassedRecords(t *testing.T) {
	ls := testenv.LDAP(t)
	pg := testenv.Postgres(t)
	rd := testenv.Redis(t)
	ldapCfg := map[string]any{
		"AUTHENTICATION_TYPE": "LDAP", "LDAP_URI": ls.URI, "LDAP_ADMIN_DN": ls.AdminDN, "LDAP_ADMIN_PASSWD": ls.AdminPassword,
		"LDAP_BASE_DN": anyList(strings.Split(ls.BaseDN, ",")), "LDAP_USER_RDN": []any{"ou=users"}, "LDAP_UID_ATTR": "uid", "LDAP_EMAIL_ATTR": "mail",
	}
	crt := map[string][]byte{"ldap.crt": testenv.CA().CAPEM}
	ps, passed := validatePassed(t, ldapCfg, crt, "LDAP")
	wantNoErrors(t, ps, "LDAP")
	wantPassed(t, passed, "LDAP", fmt.Sprintf("%d users matched", len(ls.Users)), ls.AdminDN)
	wantNoSecret(t, passed, ls.AdminPassword)

	ldapCfg["LDAP_ADMIN_PASSWD"] = "not-it"
	_, passed = validatePassed(t, ldapCfg, crt, "LDAP")
	if len(passed) != 0 {
		t.Errorf("a failed bind reported passed: %v", passed)
	}

	redis := map[string]any{"host": rd.Host, "port": rd.Port, "password": rd.Password}
	dbCfg := map[string]any{"DB_URI": pg.URI(pg.DB), "BUILDLOGS_REDIS": redis, "USER_EVENTS_REDIS": redis}
	ps, passed = validatePassed(t, dbCfg, nil, "Database", "Redis")
	wantNoErrors(t, ps, "Database")
	wantPassed(t, passed, "Database", "connected to PostgreSQL", "has pg_trgm")
	wantPassed(t, passed, "Redis", "PING answered", "BUILDLOGS_REDIS")
	wantPassed(t, passed, "Redis", "PING answered", "USER_EVENTS_REDIS")
	wantNoSecret(t, passed, pg.Password, rd.Password)
}
