package operator

import (
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/quay-tools/config-editor/internal/bundle"
	"github.com/quay-tools/config-editor/internal/schema"
)

func TestEvaluate(t *testing.T) {
	since := time.Date(2026, 12, 1, 10, 0, 0, 500e6, time.UTC)
	at := func(d time.Duration) metav1.Time { return metav1.NewTime(since.Truncate(time.Second).Add(d)) }
	cond := func(typ, status, reason string, d time.Duration) Condition {
		return Condition{Type: typ, Status: status, Reason: reason, LastUpdateTime: at(d), LastTransitionTime: at(d)}
	}
	for _, tc := range []struct {
		name  string
		conds []Condition
		want  Phase
	}{
		{"nothing yet", nil, PhaseProgressing},
		{"healthy before the push", []Condition{cond("Available", "True", "HealthChecksPassing", -time.Hour)}, PhaseProgressing},
		{"migrating", []Condition{cond("Available", "False", "MigrationsInProgress", 0)}, PhaseProgressing},
		{"healthy after", []Condition{cond("Available", "True", "HealthChecksPassing", -time.Hour), cond("RolloutBlocked", "False", "ComponentsCreationSuccess", time.Second)}, PhaseAvailable},
		{"blocked", []Condition{cond("Available", "True", "HealthChecksPassing", -time.Hour), cond("RolloutBlocked", "True", "ConfigInvalid", time.Second)}, PhaseFailed},
		{"blocked before the push", []Condition{cond("RolloutBlocked", "True", "ConfigInvalid", -time.Minute)}, PhaseProgressing},
		{"migrations failed", []Condition{cond("Available", "False", "MigrationsFailed", 2*time.Second)}, PhaseFailed},
		// same second as the push (condition times have 1 s resolution):
		// new if it differs from the status before the push
		{"same second, new", []Condition{cond("Available", "True", "HealthChecksPassing", 0)}, PhaseAvailable},
		{"same second, as before", []Condition{cond("Available", "True", "HealthChecksPassing", 0), cond("RolloutBlocked", "False", "ComponentsCreationSuccess", 0)}, PhaseProgressing},
		{"same second, blocked now", []Condition{cond("Available", "True", "HealthChecksPassing", 0), cond("RolloutBlocked", "True", "ConfigInvalid", 0)}, PhaseFailed},
	} {
		base := Baseline{At: since}
		if strings.HasPrefix(tc.name, "same second, ") && tc.name != "same second, new" {
			base.Before = Status{Conditions: []Condition{cond("Available", "True", "HealthChecksPassing", 0), cond("RolloutBlocked", "False", "ComponentsCreationSuccess", 0)}}
		}
		got, _, _ := Evaluate(Status{Conditions: tc.conds}, base)
		if got != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
	}
}

func TestDiffMasksSecrets(t *testing.T) {
	a, _ := bundle.New([]byte("DB_URI: postgresql://u:oldpw@db/q\nSECRET_KEY: aaaaaaaaaaaaaaaaaaaa\nTITLE: x\nBUILDLOGS_REDIS: {host: r, password: redispw1}\n"), bundle.Limits{})
	b, _ := bundle.New([]byte("DB_URI: postgresql://u:newpw@db/q\nSECRET_KEY: bbbbbbbbbbbbbbbbbbbb\nBUILDLOGS_REDIS: {host: r2, password: redispw2}\nNEW: 1\n"), bundle.Limits{})
	_ = a.SetFile("ssl.key", []byte("KEY1"))
	_ = b.SetFile("ssl.key", []byte("KEY22"))
	_ = b.SetFile("extra_ca_certs/x.crt", []byte("CA"))
	var text []string
	for _, c := range Diff(a, b, schema.Get()) {
		text = append(text, c.String())
	}
	all := strings.Join(text, "\n")
	for _, leak := range []string{"oldpw", "newpw", "aaaa", "bbbb", "redispw", "KEY1", "KEY22"} {
		if strings.Contains(all, leak) {
			t.Errorf("diff leaks %q:\n%s", leak, all)
		}
	}
	for _, want := range []string{"~ DB_URI", "~ SECRET_KEY", `~ BUILDLOGS_REDIS.host: "r" → "r2"`, "~ BUILDLOGS_REDIS.password", "- TITLE", "+ NEW: 1", "~ file ssl.key", "+ file extra_ca_certs/x.crt: 2 bytes"} {
		if !strings.Contains(all, want) {
			t.Errorf("diff lacks %q:\n%s", want, all)
		}
	}
}

func TestContentHashAndNames(t *testing.T) {
	d1 := map[string][]byte{"config.yaml": []byte("A: 1\n"), "x": []byte("y")}
	d2 := map[string][]byte{"config.yaml": []byte("A: 1\n"), "x": []byte("y"), "service-ca.crt": []byte("ignored")}
	d3 := map[string][]byte{"config.yaml": []byte("A: 1\nx"), "": []byte("y")}
	if ContentHash(d1) != ContentHash(d2) || !sameData(d1, d2) {
		t.Error("NotPushed keys change the hash or the comparison")
	}
	if ContentHash(d1) == ContentHash(d3) || sameData(d1, d3) {
		t.Error("key/value boundaries are ambiguous in the hash")
	}
	if n := SecretName("reg", ContentHash(d1)); len(n) != len("reg-config-bundle-")+10 {
		t.Errorf("name %s", n)
	}
}
