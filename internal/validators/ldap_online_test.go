package validators

import (
	"strings"
	"testing"

	"github.com/quay-tools/config-editor/internal/problem"
	"github.com/quay-tools/config-editor/internal/testenv"
)

func TestLDAPOnline(t *testing.T) {
	ls := testenv.LDAP(t)
	crt := map[string][]byte{"ldap.crt": testenv.CA().CAPEM}
	cfg := func(uri, password string, more ...any) map[string]any {
		m := map[string]any{
			"AUTHENTICATION_TYPE": "LDAP",
			"LDAP_URI":            uri,
			"LDAP_ADMIN_DN":       ls.AdminDN,
			"LDAP_ADMIN_PASSWD":   password,
			"LDAP_BASE_DN":        anyList(strings.Split(ls.BaseDN, ",")),
			"LDAP_USER_RDN":       []any{"ou=users"},
			"LDAP_UID_ATTR":       "uid",
			"LDAP_EMAIL_ATTR":     "mail",
		}
		for i := 0; i+1 < len(more); i += 2 {
			m[more[i].(string)] = more[i+1]
		}
		return m
	}
	t.Run("ldap with StartTLS, bind and search", func(t *testing.T) {
		wantNoProblems(t, validateOnline(t, onlineBundle(t, cfg(ls.URI, ls.AdminPassword), crt), "LDAP"), "LDAP")
	})
	t.Run("ldaps", func(t *testing.T) {
		wantNoProblems(t, validateOnline(t, onlineBundle(t, cfg(ls.LDAPSURI, ls.AdminPassword), crt), "LDAP"), "LDAP")
	})
	t.Run("ldap in clear when StartTLS cert is untrusted", func(t *testing.T) {
		ps := validateOnline(t, onlineBundle(t, cfg(ls.URI, ls.AdminPassword), nil), "LDAP")
		wantNoErrors(t, ps, "LDAP")
		wantProblem(t, ps, "LDAP", "LDAP_URI", problem.Warning, "StartTLS failed", "unknown authority", "in clear")
	})
	t.Run("ldaps untrusted", func(t *testing.T) {
		ps := validateOnline(t, onlineBundle(t, cfg(ls.LDAPSURI, ls.AdminPassword), nil), "LDAP")
		wantProblem(t, ps, "LDAP", "LDAP_URI", problem.Error, "unknown authority", ls.LDAPSURI)
	})
	t.Run("bad password", func(t *testing.T) {
		ps := validateOnline(t, onlineBundle(t, cfg(ls.URI, "not-it"), crt), "LDAP")
		p := wantProblem(t, ps, "LDAP", "LDAP_ADMIN_PASSWD", problem.Error, "invalid credentials", "49", ls.AdminDN)
		if len(p.Tags) != 2 {
			t.Errorf("tags %v", p.Tags)
		}
		wantNoSecret(t, ps, "not-it", ls.AdminPassword)
	})
	t.Run("zero users is a warning", func(t *testing.T) {
		ps := validateOnline(t, onlineBundle(t, cfg(ls.URI, ls.AdminPassword, "LDAP_USER_FILTER", "(mail=nobody@example.invalid)"), crt), "LDAP")
		wantNoErrors(t, ps, "LDAP")
		wantProblem(t, ps, "LDAP", "LDAP_USER_FILTER", problem.Warning, "0 users matched", "(&(uid=*)(mail=nobody@example.invalid))")
	})
	t.Run("uid attribute nobody has", func(t *testing.T) {
		ps := validateOnline(t, onlineBundle(t, cfg(ls.URI, ls.AdminPassword, "LDAP_UID_ATTR", "employeeNumber"), crt), "LDAP")
		wantProblem(t, ps, "LDAP", "LDAP_BASE_DN", problem.Warning, "0 users matched", `"ou=users,dc=example,dc=org"`)
	})
	t.Run("user RDN that does not exist", func(t *testing.T) {
		ps := validateOnline(t, onlineBundle(t, cfg(ls.URI, ls.AdminPassword, "LDAP_USER_RDN", []any{"ou=staff"}), crt), "LDAP")
		wantProblem(t, ps, "LDAP", "LDAP_BASE_DN", problem.Error, "does not exist", "ou=staff,dc=example,dc=org")
	})
}

func anyList(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}
