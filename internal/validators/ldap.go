package validators

import (
	"net/url"
	"strings"

	"github.com/quay-tools/config-editor/internal/problem"
)

const groupLDAP = "LDAP"

func ldapCheck() Check {
	return Check{Group: groupLDAP, Offline: ldapOffline,
		OnlineProof: "bind as the admin DN and search the base DN with the user filter"}
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
