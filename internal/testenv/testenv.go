// Package testenv starts private, real servers on loopback for integration
// tests: PostgreSQL, MariaDB, Redis, S3 (versitygw), Azure Blob (Azurite),
// OpenStack Swift (in-process swifttest), LDAP (slapd), SMTP (in-process
// go-smtp), Clair v4, a Kubernetes API server (kube-apiserver + etcd), and a
// "blackhole" TCP listener. Everything listens on
// 127.0.0.1 (never another address) on free high ports, with its own data
// directory, and uses one test CA generated in Go (see [CA]).
//
// # Use
//
// In the test package:
//
//	func TestMain(m *testing.M) { testenv.Main(m) }
//
//	func TestSomething(t *testing.T) {
//		pg := testenv.Postgres(t)
//		dsn := pg.DSN(pg.DB, "verify-full")
//		...
//	}
//
// With [Main], each server is started lazily, at most once per test binary,
// shared by all tests of the package, and stopped (PID and process group)
// when the tests end; [Shutdown] does the stopping for a TestMain that cannot
// use [Main]. Without Main (or after Shutdown), each call starts a fresh
// instance that is stopped by the calling test's t.Cleanup.
//
// # Servers
//
//   - [CA] *PKI: CAPEM, ServerCertPEM, ServerKeyPEM, UntrustedCAPEM,
//     UntrustedCertPEM, UntrustedKeyPEM, the same as files (CAFile,
//     ServerCertFile, ServerKeyFile, UntrustedCAFile, UntrustedCertFile,
//     UntrustedKeyFile), CertPool(), ClientTLSConfig(), ServerTLSConfig(),
//     UntrustedServerTLSConfig(). Server cert SANs: DNS:localhost,
//     IP:127.0.0.1, IP:::1 (ECDSA P-256).
//   - [Postgres] *PG: Host, Port, User ("quay", not superuser), Password, DB
//     ("quay", with pg_trgm), DBNoTrgm ("quay_notrgm"), AdminUser
//     ("postgres"), AdminPassword; scram-sha-256, ssl=on with the test cert.
//     DSN(db, sslmode) (keyword form; verify-* adds sslrootcert), URI(db)
//     (postgresql://...), Addr(), AdminSQL(t, db, sql), CreateDB(t, name,
//     extensions...).
//   - [MariaDB] *MySQL: Host, Port, User ("quay" at 127.0.0.1 and ::1),
//     Password, DB ("quay"); TLS on. DSN(params) for go-sql-driver/mysql,
//     Addr(), Exec(t, sql) as root over the socket.
//   - [Redis] *RedisServer: Host, Port, TLSPort, Password; Addr(), TLSAddr().
//   - [S3] *S3Server (versitygw): Endpoint (host:port, https with the test
//     cert), Host, Port, AccessKey, SecretKey, Region ("us-east-1"), Bucket
//     ("quay"); URL(), Request(method, path, body, secretKey). [SignV4]
//     signs any request.
//   - [Azurite] / [AzuriteTLS] *AzureServer: Host, Port, Account
//     ("devstoreaccount1"), Key, Container ("quay"), BlobURL
//     (http(s)://127.0.0.1:PORT/devstoreaccount1), TLS;
//     Request(method, pathAndQuery, body, key) with SharedKey auth.
//   - [Swift] *SwiftServer (in-process swifttest): AuthURL (auth v1), Addr,
//     User, Key, Container ("quay"); Auth(user, key).
//   - [LDAP] *LDAPServer (slapd): URI (ldap://, StartTLS available),
//     LDAPSURI, Port, TLSPort, AdminDN, AdminPassword, BaseDN
//     ("dc=example,dc=org"), UserDN ("ou=users,..."), Users
//     ([]LDAPUser{DN, UID, Mail, Password}: alice, bob).
//   - [SMTP] *SMTPServer (in-process go-smtp): Addr (STARTTLS), TLSAddr
//     (implicit TLS), Host, Username, Password, Messages(). AUTH PLAIN is
//     offered only over TLS; MAIL needs AUTH; a bad AUTH gets 535.
//   - [Clair] *ClairServer (combo mode, airgapped, its own database in the
//     shared Postgres): URL, Addr, PSK (base64), Issuer ("quay"), Token(),
//     Get(path, auth). [SignHS256] makes other JWTs.
//   - [Blackhole](t) string: host:port that accepts and never answers.
//   - [Kube] *KubeServer (kube-apiserver + etcd, static tokens, RBAC): URL,
//     CAPEM, Version, EtcdURL; users [KubeAdmin] (system:masters),
//     [KubeEditor] and [KubeViewer] (nothing until [KubeServer.Grant]);
//     Token(user), Kubeconfig(user, ns), KubeconfigFile(t, user, ns),
//     Namespace(t) (a fresh one per test), Grant(t, ns, user, rules),
//     Do(user, method, path, body). [KubePrivate] starts an unshared one;
//     [Kubectl] is the path of the matching kubectl.
//     Package kubetest adds client-go configs and the QuayRegistry CRD.
//
// Every server struct with a process also has Dir, its data directory.
//
// # Missing tools
//
// Binaries come from Debian packages and from the cache that
// hack/testservers/install.sh fills
// (${CONFIG_EDITOR_TESTCACHE:-$HOME/.cache/config-editor-testservers}). When
// one is missing the test is skipped with a message saying to run
// hack/testservers/install.sh, except when CI=true, where it fails. A server
// that is installed but does not start always fails the test, with the tail
// of its log.
package testenv

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// InstallHint is what a skipped test tells the developer to run.
const InstallHint = "hack/testservers/install.sh"

