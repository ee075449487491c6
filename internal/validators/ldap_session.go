package validators

import (
	"context"
	"fmt"
	"net/url"

	"github.com/go-ldap/ldap/v3"

	"github.com/quay-tools/config-editor/internal/bundle"
	"github.com/quay-tools/config-editor/internal/schema"
)

// LDAPConnect opens a session to the bundle's LDAP server (LDAP_URI) exactly
// as the LDAP probe does: ldaps:// over TLS, ldap:// with StartTLS and, when
// the server offers none, in clear as Quay itself falls back (warning then
// says so). The bundle's ldap.crt and extra CAs are trusted. The connection
// is bound to ctx: its deadline and cancellation end it. Registry mode uses
// it to check registry logins against the same server the probe proved.
func LDAPConnect(ctx context.Context, b *bundle.Bundle) (conn *ldap.Conn, warning string, err error) {
	c := newContext(b, Options{Mode: Online, Catalogue: schema.Get()})
	raw := c.Str("LDAP_URI")
	if raw == "" {
		raw = "ldap://localhost"
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "ldap" && u.Scheme != "ldaps") || u.Hostname() == "" {
		return nil, "", fmt.Errorf("LDAP_URI %q is not an ldap:// or ldaps:// URI", raw)
	}
	port := u.Port()
	if port == "" {
		port = map[string]string{"ldap": "389", "ldaps": "636"}[u.Scheme]
	}
	t := ldapTarget{uri: u.Scheme + "://" + u.Host, scheme: u.Scheme, host: u.Hostname(), addr: hostPort(u.Hostname(), atoiOr(port, 0))}
	ca, _ := b.File("ldap.crt")
	conn, _, warning, err = ldapConnect(ctx, t, c.TLSConfig(t.host, ca))
	if err != nil {
		return nil, "", fmt.Errorf("could not connect to the LDAP server %s: %s", t.uri, ldapDescribe(ctx, err))
	}
	return conn, warning, nil
}
