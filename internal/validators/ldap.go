package validators

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/go-ldap/ldap/v3"
	"github.com/quay-tools/config-editor/internal/bundle"
	"github.com/quay-tools/config-editor/internal/problem"
	"github.com/quay-tools/config-editor/internal/schema"
)

const groupLDAP = "LDAP"

// LDAP: LDAP authentication. Online: bind as the admin DN and count the
// users under the user search base(s).
func ldapCheck() Check {
	return Check{Group: groupLDAP, Offline: ldapOffline, Probes: ldapProbes}
}

// ldapOffline: with LDAP authentication, Quay needs a server, a bind
// identity and a base DN; filters must be parenthesised; ldap.crt must be
// a certificate. The bind password is never quoted.
func ldapOffline(c *Context, l *problem.List) {
	if data, ok := c.Bundle.File("ldap.crt"); ok {
		certs, err := ParseCertPEM(data)
		if err != nil {
			l.Errorf(groupLDAP, filePath("ldap.crt"), "ldap.crt is not a usable certificate: %v.", err)
		}
		for _, cert := range certs {
			c.checkValidity(l, groupLDAP, filePath("ldap.crt"), "ldap.crt", cert)
		}
	}
	if c.Str("AUTHENTICATION_TYPE") != "LDAP" {
		return
	}
	why := "when AUTHENTICATION_TYPE is LDAP"
	tags := func(k string) []string { return []string{"AUTHENTICATION_TYPE", k} }
	if s, ok := c.Raw["LDAP_URI"].(string); ok && s != "" {
		if u, err := url.Parse(s); err == nil && (u.Scheme == "ldap" || u.Scheme == "ldaps") && u.Hostname() == "" {
			l.Errorf(groupLDAP, at("LDAP_URI"), "LDAP_URI has no host name; write it as ldaps://ldap.example.com:636.")
		} else if err == nil && u.Scheme == "ldaps" && c.on("LDAP_ALLOW_INSECURE_FALLBACK") {
			l.Warnf(groupLDAP, at("LDAP_ALLOW_INSECURE_FALLBACK"), "LDAP_ALLOW_INSECURE_FALLBACK lets Quay fall back to an unencrypted connection, sending the bind password in clear; turn it off once TLS works.")
		}
	} else if !c.Has("LDAP_URI") && !wrongType(c.Raw, "LDAP_URI") {
		l.WarnTags(groupLDAP, at("LDAP_URI"), tags("LDAP_URI"), "LDAP_URI is not set, so Quay uses ldap://localhost; set the URI of the directory server.")
	}
	if c.requireKey(l, groupLDAP, "LDAP_ADMIN_DN", tags("LDAP_ADMIN_DN"), why+"; Quay binds as this DN to look users up") {
		if s := c.Str("LDAP_ADMIN_DN"); s != "" && !strings.Contains(s, "=") {
			l.Errorf(groupLDAP, at("LDAP_ADMIN_DN"), "LDAP_ADMIN_DN %q is not a DN; write it as uid=admin,ou=people,dc=example,dc=com.", s)
		}
	}
	c.requireKey(l, groupLDAP, "LDAP_ADMIN_PASSWD", tags("LDAP_ADMIN_PASSWD"), why+"; it is the password of LDAP_ADMIN_DN")
	if _, isList := c.Raw["LDAP_BASE_DN"].([]any); len(c.List("LDAP_BASE_DN")) == 0 && (isList || c.Raw["LDAP_BASE_DN"] == nil) {
		l.ErrorTags(groupLDAP, at("LDAP_BASE_DN"), tags("LDAP_BASE_DN"), "LDAP_BASE_DN is required %s; list its components, for example [dc=example, dc=com].", why)
	}
	for _, key := range []string{"LDAP_BASE_DN", "LDAP_USER_RDN", "LDAP_SECONDARY_USER_RDNS"} {
		for i, v := range c.List(key) {
			if s, ok := v.(string); ok && !strings.Contains(s, "=") {
				l.Errorf(groupLDAP, at(key).Index(i), "%s[%d] %q is not an RDN; each entry is one attribute=value pair such as dc=example.", key, i, s)
			}
		}
	}
	for _, key := range []string{"LDAP_USER_FILTER", "LDAP_SUPERUSER_FILTER", "LDAP_RESTRICTED_USER_FILTER", "LDAP_GLOBAL_READONLY_SUPERUSER_FILTER"} {
		if s, ok := c.Raw[key].(string); ok && s != "" && !balancedFilter(s) {
			l.Errorf(groupLDAP, at(key), "%s %q is not an LDAP filter; it must be enclosed in balanced parentheses, for example (memberOf=cn=quay,ou=groups,dc=example,dc=com).", key, s)
		}
	}
}

