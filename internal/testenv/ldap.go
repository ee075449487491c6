package testenv

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// LDAPUser is a seeded inetOrgPerson under ou=users.
type LDAPUser struct {
	DN       string
	UID      string
	Mail     string
	Password string
}

// LDAPServer is a private slapd (back_mdb) with ldap:// (StartTLS available)
// and ldaps:// listeners on 127.0.0.1, TLS with the test certificate.
type LDAPServer struct {
	URI           string // ldap://127.0.0.1:PORT
	LDAPSURI      string // ldaps://127.0.0.1:PORT
	Port          int
	TLSPort       int
	BaseDN        string // dc=example,dc=org
	AdminDN       string // cn=admin,dc=example,dc=org
	AdminPassword string
	UserDN        string // ou=users,dc=example,dc=org
	Users         []LDAPUser

	Dir string
}

var sharedLDAP = newShared[LDAPServer]()

// LDAP returns the shared private slapd, starting it if needed.
func LDAP(t testing.TB) *LDAPServer {
	t.Helper()
	return sharedLDAP.get(t, "ldap", startLDAP)
}

func startLDAP(e *env) (*LDAPServer, error) {
	miss := &missingError{what: "slapd (Debian packages slapd ldap-utils)"}
	slapd, err := findBin("slapd", "/usr/sbin/slapd")
	if err != nil {
		return nil, miss
	}
	slapadd, err := findBin("slapadd", "/usr/sbin/slapadd")
	if err != nil {
		return nil, miss
	}
	schemaDir := "/etc/ldap/schema"
	if _, err := os.Stat(filepath.Join(schemaDir, "inetorgperson.schema")); err != nil {
		return nil, miss
	}
	modDir := "/usr/lib/ldap"
	ports, err := freePorts(2)
	if err != nil {
		return nil, err
	}
	base := "dc=example,dc=org"
	l := &LDAPServer{
		URI: "ldap://" + hostPort(ports[0]), LDAPSURI: "ldaps://" + hostPort(ports[1]),
		Port: ports[0], TLSPort: ports[1],
		BaseDN: base, AdminDN: "cn=admin," + base, AdminPassword: randHex(12),
		UserDN: "ou=users," + base, Dir: e.dir,
	}
	for _, u := range []struct{ uid, mail string }{{"alice", "alice@example.org"}, {"bob", "bob@example.org"}} {
		l.Users = append(l.Users, LDAPUser{DN: "uid=" + u.uid + "," + l.UserDN, UID: u.uid, Mail: u.mail, Password: randHex(8)})
	}
	ca := CA()
	data := filepath.Join(e.dir, "data")
	if err := os.Mkdir(data, 0o700); err != nil {
		return nil, err
	}
	conf := fmt.Sprintf(`include %[1]s/core.schema
include %[1]s/cosine.schema
include %[1]s/inetorgperson.schema
include %[1]s/nis.schema
pidfile %[2]s/slapd.pid
argsfile %[2]s/slapd.args
modulepath %[3]s
moduleload back_mdb
TLSCACertificateFile %[4]s
TLSCertificateFile %[5]s
TLSCertificateKeyFile %[6]s
database mdb
maxsize 104857600
suffix "%[7]s"
rootdn "%[8]s"
rootpw %[9]s
directory %[10]s
index objectClass eq
index uid,mail eq
access to attrs=userPassword by self write by anonymous auth by * none
access to * by * read
`, schemaDir, e.dir, modDir, ca.CAFile, ca.ServerCertFile, ca.ServerKeyFile, base, l.AdminDN, l.AdminPassword, data)
	confPath := filepath.Join(e.dir, "slapd.conf")
	if err := writeFile(confPath, []byte(conf), 0o600); err != nil {
		return nil, err
	}
	var ldif strings.Builder
	fmt.Fprintf(&ldif, "dn: %s\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example\n\n", base)
	fmt.Fprintf(&ldif, "dn: %s\nobjectClass: organizationalUnit\nou: users\n\n", l.UserDN)
	for _, u := range l.Users {
		fmt.Fprintf(&ldif, "dn: %s\nobjectClass: inetOrgPerson\nuid: %s\ncn: %s\nsn: %s\nmail: %s\nuserPassword: %s\n\n",
			u.DN, u.UID, u.UID, u.UID, u.Mail, u.Password)
	}
	ldifPath := filepath.Join(e.dir, "base.ldif")
	if err := writeFile(ldifPath, []byte(ldif.String()), 0o600); err != nil {
		return nil, err
	}
	if _, err := command(time.Minute, "", nil, slapadd, "-f", confPath, "-l", ldifPath); err != nil {
		return nil, err
	}
	logPath := filepath.Join(e.dir, "slapd.log")
	// -d 0: stay in the foreground (so we own the PID) without debug output.
	p, err := startProc(e, "slapd", "", logPath, syscall.SIGTERM, nil, slapd,
		"-d", "0", "-f", confPath, "-h", l.URI+"/ "+l.LDAPSURI+"/")
	if err != nil {
		return nil, err
	}
	for _, port := range ports {
		if err := waitFor(p, fmt.Sprintf("slapd port %d", port), dialCheck(hostPort(port))); err != nil {
			return nil, err
		}
	}
	return l, nil
}