// ReadyTimeout bounds every readiness wait.
var ReadyTimeout = 60 * time.Second

var (
	mu         sync.Mutex
	mainActive bool
	rootDir    string
	stoppers   []*stopper
	usedPorts  = map[int]bool{}
)

type stopper struct {
	name string
	fn   func()
	once sync.Once
}

func (s *stopper) stop() { s.once.Do(s.fn) }

// Main runs the tests and then stops every server started by this package.
// Use it as the whole body of TestMain.
func Main(m *testing.M) {
	mu.Lock()
	mainActive = true
	mu.Unlock()
	code := m.Run()
	Shutdown()
	os.Exit(code)
}

// Shutdown stops every shared server (last started first, so Clair stops
// before its Postgres) and removes their data. Safe to call more than once;
// after it, calls start per-test instances.
func Shutdown() {
	mu.Lock()
	mainActive = false
	list := stoppers
	stoppers = nil
	dir := rootDir
	rootDir = ""
	mu.Unlock()
	for i := len(list) - 1; i >= 0; i-- {
		list[i].stop()
	}
	resetShared()
	resetPKI()
	if dir != "" {
		_ = os.RemoveAll(dir)
	}
}

// shared is a lazily started server instance of type T.
type shared[T any] struct {
	mu  sync.Mutex
	val *T
	err error
}

var resetters []func()

func resetShared() {
	mu.Lock()
	rs := resetters
	mu.Unlock()
	for _, r := range rs {
		r()
	}
}

func newShared[T any]() *shared[T] {
	s := &shared[T]{}
	mu.Lock()
	resetters = append(resetters, func() {
		s.mu.Lock()
		s.val, s.err = nil, nil
		s.mu.Unlock()
	})
	mu.Unlock()
	return s
}

// env is handed to a start function: it collects stop functions.
type env struct {
	dir   string
	stops []*stopper
}

func (e *env) onStop(name string, fn func()) {
	e.stops = append(e.stops, &stopper{name: name, fn: fn})
}

func (e *env) stopAll() {
	for i := len(e.stops) - 1; i >= 0; i-- {
		e.stops[i].stop()
	}
}

