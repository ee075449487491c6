package validators

import (
	"context"
	"io"
	"net"
	"net/url"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/quay-tools/config-editor/internal/bundle"
	"github.com/quay-tools/config-editor/internal/problem"
	"github.com/quay-tools/config-editor/internal/testenv"
)

// hole is a loopback listener that accepts and never answers, and counts
// connections: accepted in total, open now, and the most open at once
// across all holes sharing a gauge. It reads (and discards) only to notice
// when the client closes.
type hole struct {
	addr     string
	port     int
	accepted atomic.Int64
	open     atomic.Int64
}

type gauge struct {
	mu        sync.Mutex
	cur, peak int
}

func (g *gauge) add(d int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.cur += d
	g.peak = max(g.peak, g.cur)
}

func newHole(t testing.TB, g *gauge) *hole {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := &hole{addr: l.Addr().String(), port: l.Addr().(*net.TCPAddr).Port}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			h.accepted.Add(1)
			h.open.Add(1)
			g.add(1)
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, _ = io.Copy(io.Discard, c) // until the client closes
				h.open.Add(-1)
				g.add(-1)
				_ = c.Close()
			}()
		}
	}()
	t.Cleanup(func() {
		_ = l.Close()
		mu.Lock()
		for _, c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return h
}

// blackholeServices are the groups the blackhole bundle points at holes.
var blackholeServices = []string{"Database", "Redis", "DistributedStorage", "LDAP", "Email", "SecurityScanner"}

// blackholeConfig points DB, two Redis, S3 storage, LDAP, SMTP and Clair
// at holes[0..6].
func blackholeConfig(holes []*hole) map[string]any {
	h := func(i int) string { return holes[i].addr }
	return map[string]any{
		"DB_URI":            (&url.URL{Scheme: "postgresql", User: url.UserPassword("quay", "pw-hole"), Host: h(0), Path: "/quay"}).String(),
		"BUILDLOGS_REDIS":   map[string]any{"host": "127.0.0.1", "port": holes[1].port, "password": "pw-hole"},
		"USER_EVENTS_REDIS": map[string]any{"host": "127.0.0.1", "port": holes[2].port, "password": "pw-hole"},
		"DISTRIBUTED_STORAGE_CONFIG": map[string]any{"default": []any{"S3Storage", map[string]any{
			"storage_path": "/registry", "s3_bucket": "quay", "s3_access_key": "AKHOLE", "s3_secret_key": "secret-hole",
			"s3_region": "us-east-1", "endpoint_url": "http://" + h(3)}}},
		"DISTRIBUTED_STORAGE_PREFERENCE": []any{"default"},
		"AUTHENTICATION_TYPE":            "LDAP",
		"LDAP_URI":                       "ldap://" + h(4),
		"LDAP_ADMIN_DN":                  "cn=admin,dc=example,dc=org",
		"LDAP_ADMIN_PASSWD":              "pw-hole",
		"LDAP_BASE_DN":                   []any{"dc=example", "dc=org"},
		"LDAP_USER_RDN":                  []any{"ou=users"},
		"FEATURE_MAILING":                true,
		"MAIL_SERVER":                    "127.0.0.1",
		"MAIL_PORT":                      holes[5].port,
		"MAIL_USE_TLS":                   true,
		"MAIL_USE_AUTH":                  true,
		"MAIL_USERNAME":                  "quay",
		"MAIL_PASSWORD":                  "pw-hole",
		"FEATURE_SECURITY_SCANNER":       true,
		"SECURITY_SCANNER_V4_ENDPOINT":   "http://" + h(6),
		"SECURITY_SCANNER_V4_PSK":        "c2VjcmV0LWhvbGUtMDEyMzQ1Njc4OWFiY2RlZg==",
	}
}

func newHoles(t testing.TB, g *gauge) []*hole {
	holes := make([]*hole, 7)
	for i := range holes {
		holes[i] = newHole(t, g)
	}
	return holes
}

// runBounded validates under a generous context and fails if that context
// expired: Validate must return on its own, well before.
func runBounded(t testing.TB, b *bundle.Bundle, opts Options) []problem.Problem {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ps := Validate(ctx, b, opts)
	if ctx.Err() != nil {
		t.Fatalf("Validate did not return within the 30s safety context")
	}
	return ps
}

func TestBlackhole(t *testing.T) {
	var g gauge
	holes := newHoles(t, &g)
	b := onlineBundle(t, blackholeConfig(holes), nil)
	opts := Options{Mode: Online, Timeout: time.Second, Groups: blackholeServices}

	// warm up once so lazily started runtime goroutines are in the baseline
	runBounded(t, b, opts)
	waitClosed(t, holes)
	baseline := runtime.NumGoroutine()

	ps := runBounded(t, b, opts)
	// one service per group, except Redis: BUILDLOGS_REDIS and USER_EVENTS_REDIS
	for _, group := range blackholeServices {
		var errs []problem.Problem
		for _, p := range ps {
			if p.FieldGroup == group && p.Severity == problem.Error {
				errs = append(errs, p)
			}
		}
		want := 1
		if group == "Redis" {
			want = 2
		}
		if len(errs) != want {
			t.Errorf("%s: want exactly %d error(s), got %d:\n%s", group, want, len(errs), dump(ps))
			continue
		}
		paths := map[string]bool{}
		for _, p := range errs {
			paths[p.Path.String()] = true
			if !strings.Contains(p.Message, "timed out") && !strings.Contains(p.Message, "no answer within") {
				t.Errorf("%s: not a clear timeout: %s", group, p.Message)
			}
		}
		if len(paths) != want {
			t.Errorf("%s: several problems for one service:\n%s", group, dump(errs))
		}
	}
	wantNoSecret(t, ps, "pw-hole", "secret-hole")
	for i, h := range holes {
		if h.accepted.Load() == 0 {
			t.Errorf("hole %d was never dialled", i)
		}
	}

	// no connection and no goroutine outlives the call
	waitClosed(t, holes)
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > baseline && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > baseline {
		buf := make([]byte, 1<<20)
		t.Fatalf("goroutines: %d after Validate, baseline %d:\n%s", n, baseline, buf[:runtime.Stack(buf, true)])
	}
}

// waitClosed polls until every connection to the holes is closed by the
// client side.
func waitClosed(t testing.TB, holes []*hole) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		open := 0
		for _, h := range holes {
			open += int(h.open.Load())
		}
		if open == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d connections to the blackholes still open after Validate returned", open)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestConcurrencyBound(t *testing.T) {
	t.Run("all probes in flight at once by default", func(t *testing.T) {
		var g gauge
		holes := newHoles(t, &g)
		runBounded(t, onlineBundle(t, blackholeConfig(holes), nil), Options{Mode: Online, Timeout: 3 * time.Second, Groups: blackholeServices})
		if g.peakNow() < len(holes) {
			t.Fatalf("peak %d connections at once, want all %d probes concurrent", g.peakNow(), len(holes))
		}
		waitClosed(t, holes)
	})
	t.Run("Concurrency 1", func(t *testing.T) {
		var g gauge
		holes := newHoles(t, &g)
		runBounded(t, onlineBundle(t, blackholeConfig(holes), nil), Options{Mode: Online, Timeout: 200 * time.Millisecond, Concurrency: 1, Groups: blackholeServices})
		// the holes notice a close a moment after the client closes, so
		// the next probe's connection may overlap the last one's: at most 2
		if p := g.peakNow(); p > 2 || p == 0 {
			t.Fatalf("peak %d connections at once with Concurrency 1", p)
		}
		waitClosed(t, holes)
	})
	t.Run("caller's context cancels probes", func(t *testing.T) {
		var g gauge
		holes := newHoles(t, &g)
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			for g.peakNow() < len(holes) {
				time.Sleep(5 * time.Millisecond)
			}
			cancel()
		}()
		done := make(chan []problem.Problem)
		go func() {
			done <- Validate(ctx, onlineBundle(t, blackholeConfig(holes), nil), Options{Mode: Online, Timeout: time.Minute, Groups: blackholeServices})
		}()
		select {
		case ps := <-done:
			for _, group := range blackholeServices {
				if !hasError(ps, group) {
					t.Errorf("%s: no problem after cancellation:\n%s", group, dump(ps))
				}
			}
		case <-time.After(30 * time.Second):
			t.Fatal("Validate ignored the caller's cancellation")
		}
		cancel()
		waitClosed(t, holes)
	})
}

