package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/quay-tools/config-editor/internal/bundle"
	"github.com/quay-tools/config-editor/internal/schema"
	"github.com/quay-tools/config-editor/internal/testenv"
)

// secretPaths lists a concrete path for every secret the catalogue
// declares (FieldSpec.Secret): a map value gets the key "markers", a list
// item index 0, a pattern property the first of a few names it matches.
func secretPaths(t *testing.T, cat *schema.Catalogue) [][]string {
	t.Helper()
	var out [][]string
	var walk func(path []string, s *schema.FieldSpec, depth int)
	walk = func(path []string, s *schema.FieldSpec, depth int) {
		if s == nil || depth > 10 {
			return
		}
		if s.IsSecret() {
			out = append(out, append([]string(nil), path...))
			return
		}
		for _, ch := range s.Children {
			walk(append(path, ch.Name), ch, depth+1)
		}
		for _, ch := range s.Patterns {
			name := ""
			for _, cand := range []string{"markers", "CORP_LOGIN_CONFIG", "MARKERS"} {
				if ch.NamePattern.MatchString(cand) {
					name = cand
					break
				}
			}
			if name == "" {
				t.Fatalf("no sample key for the pattern property %s under %v: add one", ch.Name, path)
			}
			walk(append(path, name), ch, depth+1)
		}
		if s.Values != nil {
			walk(append(path, "markers"), s.Values, depth+1)
		}
		for i, ch := range s.Tuple {
			walk(append(path, strconv.Itoa(i)), ch, depth+1)
		}
		if s.Items != nil {
			walk(append(path, strconv.Itoa(len(s.Tuple))), s.Items, depth+1)
		}
	}
	walk(nil, cat.Spec(), 0)
	return out
}

// setAt sets a value at a path of keys and decimal indexes, creating maps
// and lists on the way.
func setAt(cur any, path []string, v any) any {
	if len(path) == 0 {
		return v
	}
	if i, err := strconv.Atoi(path[0]); err == nil {
		l, _ := cur.([]any)
		for len(l) <= i {
			l = append(l, nil)
		}
		l[i] = setAt(l[i], path[1:], v)
		return l
	}
	m, _ := cur.(map[string]any)
	if m == nil {
		m = map[string]any{}
	}
	m[path[0]] = setAt(m[path[0]], path[1:], v)
	return m
}

// marker is the distinct value of secret i: it is also valid base64 (the
// PSK and the Azure key must decode to reach their servers) and holds no
// character a URI or YAML would escape.
func marker(i int) string { return fmt.Sprintf("SeKr1t%02dMark", i) }

// leaks counts every form of every marker in text: as is ignoring case,
// and in base64 (standard and URL alphabets, padded or not).
func leaks(text string, markers []string) (n int, found []string) {
	low := strings.ToLower(text)
	for _, m := range markers {
		forms := []string{strings.ToLower(m)}
		c := strings.Count(low, forms[0])
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
			c += strings.Count(text, enc.EncodeToString([]byte(m)))
		}
		if c > 0 {
			found = append(found, fmt.Sprintf("%s x%d", m, c))
		}
		n += c
	}
	return n, found
}