// balancedFilter reports whether an LDAP filter is wrapped in parentheses
// that balance.
func balancedFilter(s string) bool {
	s = strings.TrimSpace(s)
	if !strings.HasPrefix(s, "(") || !strings.HasSuffix(s, ")") {
		return false
	}
	depth := 0
	for i, r := range s {
		switch r {
		case '(':
			depth++
		case ')':
			depth--
			if depth < 0 || depth == 0 && i != len(s)-1 && s[i+1] != '(' {
				return false
			}
		}
	}
	return depth == 0
}

// ldapCountLimit bounds the user count (the search asks for no attributes).
const ldapCountLimit = 1000

type ldapTarget struct {
	uri    string // as written, without credentials (LDAP URIs carry none)
	scheme string
	host   string
	addr   string
}

// ldapProbes: with LDAP authentication, bind as LDAP_ADMIN_DN and count the
// users under the user search base(s).
func ldapProbes(c *Context) []Probe {
	if c.Str("AUTHENTICATION_TYPE") != "LDAP" {
		return nil
	}
	raw := c.Str("LDAP_URI")
	if raw == "" {
		raw = "ldap://localhost"
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "ldap" && u.Scheme != "ldaps") || u.Hostname() == "" {
		return nil // the offline rules say what is wrong
	}
	port := u.Port()
	if port == "" {
		port = map[string]string{"ldap": "389", "ldaps": "636"}[u.Scheme]
	}
	t := ldapTarget{uri: u.Scheme + "://" + u.Host, scheme: u.Scheme, host: u.Hostname(), addr: hostPort(u.Hostname(), atoiOr(port, 0))}
	return []Probe{{Name: "LDAP server " + t.uri, Run: func(ctx context.Context, l *problem.List) { probeLDAP(ctx, c, t, l) }}}
}

func atoiOr(s string, def int) int {
	if n, ok := AsInt(s); ok {
		return n
	}
	return def
}

// ldapConnect opens an LDAP session: ldaps:// with TLS from the start;
// ldap:// tries StartTLS and, when the server does not offer it or its
// certificate is not trusted, connects again in clear as Quay itself does
// (warning is then set).
func ldapConnect(ctx context.Context, t ldapTarget, tc *tls.Config) (conn *ldap.Conn, how string, warning string, err error) {
	timeout := DefaultTimeout
	if dl, ok := ctx.Deadline(); ok {
		timeout = timeUntil(dl)
	}
	if t.scheme == "ldaps" {
		tconn, err := dialTLS(ctx, t.addr, tc)
		if err != nil {
			return nil, "over TLS (ldaps)", "", err
		}
		conn = ldap.NewConn(tconn, true)
		conn.SetTimeout(timeout)
		conn.Start()
		return conn, "over TLS (ldaps)", "", nil
	}
	plain := func() (*ldap.Conn, error) {
		nc, err := dialerFor(ctx)(ctx, "tcp", t.addr)
		if err != nil {
			return nil, err
		}
		conn := ldap.NewConn(nc, false)
		conn.SetTimeout(timeout)
		conn.Start()
		return conn, nil
	}
	conn, err = plain()
	if err != nil {
		return nil, "", "", err
	}
	tlsErr := conn.StartTLS(tc)
	if tlsErr == nil {
		return conn, "with StartTLS", "", nil
	}
	conn.Close()
	if ctx.Err() != nil || isTimeout(tlsErr) {
		return nil, "with StartTLS", "", tlsErr
	}
	var le *ldap.Error
	if errors.As(tlsErr, &le) && le.ResultCode != ldap.ErrorNetwork {
		warning = fmt.Sprintf("the server does not offer StartTLS (%s), so the bind password travels in clear; use ldaps:// with the server's CA as ldap.crt", ldap.LDAPResultCodeMap[le.ResultCode])
	} else {
		warning = fmt.Sprintf("StartTLS failed (%s), so Quay's bind password travels in clear; use ldaps:// or fix the server certificate and upload its CA as ldap.crt", describeErr(tlsErr))
	}
	conn, err = plain()
	return conn, "in clear", warning, err
}

