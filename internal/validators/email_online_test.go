package validators

import (
	"net"
	"strconv"
	"testing"

	"github.com/quay-tools/config-editor/internal/problem"
	"github.com/quay-tools/config-editor/internal/testenv"
)

func TestEmailOnline(t *testing.T) {
	srv := testenv.SMTP(t)
	ca := map[string][]byte{"extra_ca_certs/test-ca.crt": testenv.CA().CAPEM}
	cfg := func(addr, password string, more ...any) map[string]any {
		host, port, _ := net.SplitHostPort(addr)
		n, _ := strconv.Atoi(port)
		m := map[string]any{"FEATURE_MAILING": true, "MAIL_SERVER": host, "MAIL_PORT": n,
			"MAIL_USE_TLS": true, "MAIL_USE_AUTH": true, "MAIL_USERNAME": srv.Username, "MAIL_PASSWORD": password,
			"MAIL_DEFAULT_SENDER": "quay@example.org"}
		for i := 0; i+1 < len(more); i += 2 {
			m[more[i].(string)] = more[i+1]
		}
		return m
	}
	t.Run("STARTTLS and AUTH", func(t *testing.T) {
		wantNoProblems(t, validateOnline(t, onlineBundle(t, cfg(srv.Addr, srv.Password), ca), "Email"), "Email")
	})
	t.Run("bad password", func(t *testing.T) {
		ps := validateOnline(t, onlineBundle(t, cfg(srv.Addr, "wrong-pw"), ca), "Email")
		wantProblem(t, ps, "Email", "MAIL_PASSWORD", problem.Error, "rejected the login of "+srv.Username, "535", "with STARTTLS")
		wantNoSecret(t, ps, "wrong-pw", srv.Password)
	})
	t.Run("implicit TLS", func(t *testing.T) {
		ps := validateOnline(t, onlineBundle(t, cfg(srv.TLSAddr, srv.Password, "MAIL_USE_SSL", true), ca), "Email")
		wantNoErrors(t, ps, "Email")
	})
	t.Run("implicit TLS bad password", func(t *testing.T) {
		ps := validateOnline(t, onlineBundle(t, cfg(srv.TLSAddr, "wrong-pw", "MAIL_USE_SSL", true), ca), "Email")
		wantProblem(t, ps, "Email", "MAIL_PASSWORD", problem.Error, "535", "implicit TLS")
	})
	t.Run("STARTTLS untrusted", func(t *testing.T) {
		ps := validateOnline(t, onlineBundle(t, cfg(srv.Addr, srv.Password), nil), "Email")
		wantProblem(t, ps, "Email", "MAIL_USE_TLS", problem.Error, "TLS handshake failed", "unknown authority")
	})
	t.Run("no TLS: server offers no AUTH in clear", func(t *testing.T) {
		ps := validateOnline(t, onlineBundle(t, cfg(srv.Addr, srv.Password, "MAIL_USE_TLS", false), ca), "Email")
		wantProblem(t, ps, "Email", "MAIL_USE_AUTH", problem.Error, "does not offer AUTH")
	})
}