func (g *gauge) peakNow() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.peak
}

func hasError(ps []problem.Problem, group string) bool {
	for _, p := range ps {
		if p.FieldGroup == group && p.Severity == problem.Error {
			return true
		}
	}
	return false
}

func BenchmarkOnlineBlackhole(b *testing.B) {
	var g gauge
	holes := newHoles(b, &g)
	bun := onlineBundle(b, blackholeConfig(holes), nil)
	opts := Options{Mode: Online, Timeout: time.Second, Groups: blackholeServices}
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		runBounded(b, bun, opts)
	}
	b.ReportMetric(time.Since(start).Seconds()/float64(b.N), "wall-s/op")
	b.ReportMetric(time.Since(start).Seconds()/float64(b.N)/opts.Timeout.Seconds(), "x-deadline")
}

// healthyConfig points every service at the local test servers.
func healthyConfig(tb testing.TB) (map[string]any, map[string][]byte) {
	pg, rs, ls, sm, cl, s3 := testenv.Postgres(tb), testenv.Redis(tb), testenv.LDAP(tb), testenv.SMTP(tb), testenv.Clair(tb), testenv.S3(tb)
	_, smPort, _ := net.SplitHostPort(sm.Addr)
	mailPort, _ := strconv.Atoi(smPort)
	cfg := map[string]any{
		"DB_URI":             pg.URI(pg.DB),
		"DB_CONNECTION_ARGS": map[string]any{"sslmode": "verify-full", "sslrootcert": "conf/stack/database.pem"},
		"BUILDLOGS_REDIS":    map[string]any{"host": rs.Host, "port": rs.Port, "password": rs.Password},
		"USER_EVENTS_REDIS":  map[string]any{"host": rs.Host, "port": rs.TLSPort, "password": rs.Password, "ssl": true},
		"DISTRIBUTED_STORAGE_CONFIG": map[string]any{"default": []any{"S3Storage", map[string]any{
			"storage_path": "/bench", "s3_bucket": s3.Bucket, "s3_access_key": s3.AccessKey, "s3_secret_key": s3.SecretKey,
			"s3_region": s3.Region, "endpoint_url": s3.URL()}}},
		"DISTRIBUTED_STORAGE_PREFERENCE": []any{"default"},
		"AUTHENTICATION_TYPE":            "LDAP",
		"LDAP_URI":                       ls.LDAPSURI,
		"LDAP_ADMIN_DN":                  ls.AdminDN,
		"LDAP_ADMIN_PASSWD":              ls.AdminPassword,
		"LDAP_BASE_DN":                   anyList(strings.Split(ls.BaseDN, ",")),
		"LDAP_USER_RDN":                  []any{"ou=users"},
		"FEATURE_MAILING":                true,
		"MAIL_SERVER":                    sm.Host,
		"MAIL_PORT":                      mailPort,
		"MAIL_USE_TLS":                   true,
		"MAIL_USE_AUTH":                  true,
		"MAIL_USERNAME":                  sm.Username,
		"MAIL_PASSWORD":                  sm.Password,
		"FEATURE_SECURITY_SCANNER":       true,
		"SECURITY_SCANNER_V4_ENDPOINT":   cl.URL,
		"SECURITY_SCANNER_V4_PSK":        cl.PSK,
	}
	ca := testenv.CA().CAPEM
	return cfg, map[string][]byte{"database.pem": ca, "ldap.crt": ca, "extra_ca_certs/test-ca.crt": ca}
}