// get returns the shared instance, starting it with start if needed. A
// missing tool skips (or fails in CI); any other start error fails.
func (s *shared[T]) get(t testing.TB, name string, start func(e *env) (*T, error)) *T {
	t.Helper()
	mu.Lock()
	sharedMode := mainActive
	mu.Unlock()
	if !sharedMode {
		v, e, err := startRetrying(name, start)
		if err != nil {
			fail(t, name, err)
		}
		t.Cleanup(func() {
			e.stopAll()
			_ = os.RemoveAll(e.dir)
		})
		return v
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.val == nil && s.err == nil {
		v, e, err := startRetrying(name, start)
		if err != nil {
			s.err = err
		} else {
			s.val = v
			mu.Lock()
			stoppers = append(stoppers, e.stops...)
			stoppers = append(stoppers, &stopper{name: name + " dir", fn: func() { _ = os.RemoveAll(e.dir) }})
			mu.Unlock()
		}
	}
	if s.err != nil {
		fail(t, name, s.err)
	}
	return s.val
}

// startRetrying runs start in a fresh data dir, retrying (up to 3 times,
// new ports) when a port picked as free was taken meanwhile by another
// process. On error everything is stopped and removed.
func startRetrying[T any](name string, start func(e *env) (*T, error)) (*T, *env, error) {
	var err error
	for i := 0; i < 3; i++ {
		e := &env{dir: newDir(name)}
		var v *T
		v, err = start(e)
		if err == nil {
			return v, e, nil
		}
		e.stopAll()
		_ = os.RemoveAll(e.dir)
		msg := strings.ToLower(err.Error())
		if !strings.Contains(msg, "address already in use") && !strings.Contains(msg, "eaddrinuse") {
			break
		}
	}
	return nil, nil, err
}

// missingError marks a tool that is not installed.
type missingError struct{ what string }

func (m *missingError) Error() string {
	return fmt.Sprintf("%s is not installed; run %s", m.what, InstallHint)
}

func fail(t testing.TB, name string, err error) {
	t.Helper()
	var me *missingError
	if errors.As(err, &me) && os.Getenv("CI") != "true" {
		t.Skipf("testenv: %s: %v", name, err)
	}
	t.Fatalf("testenv: %s: %v", name, err)
}

// newDir makes a data directory for one server under a process-wide root.
// Directories are world-traversable (0755) because postgres and mariadbd run
// as their own users when we are root.
func newDir(name string) string {
	mu.Lock()
	if rootDir == "" {
		sweepStale()
		d, err := os.MkdirTemp("", "config-editor-testenv-")
		if err != nil {
			mu.Unlock()
			panic(err)
		}
		_ = os.WriteFile(filepath.Join(d, "owner.pid"), []byte(strconv.Itoa(os.Getpid())), 0o644)
		rootDir = d
	}
	base := rootDir
	mu.Unlock()
	_ = os.Chmod(base, 0o755)
	d, err := os.MkdirTemp(base, name+"-")
	if err != nil {
		panic(err)
	}
	_ = os.Chmod(d, 0o755)
	return d
}

// sweepStale removes data dirs left by test binaries that were killed
// (their servers died with them through Pdeathsig).
func sweepStale() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), "config-editor-testenv-*"))
	for _, d := range dirs {
		b, err := os.ReadFile(filepath.Join(d, "owner.pid"))
		if err != nil {
			if st, err := os.Stat(d); err == nil && time.Since(st.ModTime()) > 24*time.Hour {
				_ = os.RemoveAll(d)
			}
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || pid == os.Getpid() {
			continue
		}
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			_ = os.RemoveAll(d)
		}
	}
}

// CacheDir is where install.sh puts built servers.
func CacheDir() string {
	if d := os.Getenv("CONFIG_EDITOR_TESTCACHE"); d != "" {
		return d
	}
	home, err := os.UserHomeDir()
	if err != nil {
		home = os.TempDir()
	}
	return filepath.Join(home, ".cache", "config-editor-testservers")
}

// findBin looks a program up on PATH and in the given extra paths.
func findBin(name string, extra ...string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	if p, ok := globBin(extra...); ok {
		return p, nil
	}
	return "", &missingError{what: name}
}

// globBin returns the first executable matching the globs (highest name
// first within a glob).
func globBin(globs ...string) (string, bool) {
	for _, g := range globs {
		matches, _ := filepath.Glob(g)
		sort.Sort(sort.Reverse(sort.StringSlice(matches)))
		for _, m := range matches {
			if st, err := os.Stat(m); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
				return m, true
			}
		}
	}
	return "", false
}

func randHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

// freePort returns a free TCP port on 127.0.0.1 not handed out before in this
// process.
func freePort() (int, error) {
	for i := 0; i < 50; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		p := l.Addr().(*net.TCPAddr).Port
		_ = l.Close()
		mu.Lock()
		dup := usedPorts[p]
		usedPorts[p] = true
		mu.Unlock()
		if !dup {
			return p, nil
		}
	}
	return 0, errors.New("no free port")
}

