package testenv_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"database/sql"
	"errors"
	"io"
	"net"
	"net/http"
	"net/smtp"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"github.com/quay-tools/config-editor/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

func TestCA(t *testing.T) {
	ca := testenv.CA()
	cert, err := tls.X509KeyPair(ca.ServerCertPEM, ca.ServerKeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, host := range []string{"localhost", "127.0.0.1", "::1"} {
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: ca.CertPool(), DNSName: host}); err != nil {
			t.Errorf("verify for %s: %v", host, err)
		}
	}
	ucert, err := tls.X509KeyPair(ca.UntrustedCertPEM, ca.UntrustedKeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	uleaf, _ := x509.ParseCertificate(ucert.Certificate[0])
	var uae x509.UnknownAuthorityError
	if _, err := uleaf.Verify(x509.VerifyOptions{Roots: ca.CertPool(), DNSName: "localhost"}); !errors.As(err, &uae) {
		t.Errorf("untrusted cert against test CA: got %v, want UnknownAuthorityError", err)
	}
}

func TestPostgres(t *testing.T) {
	start := time.Now()
	pg := testenv.Postgres(t)
	t.Logf("postgres ready in %s at %s", time.Since(start), pg.Addr())

	conn, err := pgx.Connect(ctx(t), pg.DSN(pg.DB, "verify-full"))
	if err != nil {
		t.Fatalf("connect verify-full: %v", err)
	}
	defer conn.Close(context.Background())
	if _, ok := conn.PgConn().Conn().(*tls.Conn); !ok {
		t.Error("connection is not TLS")
	}
	var n int
	if err := conn.QueryRow(ctx(t), "SELECT count(*) FROM pg_extension WHERE extname='pg_trgm'").Scan(&n); err != nil || n != 1 {
		t.Errorf("pg_trgm in %s: n=%d err=%v", pg.DB, n, err)
	}
	var super bool
	if err := conn.QueryRow(ctx(t), "SELECT rolsuper FROM pg_roles WHERE rolname=current_user").Scan(&super); err != nil || super {
		t.Errorf("quay superuser=%v err=%v", super, err)
	}

	c2, err := pgx.Connect(ctx(t), pg.DSN(pg.DBNoTrgm, "disable"))
	if err != nil {
		t.Fatalf("connect %s: %v", pg.DBNoTrgm, err)
	}
	defer c2.Close(context.Background())
	if err := c2.QueryRow(ctx(t), "SELECT count(*) FROM pg_extension WHERE extname='pg_trgm'").Scan(&n); err != nil || n != 0 {
		t.Errorf("pg_trgm in %s: n=%d err=%v", pg.DBNoTrgm, n, err)
	}

	// Wrong password.
	bad := strings.Replace(pg.DSN(pg.DB, "require"), "password="+pg.Password, "password=wrong", 1)
	if c, err := pgx.Connect(ctx(t), bad); err == nil {
		c.Close(context.Background())
		t.Fatal("wrong password accepted")
	} else if !strings.Contains(err.Error(), "password authentication failed") {
		t.Errorf("wrong password: unexpected error %v", err)
	}
	t.Logf("URI: %s", pg.URI(pg.DB))
}