// TestSecretsCountedInEveryOutput builds a bundle with a distinct marker
// in every secret field the catalogue knows, points the services it can at
// real loopback servers that refuse those credentials, runs every output
// path, and counts the markers in each: the count must be 0 everywhere
// except the raw-bundle answers, which must hold them all (proof that the
// markers were there to leak).
func TestSecretsCountedInEveryOutput(t *testing.T) {
	cat := schema.Get()
	paths := secretPaths(t, cat)
	if len(paths) < 30 {
		t.Fatalf("only %d secret fields found in the catalogue: %v", len(paths), paths)
	}

	pg, rd, ls, mail, s3 := testenv.Postgres(t), testenv.Redis(t), testenv.LDAP(t), testenv.SMTP(t), testenv.S3(t)
	// GitHub cannot run here: its token endpoint is played by a server that
	// echoes the client secret it receives, the worst a server can do.
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		got := r.PostForm.Get("client_secret")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": "invalid_client",
			"error_description": "bad client_secret " + got + " (" + base64.StdEncoding.EncodeToString([]byte(got)) + ")"})
	}))
	t.Cleanup(echo.Close)

	storeDir := t.TempDir()
	var cfg any = map[string]any{
		"SERVER_HOSTNAME":     "quay.example.com",
		"AUTHENTICATION_TYPE": "LDAP",
		"LDAP_URI":            ls.URI,
		"LDAP_ADMIN_DN":       ls.AdminDN,
		"LDAP_BASE_DN":        strings.Split(ls.BaseDN, ","),
		"LDAP_USER_RDN":       []any{"ou=users"},
		"LDAP_UID_ATTR":       "uid",
		"LDAP_EMAIL_ATTR":     "mail",
		"FEATURE_MAILING":     true, "MAIL_SERVER": mail.Host, "MAIL_PORT": portOf(t, mail.Addr),
		"MAIL_USE_TLS": true, "MAIL_USE_AUTH": true, "MAIL_USERNAME": mail.Username, "MAIL_DEFAULT_SENDER": "quay@example.org",
		"BUILDLOGS_REDIS":    map[string]any{"host": rd.Host, "port": rd.Port},
		"USER_EVENTS_REDIS":  map[string]any{"host": rd.Host, "port": rd.Port},
		"PULL_METRICS_REDIS": map[string]any{"host": rd.Host, "port": rd.Port},
		"DATA_MODEL_CACHE_CONFIG": map[string]any{"engine": "redis", "redis_config": map[string]any{
			"primary": map[string]any{"host": rd.Host, "port": rd.Port}, "replica": map[string]any{"host": rd.Host, "port": rd.Port}}},
		"FEATURE_BUILD_SUPPORT": true,
		"BUILD_MANAGER": []any{"ephemeral", map[string]any{"ALLOWED_WORKER_COUNT": 1,
			"ORCHESTRATOR": map[string]any{"REDIS_HOST": rd.Host, "REDIS_PORT": rd.Port},
			"EXECUTORS":    []any{map[string]any{"EXECUTOR": "ec2", "AWS_ACCESS_KEY_ID": "AKIA", "EC2_REGION": "us-east-1"}}}},
		"FEATURE_GITHUB_LOGIN": true,
		"GITHUB_LOGIN_CONFIG":  map[string]any{"GITHUB_ENDPOINT": echo.URL + "/", "CLIENT_ID": "client-id"},
		"DISTRIBUTED_STORAGE_CONFIG": map[string]any{
			"s3": []any{"S3Storage", map[string]any{"storage_path": "/registry", "s3_bucket": s3.Bucket,
				"s3_access_key": s3.AccessKey, "s3_region": s3.Region, "endpoint_url": s3.URL()}},
			"markers": []any{"LocalStorage", map[string]any{"storage_path": storeDir}},
		},
		"DISTRIBUTED_STORAGE_PREFERENCE":        []any{"s3", "markers"},
		"DISTRIBUTED_STORAGE_DEFAULT_LOCATIONS": []any{},
	}
	var markers []string
	put := func(path []string, v string) {
		markers = append(markers, strings.TrimPrefix(v, "postgresql://quay:"))
		cfg = setAt(cfg, path, v)
	}
	for _, p := range paths {
		m := marker(len(markers))
		if cat.Spec(p...).Secret == schema.SecretUserinfo {
			// DB_URI: the password inside the URI, at the real PostgreSQL
			m = fmt.Sprintf("postgresql://quay:%s@%s/%s", m, pg.Addr(), pg.DB)
		}
		put(p, m)
	}
	put([]string{"DISTRIBUTED_STORAGE_CONFIG", "s3", "1", "s3_secret_key"}, marker(len(markers)))
	editorPw := marker(len(markers))
	markers = append(markers, editorPw)

	b, err := bundle.FromValue(cfg.(map[string]any), bundle.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{"extra_ca_certs/test-ca.crt": testenv.CA().CAPEM, "ldap.crt": testenv.CA().CAPEM} {
		if err := b.SetFile(name, data); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	if err := b.WriteDir(dir); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(filepath.Join(dir, "config.yaml"))
	if n, _ := leaks(string(raw), markers); n < len(markers)-1 {
		t.Fatalf("config.yaml holds %d markers, want %d:\n%s", n, len(markers)-1, raw)
	}

	outputs := map[string]string{} // name -> text that must hold no marker
	// The CLI.
	for _, args := range [][]string{
		{"validate", "-c", dir}, {"validate", "-c", dir, "-o", "json"},
		{"validate", "-c", dir, "--mode", "online", "--timeout", "10s"},
		{"validate", "-c", dir, "--mode", "online", "--timeout", "10s", "-o", "json"},
		{"print", "-c", dir}, {"print", "-c", dir, "--no-defaults"},
	} {
		_, out, errOut := runCLI(t, args...)
		outputs["CLI "+strings.Join(args[3:], " ")+" "+args[0]] = out + errOut
	}
	online := outputs["CLI --mode online --timeout 10s -o json validate"]
	// The online run must have reached the servers and been refused, or
	// the count proves nothing about their answers.
	for _, want := range []string{"PostgreSQL", "WRONGPASS", "LDAP_ADMIN_PASSWD", "MAIL_PASSWORD", "SignatureDoesNotMatch", "invalid_client"} {
		if !strings.Contains(online, want) {
			t.Errorf("the online validation does not show %q (did the probe run?):\n%s", want, online)
		}
	}

	// The editor: API, pages, logs (slog, JSON), a failed login.
	base, stdout, logs := startEditor(t, "-p", editorPw, "-c", dir, "--log-format", "json")
	cl := &http.Client{Timeout: 60 * time.Second}
	do := func(method, path, ctype string, body io.Reader) string {
		t.Helper()
		req, err := http.NewRequestWithContext(context.Background(), method, base+path, body)
		if err != nil {
			t.Fatal(err)
		}
		req.SetBasicAuth("quayconfig", editorPw)
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		resp, err := cl.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		if resp.StatusCode >= 300 {
			t.Errorf("%s %s: %d %s", method, path, resp.StatusCode, data)
		}
		return fmt.Sprintf("%s %v\n%s", resp.Status, resp.Header, data)
	}
	// GET /api/v1/config is the raw bundle for automation: it must hold
	// the real values (and is the body the validate calls send back).
	rawAnswer := do(http.MethodGet, "/api/v1/config", "", nil)
	if n, _ := leaks(rawAnswer, markers); n < len(markers)-1 {
		t.Errorf("GET /api/v1/config holds %d markers, want every secret (%d)", n, len(markers)-1)
	}
	bundleJSON := rawAnswer[strings.Index(rawAnswer, "\n")+1:]
	for _, mode := range []string{"offline", "online"} {
		outputs["API validate "+mode] = do(http.MethodPost, "/api/v1/config/validate?mode="+mode, "application/json", strings.NewReader(bundleJSON))
		outputs["page validate "+mode] = do(http.MethodPost, "/validate", "application/x-www-form-urlencoded", strings.NewReader(url.Values{"mode": {mode}}.Encode()))
	}
	for _, p := range []string{"/", "/certs", "/diff", "/api/v1/openapi.json", "/metrics"} {
		outputs["GET "+p] = do(http.MethodGet, p, "", nil)
	}
	for _, g := range cat.Groups() {
		outputs["GET /group/"+g.Name] = do(http.MethodGet, "/group/"+url.PathEscape(g.Name), "", nil)
	}
	resp, err := cl.PostForm(base+"/login", url.Values{"username": {"quayconfig"}, "password": {marker(len(markers) - 2)}})
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	outputs["failed login page"] = string(data)
	time.Sleep(100 * time.Millisecond) // the request logger writes after the answer
	outputs["editor logs (slog)"] = logs.String()
	outputs["editor stdout"] = stdout.String()
	if !strings.Contains(logs.String(), `"msg"`) {
		t.Errorf("no JSON log lines captured:\n%s", logs.String())
	}

	names := make([]string, 0, len(outputs))
	for name := range outputs {
		names = append(names, name)
	}
	sort.Strings(names)
	total := 0
	for _, name := range names {
		n, found := leaks(outputs[name], markers)
		total += n
		if n > 0 {
			t.Errorf("%s shows %d secret(s): %v\n%s", name, n, found, outputs[name])
		}
	}
	t.Logf("%d secret fields, %d outputs, %d markers found", len(markers), len(outputs), total)
}

func portOf(t *testing.T, addr string) int {
	t.Helper()
	u, err := url.Parse("tcp://" + addr)
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.Atoi(u.Port())
	return n
}