func freePorts(n int) ([]int, error) {
	ps := make([]int, n)
	for i := range ps {
		p, err := freePort()
		if err != nil {
			return nil, err
		}
		ps[i] = p
	}
	return ps, nil
}

// runAs is the OS user a server runs as when we are root ("" = ourselves).
func credentialFor(username string) (*syscall.Credential, error) {
	if username == "" || os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup(username)
	if err != nil {
		return nil, fmt.Errorf("user %q: %w", username, err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// chownTree gives dir (recursively) to username when we are root.
func chownTree(dir, username string) error {
	cred, err := credentialFor(username)
	if err != nil || cred == nil {
		return err
	}
	return filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, int(cred.Uid), int(cred.Gid))
	})
}

// command runs a short helper command to completion (as username when root
// and username != "") and returns its combined output in the error.
func command(timeout time.Duration, username string, env []string, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cred, err := credentialFor(username)
	if err != nil {
		return "", err
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: cred}
	cmd.Env = append(os.Environ(), env...)
	cmd.Dir = "/"
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	err = cmd.Run()
	if err != nil {
		return out.String(), fmt.Errorf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out.String())
	}
	return out.String(), nil
}

// proc is a server process started in its own process group.
type proc struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	done    chan struct{}
	waitErr error
}

// startProc starts a long-running server whose stdout and stderr go to
// logPath. It is stopped with stopSig (then SIGKILL to its group after a
// grace period) by e's stop functions.
func startProc(e *env, name, username, logPath string, stopSig syscall.Signal, env []string, bin string, args ...string) (*proc, error) {
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	cred, err := credentialFor(username)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: cred, Pdeathsig: syscall.SIGKILL}
	cmd.Env = append(os.Environ(), env...)
	cmd.Dir = e.dir
	cmd.Stdout = logf
	cmd.Stderr = logf
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	p := &proc{name: name, cmd: cmd, logPath: logPath, done: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.done)
	}()
	e.onStop(name, func() { p.stop(stopSig, 15*time.Second) })
	return p, nil
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

func (p *proc) stop(sig syscall.Signal, grace time.Duration) {
	pid := p.cmd.Process.Pid
	if !p.exited() {
		_ = syscall.Kill(pid, sig)
		select {
		case <-p.done:
		case <-time.After(grace):
			_ = syscall.Kill(-pid, syscall.SIGKILL)
			<-p.done
		}
	}
	// Leftover children (postgres backends, node workers): kill the group.
	_ = syscall.Kill(-pid, syscall.SIGKILL)
}

// tail returns the end of a log file for failure messages.
func tail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(no log %s: %v)", path, err)
	}
	const max = 4000
	if len(b) > max {
		b = b[len(b)-max:]
	}
	return fmt.Sprintf("--- %s ---\n%s\n---", path, b)
}

// waitFor polls check until it returns nil, the process exits, or
// ReadyTimeout passes. The error carries the log tail.
func waitFor(p *proc, what string, check func() error) error {
	deadline := time.Now().Add(ReadyTimeout)
	var last error
	for {
		if p != nil && p.exited() {
			return fmt.Errorf("%s exited before ready (%v)\n%s", p.name, p.waitErr, tail(p.logPath))
		}
		if last = check(); last == nil {
			if p == nil {
				return nil
			}
			// A port check may have reached another process that holds the
			// port while ours fails to bind and exits: make sure ours lives.
			time.Sleep(50 * time.Millisecond)
			if !p.exited() {
				return nil
			}
			continue
		}
		if time.Now().After(deadline) {
			msg := fmt.Sprintf("%s not ready after %s: %v", what, ReadyTimeout, last)
			if p != nil {
				msg += "\n" + tail(p.logPath)
			}
			return errors.New(msg)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// dialCheck succeeds once addr accepts TCP connections.
func dialCheck(addr string) func() error {
	return func() error {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			return err
		}
		return c.Close()
	}
}

func hostPort(port int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) }

func writeFile(path string, data []byte, perm os.FileMode) error {
	if err := os.WriteFile(path, data, perm); err != nil {
		return err
	}
	return os.Chmod(path, perm)
}