func TestMariaDB(t *testing.T) {
	start := time.Now()
	m := testenv.MariaDB(t)
	t.Logf("mariadb ready in %s at %s", time.Since(start), m.Addr())
	if err := mysql.RegisterTLSConfig("testenv", testenv.CA().ClientTLSConfig()); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("mysql", m.DSN("tls=testenv&timeout=10s"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var name, cipher string
	if err := db.QueryRowContext(ctx(t), "SHOW SESSION STATUS LIKE 'Ssl_version'").Scan(&name, &cipher); err != nil {
		t.Fatalf("query over TLS: %v", err)
	}
	if !strings.HasPrefix(cipher, "TLS") {
		t.Errorf("Ssl_version=%q, want TLS", cipher)
	}
	var dbName string
	if err := db.QueryRowContext(ctx(t), "SELECT DATABASE()").Scan(&dbName); err != nil || dbName != m.DB {
		t.Errorf("DATABASE()=%q err=%v", dbName, err)
	}

	bad, _ := sql.Open("mysql", strings.Replace(m.DSN("timeout=10s"), ":"+m.Password+"@", ":wrong@", 1))
	defer bad.Close()
	err = bad.PingContext(ctx(t))
	var me *mysql.MySQLError
	if !errors.As(err, &me) || me.Number != 1045 {
		t.Errorf("wrong password: got %v, want error 1045", err)
	}
}

func TestRedis(t *testing.T) {
	start := time.Now()
	r := testenv.Redis(t)
	t.Logf("redis ready in %s at %s (tls %s)", time.Since(start), r.Addr(), r.TLSAddr())
	for _, tc := range []struct {
		name string
		opt  *redis.Options
	}{
		{"plain", &redis.Options{Addr: r.Addr(), Password: r.Password}},
		{"tls", &redis.Options{Addr: r.TLSAddr(), Password: r.Password, TLSConfig: testenv.CA().ClientTLSConfig()}},
	} {
		c := redis.NewClient(tc.opt)
		if err := c.Set(ctx(t), "k", "v", 0).Err(); err != nil {
			t.Errorf("%s: SET: %v", tc.name, err)
		}
		c.Close()
	}
	c := redis.NewClient(&redis.Options{Addr: r.Addr(), Password: "wrong", MaxRetries: -1})
	defer c.Close()
	if err := c.Ping(ctx(t)).Err(); err == nil || !strings.Contains(err.Error(), "WRONGPASS") {
		t.Errorf("wrong password: got %v, want WRONGPASS", err)
	}
	c2 := redis.NewClient(&redis.Options{Addr: r.Addr(), MaxRetries: -1})
	defer c2.Close()
	if err := c2.Ping(ctx(t)).Err(); err == nil || !strings.Contains(err.Error(), "NOAUTH") {
		t.Errorf("no password: got %v, want NOAUTH", err)
	}
}

// SignV4 against AWS's published answer ("Example: GET Object" of the S3
// header-based authentication docs), so the requests the tests send to
// versitygw are signed the way AWS specifies, not only the way versitygw
// accepts.
func TestSignV4KnownAnswer(t *testing.T) {
	req, err := http.NewRequest(http.MethodGet, "https://examplebucket.s3.amazonaws.com/test.txt", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Range", "bytes=0-9")
	testenv.SignV4(req, nil, "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "us-east-1", "s3",
		time.Date(2013, 5, 24, 0, 0, 0, 0, time.UTC))
	want := "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, " +
		"SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
	if got := req.Header.Get("Authorization"); got != want {
		t.Errorf("Authorization\n got %s\nwant %s", got, want)
	}
}

func TestS3(t *testing.T) {
	start := time.Now()
	s := testenv.S3(t)
	t.Logf("versitygw ready in %s at %s", time.Since(start), s.URL())
	resp, err := s.Request(http.MethodPut, "/"+s.Bucket+"/hello.txt", []byte("hello"), s.SecretKey)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("PUT object: %s", resp.Status)
	}
	resp, err = s.Request(http.MethodGet, "/"+s.Bucket+"/hello.txt", nil, s.SecretKey)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(b) != "hello" {
		t.Fatalf("GET object: %s %q", resp.Status, b)
	}
	resp, err = s.Request(http.MethodGet, "/"+s.Bucket+"/hello.txt", nil, "wrong-secret")
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(b), "SignatureDoesNotMatch") {
		t.Errorf("wrong secret: %s %s", resp.Status, b)
	}
	// Untrusted clients fail TLS verification (the cert is really checked).
	_, err = (&http.Client{Timeout: 5 * time.Second}).Get(s.URL())
	var uae x509.UnknownAuthorityError
	if !errors.As(err, &uae) {
		t.Errorf("system roots: got %v, want UnknownAuthorityError", err)
	}
}

func TestAzurite(t *testing.T) {
	t.Run("http", func(t *testing.T) { testAzurite(t, testenv.Azurite) })
	t.Run("https", func(t *testing.T) { testAzurite(t, testenv.AzuriteTLS) })
}

func testAzurite(t *testing.T, start1 func(testing.TB) *testenv.AzureServer) {
	start := time.Now()
	a := start1(t)
	t.Logf("azurite ready in %s at %s", time.Since(start), a.BlobURL)
	resp, err := a.Request(http.MethodPut, "/"+a.Container+"/hello.txt", []byte("hello"), a.Key)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("PUT blob: %s %s", resp.Status, b)
	}
	resp, err = a.Request(http.MethodGet, "/"+a.Container+"?restype=container&comp=list", nil, a.Key)
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), "hello.txt") {
		t.Fatalf("list: %s %s", resp.Status, b)
	}
	wrongKey := "d3Jvbmcga2V5IHdyb25nIGtleSB3cm9uZyBrZXkgd3Jvbmcga2V5IHdyb25nIGtleQ=="
	resp, err = a.Request(http.MethodGet, "/"+a.Container+"?restype=container&comp=list", nil, wrongKey)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("wrong key: %s, want 403", resp.Status)
	}
}

func TestSwift(t *testing.T) {
	s := testenv.Swift(t)
	storageURL, token, err := s.Auth(s.User, s.Key)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodHead, storageURL+"/"+s.Container, nil)
	req.Header.Set("X-Auth-Token", token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Errorf("HEAD container: %s", resp.Status)
	}
	if _, _, err := s.Auth(s.User, "wrong"); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("wrong key: got %v, want 401", err)
	}
}