func TestOnlineHealthy(t *testing.T) {
	cfg, files := healthyConfig(t)
	ps := runBounded(t, onlineBundle(t, cfg, files), Options{Mode: Online, Timeout: 15 * time.Second, Groups: blackholeServices})
	for _, group := range blackholeServices {
		wantNoErrors(t, ps, group)
	}
}

func BenchmarkOnlineHealthyEveryService(b *testing.B) {
	cfg, files := healthyConfig(b)
	bun := onlineBundle(b, cfg, files)
	opts := Options{Mode: Online, Timeout: 15 * time.Second, Groups: blackholeServices}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ps := runBounded(b, bun, opts)
		if problem.HasErrors(ps) {
			b.Fatalf("healthy bundle has errors:\n%s", dump(ps))
		}
	}
}

// The probes not in the main blackhole bundle: MySQL (with TLS asked),
// the build manager's Redis, the model cache's Redis, ldaps and implicit
// TLS SMTP also give up at the deadline with one timeout each.
func TestBlackholeOtherProbes(t *testing.T) {
	var g gauge
	holes := newHoles(t, &g)
	cfg := map[string]any{
		"DB_URI":             "mysql+pymysql://quay:pw-hole@" + holes[0].addr + "/quay",
		"DB_CONNECTION_ARGS": map[string]any{"ssl": map[string]any{"ca": "conf/stack/database.pem"}},
		"BUILD_MANAGER": []any{"ephemeral", map[string]any{"ORCHESTRATOR": map[string]any{
			"REDIS_HOST": "127.0.0.1", "REDIS_PORT": holes[1].port, "REDIS_SSL": true}}},
		"DATA_MODEL_CACHE_CONFIG": map[string]any{"engine": "redis", "redis_config": map[string]any{
			"primary": map[string]any{"host": "127.0.0.1", "port": holes[2].port}}},
		"AUTHENTICATION_TYPE": "LDAP", "LDAP_URI": "ldaps://" + holes[3].addr,
		"LDAP_ADMIN_DN": "cn=admin,dc=example,dc=org", "LDAP_ADMIN_PASSWD": "pw-hole", "LDAP_BASE_DN": []any{"dc=example"},
		"FEATURE_MAILING": true, "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": holes[4].port, "MAIL_USE_SSL": true,
	}
	groups := []string{"Database", "BuildManager", "ModelCache", "LDAP", "Email"}
	ps := runBounded(t, onlineBundle(t, cfg, map[string][]byte{"database.pem": testenv.CA().CAPEM}), Options{Mode: Online, Timeout: 500 * time.Millisecond, Groups: groups})
	for _, group := range groups {
		n := 0
		for _, p := range ps {
			if p.FieldGroup == group && p.Severity == problem.Error && (strings.Contains(p.Message, "timed out") || strings.Contains(p.Message, "no answer within")) {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%s: want one timeout error, got %d:\n%s", group, n, dump(ps))
		}
	}
	for i, h := range holes[:5] {
		if h.accepted.Load() == 0 {
			t.Errorf("hole %d was never dialled", i)
		}
	}
	wantNoSecret(t, ps, "pw-hole")
	waitClosed(t, holes)
}

// OnGroup hands every group over once, with the same problems the result
// holds; passed records come through OnPassed, never as problems; nothing
// is called after Validate returns. The probes run while the offline rules
// do, so this holds whichever finishes first.
func TestOnGroupOncePerGroup(t *testing.T) {
	pg, rs := testenv.Postgres(t), testenv.Redis(t)
	cfg := map[string]any{
		"DB_URI":            pg.URI(pg.DB),
		"BUILDLOGS_REDIS":   map[string]any{"host": rs.Host, "port": rs.Port, "password": rs.Password},
		"USER_EVENTS_REDIS": map[string]any{"host": rs.Host, "port": rs.Port, "password": "wrong-one"},
		"SERVER_HOSTNAME":   "quay", // an offline error
	}
	var (
		mu       sync.Mutex
		returned bool
		emitted  = map[string][]problem.Problem{}
		passed   []problem.Problem
	)
	opts := Options{Mode: Online, Timeout: 15 * time.Second,
		OnGroup: func(g string, ps []problem.Problem) {
			mu.Lock()
			defer mu.Unlock()
			if returned {
				t.Errorf("OnGroup(%s) after Validate returned", g)
			}
			if _, again := emitted[g]; again {
				t.Errorf("group %s handed over twice", g)
			}
			emitted[g] = ps
		},
		OnPassed: func(p problem.Problem) {
			mu.Lock()
			defer mu.Unlock()
			passed = append(passed, p)
		}}
	ps := runBounded(t, onlineBundle(t, cfg, nil), opts)
	mu.Lock()
	returned = true
	defer mu.Unlock()
	var fromGroups []string
	for g, gps := range emitted {
		for _, p := range gps {
			if p.FieldGroup != g {
				t.Errorf("group %s handed over a problem of %s", g, p.FieldGroup)
			}
			fromGroups = append(fromGroups, p.String())
		}
	}
	var fromResult []string
	for _, p := range ps {
		fromResult = append(fromResult, p.String())
		if _, ok := emitted[p.FieldGroup]; !ok {
			t.Errorf("group %s was never handed over", p.FieldGroup)
		}
	}
	sort.Strings(fromGroups)
	sort.Strings(fromResult)
	if strings.Join(fromGroups, "\n") != strings.Join(fromResult, "\n") {
		t.Errorf("OnGroup problems differ from the result:\n%s\n--- result:\n%s", strings.Join(fromGroups, "\n"), strings.Join(fromResult, "\n"))
	}
	for _, g := range []string{"Database", "Redis", "HostSettings", "Quota"} {
		if _, ok := emitted[g]; !ok {
			t.Errorf("group %s was never handed over", g)
		}
	}
	wantProblem(t, ps, "Redis", "USER_EVENTS_REDIS.password", problem.Error, "WRONGPASS")
	wantProblem(t, ps, "HostSettings", "SERVER_HOSTNAME", problem.Error, "fully qualified")
	if len(passed) < 2 {
		t.Errorf("want the PostgreSQL and BUILDLOGS_REDIS passed records, got %v", passed)
	}
}
