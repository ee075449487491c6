package registry

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/quay-tools/config-editor/internal/testenv"
)

// The OCI distribution-spec conformance suite (the newest, built by
// hack/testservers/install.sh) against the registry, over TLS from the
// bundle, logged in as a superuser (it deletes), with LocalStorage: with the
// suite's defaults (sha512 content included) and with OCI_DATA_SHA512=false.

var conformanceCountRE = regexp.MustCompile(`(?m)^\s*(Pass|FAIL|Error|Skip|Disabled)\.+:\s+(\d+)\s*$`)

type conformanceResult struct {
	counts map[string]int
	out    string
}

func runConformance(t *testing.T, reg *testRegistry, user, pass string, env ...string) conformanceResult {
	t.Helper()
	bin := testenv.OCIConformance(t)
	results := t.TempDir()
	cmd := exec.Command(bin)
	cmd.Dir = t.TempDir() // it writes where it runs
	cmd.Env = append(os.Environ(),
		"OCI_REGISTRY="+hostOf(reg),
		"OCI_TLS=enabled",
		"SSL_CERT_FILE="+testCAFile,
		"OCI_REPO1=conformance/repo1",
		"OCI_REPO2=conformance/repo2",
		"OCI_USERNAME="+user,
		"OCI_PASSWORD="+pass,
		"OCI_RESULTS_DIR="+results,
		"OCI_LOG=warn",
	)
	cmd.Env = append(cmd.Env, env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(10 * time.Minute):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("the conformance suite ran over 10 minutes:\n%s", tail(out.String(), 60))
	}
	res := conformanceResult{counts: map[string]int{}, out: out.String()}
	for _, m := range conformanceCountRE.FindAllStringSubmatch(res.out, -1) {
		n, _ := strconv.Atoi(m[2])
		res.counts[m[1]] = n
	}
	if _, err := os.Stat(results + "/junit.xml"); err != nil {
		t.Errorf("no junit.xml from the suite: %v", err)
	}
	return res
}

func (c conformanceResult) String() string {
	return fmt.Sprintf("Pass %d, FAIL %d, Error %d, Skip %d, Disabled %d",
		c.counts["Pass"], c.counts["FAIL"], c.counts["Error"], c.counts["Skip"], c.counts["Disabled"])
}

// failures lists the failed checks and their reasons.
func (c conformanceResult) failures() string { return c.checks(": FAIL", ": Error") }

// checks lists the checks whose result ends so, with their reasons.
func (c conformanceResult) checks(results ...string) string {
	var b strings.Builder
	lines := strings.Split(c.out, "\n")
	for i, l := range lines {
		if slices.ContainsFunc(results, func(r string) bool { return strings.HasSuffix(l, r) }) {
			b.WriteString(l + "\n")
			for j := i + 1; j < len(lines) && strings.HasPrefix(strings.TrimSpace(lines[j]), "- "); j++ {
				b.WriteString(lines[j] + "\n")
			}
		}
	}
	return b.String()
}

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func TestOCIConformance(t *testing.T) {
	if testing.Short() {
		t.Skip("the conformance suite takes a while; not with -short")
	}
	// The binary (cmd/config-editor TestRegistryConformance) is also run
	// through the suite, with S3 as well; here, the in-process runtime with
	// LocalStorage, for a quick loop.
	storages := map[string]func(t *testing.T) string{
		"LocalStorage": func(*testing.T) string { return "" },
		// two S3 locations, replication on, workers copying while the
		// suite runs (the queue in PostgreSQL, a shared Redis cache)
		"S3 geo-replicated": func(t *testing.T) string {
			s3 := testenv.S3(t)
			s3Bucket(t, s3, "conf-a")
			s3Bucket(t, s3, "conf-b")
			prefix := fmt.Sprintf("/conf%d", testSeq.Add(1))
			rd := testenv.Redis(t)
			return "DISTRIBUTED_STORAGE_CONFIG:\n" + s3LocationYAML(s3, "a", "conf-a", prefix) + s3LocationYAML(s3, "b", "conf-b", prefix) +
				"DISTRIBUTED_STORAGE_PREFERENCE: [a, b]\nDISTRIBUTED_STORAGE_DEFAULT_LOCATIONS: [a, b]\nFEATURE_STORAGE_REPLICATION: true\n" +
				"DB_URI: " + queueDB(t) + "\n" +
				fmt.Sprintf("BUILDLOGS_REDIS: {host: 127.0.0.1, port: %d, password: %s, db: %d}\n", rd.Port, rd.Password, 6+testSeq.Add(1)%8)
		},
	}
	for name, storage := range storages {
		t.Run(name, func(t *testing.T) {
			reg := startRegistry(t, regSetup{
				tls:     true,
				storage: storage(t),
				config:  "SUPER_USERS: [conformance]\nFEATURE_ANONYMOUS_ACCESS: false\n",
				files:   htpasswdFiles(t, "conformance", "conformance-pw"),
			})
			modes := [][]string{nil}
			if name == "LocalStorage" {
				modes = append(modes, []string{"OCI_DATA_SHA512=false"})
			}
			for _, env := range modes {
				what := "defaults"
				if len(env) > 0 {
					what = strings.Join(env, " ")
				}
				res := runConformance(t, reg, "conformance", "conformance-pw", env...)
				t.Logf("OCI conformance, %s, %s: %s; skipped:\n%s", name, what, res, res.checks(": Skip"))
				if res.counts["Pass"] == 0 || res.counts["FAIL"] != 0 || res.counts["Error"] != 0 || !strings.Contains(res.out, "OCI Conformance Result: Pass") {
					t.Fatalf("conformance %s (%s): %s\n%s\n%s", name, what, res, res.failures(), tail(res.out, 40))
				}
			}
		})
	}
}
