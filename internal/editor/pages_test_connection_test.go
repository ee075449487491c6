package editor

import (
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/quay-tools/config-editor/internal/testenv"
)

// Test connection on the Redis page runs the section's probes against a
// real Redis and shows what was proved; on the Database page a closed port
// shows the failure next to DB_URI; other sections stay offline.
func TestTestConnectionSection(t *testing.T) {
	rs := testenv.Redis(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	cfg := fmt.Sprintf("SERVER_HOSTNAME: localhost\nDB_URI: postgresql://quay:pw@%s/quay\nBUILDLOGS_REDIS:\n  host: %s\n  port: %d\n  password: %s\n",
		closed, rs.Host, rs.Port, rs.Password)
	e := newPagesEnv(t, cfg)
	page := e.get("/group/Redis")
	if !strings.Contains(page, ">Test connection</button>") {
		t.Fatal("no Test connection button on the Redis page")
	}
	form := formOf(t, page, "/group/Redis")
	w := e.post(testArgs("Redis", "", "").URL, form)
	if w.Code != http.StatusOK {
		t.Fatalf("test Redis: %d %s", w.Code, w.Body)
	}
	body := w.Body.String()
	want := fmt.Sprintf("PING answered by the Redis of BUILDLOGS_REDIS at %s:%d", rs.Host, rs.Port)
	if !strings.Contains(body, want) || !strings.Contains(body, "online validation of revision") {
		t.Fatalf("the Redis page does not show what its test proved:\n%s", body)
	}
	if strings.Contains(body, rs.Password) {
		t.Fatal("the Redis password is in the page")
	}
	// only Redis was probed: the database stays offline (no connection error)
	if db := e.get("/group/Database"); strings.Contains(db, "connect") && regexp.MustCompile(`id="f-DB_URI"[^>]*aria-invalid="true"`).MatchString(db) {
		t.Fatal("testing Redis probed the database")
	}
	form = formOf(t, e.get("/group/Database"), "/group/Database")
	body = e.post(testArgs("Database", "", "").URL, form).Body.String()
	if !regexp.MustCompile(`id="f-DB_URI"[^>]*aria-invalid="true"`).MatchString(body) || !strings.Contains(body, "This section (Database): 1 error(s)") {
		t.Fatalf("the database failure is not shown next to DB_URI:\n%s", body)
	}
}

// Each storage location has its own button, which probes that location
// only.
func TestTestConnectionStorageLocation(t *testing.T) {
	good, bad := t.TempDir(), filepath.Join(t.TempDir(), "missing")
	cfg := fmt.Sprintf("SERVER_HOSTNAME: localhost\nFEATURE_STORAGE_REPLICATION: false\nDISTRIBUTED_STORAGE_CONFIG:\n  good:\n    - LocalStorage\n    - storage_path: %s\n  bad:\n    - LocalStorage\n    - storage_path: %s\nDISTRIBUTED_STORAGE_PREFERENCE: [good, bad]\n", good, bad)
	e := newPagesEnv(t, cfg)
	page := e.get("/group/DistributedStorage")
	for _, loc := range []string{"good", "bad"} {
		if !strings.Contains(page, ">Test connection to "+loc+"</button>") {
			t.Fatalf("no Test connection button for location %s", loc)
		}
	}
	form := formOf(t, page, "/storage")
	form.Set("op", "save")
	body := e.post(testArgs("DistributedStorage", "location", "good").URL, form).Body.String()
	if !strings.Contains(body, `Storage location &#34;good&#34; (LocalStorage): wrote, read back and removed a test file`) {
		t.Fatalf("the good location's proof is missing:\n%s", body)
	}
	if strings.Contains(body, "does not exist") {
		t.Fatal("testing location good probed location bad")
	}
	body = e.post(testArgs("DistributedStorage", "location", "bad").URL, form).Body.String()
	if !strings.Contains(body, "does not exist") {
		t.Fatalf("the bad location's failure is missing:\n%s", body)
	}
}

// Each OIDC provider has its own button, which probes that provider only.
func TestTestConnectionOIDCProvider(t *testing.T) {
	var closed []string
	for range 2 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		closed = append(closed, ln.Addr().String())
		ln.Close()
	}
	cfg := fmt.Sprintf("SERVER_HOSTNAME: localhost\nAZURE_LOGIN_CONFIG:\n  OIDC_SERVER: http://%s/\n  CLIENT_ID: a\n  CLIENT_SECRET: b\n  SERVICE_NAME: Azure\nOKTA_LOGIN_CONFIG:\n  OIDC_SERVER: http://%s/\n  CLIENT_ID: c\n  CLIENT_SECRET: d\n  SERVICE_NAME: Okta\n", closed[0], closed[1])
	e := newPagesEnv(t, cfg)
	page := e.get("/group/OIDC")
	for _, k := range []string{"AZURE_LOGIN_CONFIG", "OKTA_LOGIN_CONFIG"} {
		if !strings.Contains(page, ">Test connection to "+k+"</button>") {
			t.Fatalf("no Test connection button for %s", k)
		}
	}
	form := formOf(t, page, "/group/OIDC")
	body := e.post(testArgs("OIDC", "provider", "AZURE_LOGIN_CONFIG").URL, form).Body.String()
	if !strings.Contains(body, "AZURE_LOGIN_CONFIG: could not fetch the discovery document") {
		t.Fatalf("the Azure failure is missing:\n%s", body)
	}
	if strings.Contains(body, "OKTA_LOGIN_CONFIG: could not fetch") {
		t.Fatal("testing Azure probed Okta")
	}
}
