package validators

import (
	"encoding/base64"
	"fmt"
	"testing"

	"github.com/quay-tools/config-editor/internal/problem"
	"github.com/quay-tools/config-editor/internal/testenv"
)

func TestClairOnline(t *testing.T) {
	cl := testenv.Clair(t)
	pg := testenv.Postgres(t)
	cfg := func(psk string) map[string]any {
		m := map[string]any{"FEATURE_SECURITY_SCANNER": true, "SECURITY_SCANNER_V4_ENDPOINT": cl.URL}
		if psk != "" {
			m["SECURITY_SCANNER_V4_PSK"] = psk
		}
		return m
	}
	t.Run("right PSK", func(t *testing.T) {
		wantNoProblems(t, validateOnline(t, onlineBundle(t, cfg(cl.PSK), nil), "SecurityScanner"), "SecurityScanner")
	})
	t.Run("wrong PSK", func(t *testing.T) {
		other := base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))
		ps := validateOnline(t, onlineBundle(t, cfg(other), nil), "SecurityScanner")
		wantProblem(t, ps, "SecurityScanner", "SECURITY_SCANNER_V4_PSK", problem.Error, "401", "wrong PSK")
		wantNoSecret(t, ps, other, cl.PSK)
	})
	t.Run("no PSK", func(t *testing.T) {
		ps := validateOnline(t, onlineBundle(t, cfg(""), nil), "SecurityScanner")
		wantProblem(t, ps, "SecurityScanner", "SECURITY_SCANNER_V4_PSK", problem.Error, "401", "requires a pre-shared key")
	})
	t.Run("not Clair", func(t *testing.T) {
		m := cfg(cl.PSK)
		m["SECURITY_SCANNER_V4_ENDPOINT"] = cl.URL + "/nothing"
		ps := validateOnline(t, onlineBundle(t, m, nil), "SecurityScanner")
		wantProblem(t, ps, "SecurityScanner", "SECURITY_SCANNER_V4_ENDPOINT", problem.Error, "404")
	})
	t.Run("clair-config.yaml connstrings", func(t *testing.T) {
		good := fmt.Sprintf("host=%s port=%d user=%s password=%s dbname=%s sslmode=disable", pg.Host, pg.Port, pg.User, pg.Password, pg.DB)
		bad := fmt.Sprintf("host=%s port=%d user=%s password=clair-secret-x dbname=%s sslmode=disable", pg.Host, pg.Port, pg.User, pg.DB)
		yml := fmt.Sprintf("indexer:\n  connstring: %q\nmatcher:\n  connstring: %q\nnotifier:\n  connstring: %q\n", good, bad, good)
		ps := validateOnline(t, onlineBundle(t, cfg(cl.PSK), map[string][]byte{"clair-config.yaml": []byte(yml)}), "SecurityScanner")
		wantProblem(t, ps, "SecurityScanner", "clair-config.yaml", problem.Error, "(matcher connstring", "rejected the password", pg.Addr())
		for _, p := range ps {
			if p.Severity == problem.Error && p.FieldGroup == "SecurityScanner" && p.Path.String() != "clair-config.yaml" {
				t.Fatalf("unexpected %s", p)
			}
		}
		wantNoSecret(t, ps, "clair-secret-x", pg.Password)
	})
}