func probeLDAP(ctx context.Context, c *Context, t ldapTarget, l *problem.List) {
	ca, _ := c.Bundle.File("ldap.crt")
	tc := c.TLSConfig(t.host, ca)
	conn, how, warning, err := ldapConnect(ctx, t, tc)
	if err != nil {
		l.Errorf(groupLDAP, at("LDAP_URI"), "could not connect to the LDAP server %s %s: %s.", t.uri, how, ldapDescribe(ctx, err))
		return
	}
	defer conn.Close()
	if warning != "" {
		l.Warnf(groupLDAP, at("LDAP_URI"), "connected to the LDAP server %s, but %s.", t.uri, warning)
	}
	adminDN := c.Str("LDAP_ADMIN_DN")
	if err := conn.Bind(adminDN, c.Secret("LDAP_ADMIN_PASSWD").Reveal()); err != nil {
		var le *ldap.Error
		if errors.As(err, &le) && le.ResultCode == ldap.LDAPResultInvalidCredentials {
			l.ErrorTags(groupLDAP, at("LDAP_ADMIN_PASSWD"), []string{"LDAP_ADMIN_DN", "LDAP_ADMIN_PASSWD"},
				"connected to the LDAP server %s %s, but binding as %s failed: invalid credentials (LDAP result 49); check LDAP_ADMIN_DN and LDAP_ADMIN_PASSWD.", t.uri, how, adminDN)
			return
		}
		l.ErrorTags(groupLDAP, at("LDAP_ADMIN_DN"), []string{"LDAP_ADMIN_DN", "LDAP_ADMIN_PASSWD"},
			"connected to the LDAP server %s %s, but binding as %s failed: %s.", t.uri, how, adminDN, ldapDescribe(ctx, err))
		return
	}
	uidAttr := c.Str("LDAP_UID_ATTR")
	if uidAttr == "" {
		uidAttr = "uid"
	}
	filter := "(" + uidAttr + "=*)"
	if f := strings.TrimSpace(c.Str("LDAP_USER_FILTER")); f != "" {
		filter = "(&" + filter + f + ")"
	}
	var bases []string
	for _, rdn := range append([][]string{c.Strings("LDAP_USER_RDN")}, secondaryRDNs(c)...) {
		bases = append(bases, strings.Join(append(append([]string{}, rdn...), c.Strings("LDAP_BASE_DN")...), ","))
	}
	total := 0
	for i, base := range bases {
		req := ldap.NewSearchRequest(base, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, ldapCountLimit, 0, false,
			filter, []string{"1.1"}, nil)
		res, err := conn.Search(req)
		if err != nil && ldap.IsErrorWithCode(err, ldap.LDAPResultSizeLimitExceeded) && res != nil {
			err = nil // at least ldapCountLimit users
		}
		if err != nil {
			path, tags := at("LDAP_BASE_DN"), []string{"LDAP_BASE_DN", "LDAP_USER_RDN"}
			what := ldapDescribe(ctx, err)
			switch {
			case ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject):
				what = "that entry does not exist (LDAP result 32)"
			case ldap.IsErrorWithCode(err, ldap.LDAPResultFilterError):
				path, what = at("LDAP_USER_FILTER"), "the server rejected the filter (LDAP result 87)"
			}
			if i > 0 {
				path = at("LDAP_SECONDARY_USER_RDNS")
			}
			l.ErrorTags(groupLDAP, path, tags, "bound to %s as %s, but the subtree search of %q with filter %s failed: %s.", t.uri, adminDN, base, filter, what)
			return
		}
		total += len(res.Entries)
	}
	if total > 0 {
		many := ""
		if total >= ldapCountLimit {
			many = "at least "
		}
		l.Passedf(groupLDAP, at("LDAP_BASE_DN"), "bound to %s as %s; %s%d users matched filter %s under %s.", t.uri, adminDN, many, total, filter, quoteAll(bases))
		return
	}
	path := at("LDAP_BASE_DN")
	if c.Str("LDAP_USER_FILTER") != "" {
		path = at("LDAP_USER_FILTER")
	}
	l.WarnTags(groupLDAP, path, []string{"LDAP_BASE_DN", "LDAP_USER_RDN", "LDAP_USER_FILTER"},
		"bound to %s as %s and searched %s with filter %s: 0 users matched, so nobody could log in; check LDAP_BASE_DN, LDAP_USER_RDN, LDAP_UID_ATTR and LDAP_USER_FILTER.", t.uri, adminDN, quoteAll(bases), filter)
}

func secondaryRDNs(c *Context) [][]string {
	var out [][]string
	for _, s := range c.Strings("LDAP_SECONDARY_USER_RDNS") {
		out = append(out, []string{s})
	}
	return out
}

func quoteAll(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, " and ")
}

// ldapDescribe prefers the LDAP result's own words, then the network's.
func ldapDescribe(ctx context.Context, err error) string {
	if isTimeout(err) || errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return timeoutWords
	}
	var le *ldap.Error
	if errors.As(err, &le) {
		if le.ResultCode == ldap.ErrorNetwork || le.ResultCode == ldap.ErrorUnexpectedResponse {
			if le.Err != nil {
				d := describeErr(le.Err)
				return d
			}
		}
		name := ldap.LDAPResultCodeMap[le.ResultCode]
		if le.Err != nil && le.Err.Error() != "" {
			return fmt.Sprintf("%s (LDAP result %d: %s)", name, le.ResultCode, le.Err.Error())
		}
		return fmt.Sprintf("%s (LDAP result %d)", name, le.ResultCode)
	}
	return describeErr(err)
}

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