func TestLDAP(t *testing.T) {
	start := time.Now()
	l := testenv.LDAP(t)
	t.Logf("slapd ready in %s at %s / %s", time.Since(start), l.URI, l.LDAPSURI)
	tlsConf := testenv.CA().ClientTLSConfig()
	tlsConf.ServerName = "127.0.0.1"

	check := func(name string, c *ldap.Conn) {
		t.Helper()
		defer c.Close()
		if err := c.Bind(l.AdminDN, l.AdminPassword); err != nil {
			t.Fatalf("%s: admin bind: %v", name, err)
		}
		res, err := c.Search(ldap.NewSearchRequest(l.UserDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 10, false,
			"(&(objectClass=inetOrgPerson)(uid=*))", []string{"uid", "mail"}, nil))
		if err != nil {
			t.Fatalf("%s: search: %v", name, err)
		}
		if len(res.Entries) != len(l.Users) {
			t.Errorf("%s: %d entries, want %d", name, len(res.Entries), len(l.Users))
		}
		u := l.Users[0]
		if err := c.Bind(u.DN, u.Password); err != nil {
			t.Errorf("%s: user bind: %v", name, err)
		}
		err = c.Bind(l.AdminDN, "wrong")
		if !ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidCredentials) {
			t.Errorf("%s: bad bind: got %v, want code 49", name, err)
		}
	}

	c, err := ldap.DialURL(l.URI)
	if err != nil {
		t.Fatal(err)
	}
	check("plain", c)

	c, err = ldap.DialURL(l.URI)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.StartTLS(tlsConf); err != nil {
		t.Fatalf("StartTLS: %v", err)
	}
	check("starttls", c)

	c, err = ldap.DialURL(l.LDAPSURI, ldap.DialWithTLSConfig(tlsConf))
	if err != nil {
		t.Fatalf("ldaps: %v", err)
	}
	check("ldaps", c)
}

func TestSMTP(t *testing.T) {
	s := testenv.SMTP(t)
	tlsConf := testenv.CA().ClientTLSConfig()
	tlsConf.ServerName = "localhost"
	send := func(c *smtp.Client, host, password string) error {
		defer c.Close()
		if err := c.Auth(smtp.PlainAuth("", s.Username, password, host)); err != nil {
			return err
		}
		if err := c.Mail("quay@example.org"); err != nil {
			return err
		}
		if err := c.Rcpt("admin@example.org"); err != nil {
			return err
		}
		w, err := c.Data()
		if err != nil {
			return err
		}
		if _, err := io.WriteString(w, "Subject: test\r\n\r\nhello\r\n"); err != nil {
			return err
		}
		if err := w.Close(); err != nil {
			return err
		}
		return c.Quit()
	}
	dialStartTLS := func() *smtp.Client {
		c, err := smtp.Dial(s.Addr)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Hello("localhost"); err != nil {
			t.Fatal(err)
		}
		return c
	}

	// Before STARTTLS no AUTH is offered.
	c := dialStartTLS()
	if ok, _ := c.Extension("AUTH"); ok {
		t.Error("AUTH offered before STARTTLS")
	}
	if ok, _ := c.Extension("STARTTLS"); !ok {
		t.Error("STARTTLS not offered")
	}
	if err := c.StartTLS(tlsConf); err != nil {
		t.Fatalf("STARTTLS: %v", err)
	}
	if err := send(c, s.Host, s.Password); err != nil {
		t.Fatalf("send via STARTTLS: %v", err)
	}

	c = dialStartTLS()
	if err := c.StartTLS(tlsConf); err != nil {
		t.Fatal(err)
	}
	if err := send(c, s.Host, "wrong"); err == nil || !strings.Contains(err.Error(), "535") {
		t.Errorf("wrong password: got %v, want 535", err)
	}

	conn, err := tls.Dial("tcp", s.TLSAddr, tlsConf)
	if err != nil {
		t.Fatalf("implicit TLS: %v", err)
	}
	c, err = smtp.NewClient(conn, "localhost")
	if err != nil {
		t.Fatal(err)
	}
	if err := send(c, "localhost", s.Password); err != nil {
		t.Fatalf("send via implicit TLS: %v", err)
	}
	if n := len(s.Messages()); n < 2 {
		t.Errorf("%d messages received, want >= 2", n)
	}
}

func TestClair(t *testing.T) {
	start := time.Now()
	c := testenv.Clair(t)
	t.Logf("clair ready in %s at %s", time.Since(start), c.URL)
	resp, err := c.Get("/indexer/api/v1/index_state", true)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), `"state"`) {
		t.Errorf("with JWT: %s %s", resp.Status, b)
	}
	resp, err = c.Get("/indexer/api/v1/index_state", false)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("without JWT: %s, want 401", resp.Status)
	}
	req, _ := http.NewRequest(http.MethodGet, c.URL+"/indexer/api/v1/index_state", nil)
	req.Header.Set("Authorization", "Bearer "+testenv.SignHS256([]byte("wrong key"), map[string]any{
		"iss": c.Issuer, "exp": time.Now().Add(time.Minute).Unix(),
	}))
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("JWT with wrong key: %s, want 401", resp.Status)
	}
}

func TestBlackhole(t *testing.T) {
	addr := testenv.Blackhole(t)
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	_, err = c.Read(make([]byte, 1))
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Errorf("read: got %v, want timeout", err)
	}
}
