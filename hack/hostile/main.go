// Command hostile replays hostile inputs against a config-editor on
// loopback and prints what the editor did: the status codes it answered,
// its peak resident memory (VmHWM and sampled VmRSS from /proc), its open
// file descriptors and its goroutines (from /metrics) during and after
// each attack. It asserts nothing: it reports.
//
//	go run ./hack/hostile -bin bin/config-editor             # starts the editor on a free 127.0.0.1 port
//	go run ./hack/hostile -addr http://127.0.0.1:8080 -password PW [-pid PID]
//	go run ./hack/hostile -bin bin/config-editor -only login-bomb,login-race
//
// Every packet stays on loopback: the target must be a loopback address,
// attacks that send wrong passwords come from other 127.0.0.x source
// addresses (so the lockout they earn does not hide the figures of the
// others), and "unreachable" services are a listener in this process that
// accepts and never answers. Every loop is bounded in count and time.
package main

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/quay-tools/config-editor/internal/benchenv"
)

const user = "quayconfig"

func main() {
	addr := flag.String("addr", "", "base URL of a running editor on loopback (http://127.0.0.1:PORT); empty starts -bin")
	bin := flag.String("bin", "bin/config-editor", "editor binary to start when -addr is empty")
	password := flag.String("password", os.Getenv("CONFIG_EDITOR_PASSWORD"), "password of quayconfig (with -addr)")
	pid := flag.Int("pid", 0, "process id of the editor (with -addr; found from the listening socket when 0)")
	only := flag.String("only", "", "comma-separated phases to run (default all): "+strings.Join(phaseNames(), ","))
	flag.Parse()

	// Start the editor from the main thread, which lives as long as this
	// process: Pdeathsig follows the thread that forked.
	runtime.LockOSThread()
	h := &hostile{pw: *password}
	stop := func() {}
	if *addr == "" {
		var err error
		stop, err = h.start(*bin)
		if err != nil {
			fmt.Fprintln(os.Stderr, "hostile:", err)
			os.Exit(1)
		}
	} else {
		if err := h.target(*addr, *pid); err != nil {
			fmt.Fprintln(os.Stderr, "hostile:", err)
			os.Exit(2)
		}
	}
	want := map[string]bool{}
	for _, n := range strings.Split(*only, ",") {
		if n = strings.TrimSpace(n); n != "" {
			want[n] = true
		}
	}
	code := h.run(want)
	stop()
	os.Exit(code)
}

// hostile is one run against one editor.
type hostile struct {
	mu      sync.Mutex
	clients []*http.Client // closed after each phase so idle keep-alives do not count as the editor's fds

	base, host, port string
	pw               string
	pid              int
	cookie           *http.Cookie
	csrf             string
	rev              string
}

// start launches the editor binary on a free loopback port with a random
// password and waits for /healthz.
func (h *hostile) start(bin string) (stop func(), err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	a := ln.Addr().String()
	ln.Close()
	var b [12]byte
	_, _ = rand.Read(b[:])
	h.pw = "hostile-" + hex.EncodeToString(b[:])
	cmd := exec.Command(bin, "editor", "--addr", a, "--log-level", "error")
	cmd.Env = append(os.Environ(), "CONFIG_EDITOR_PASSWORD="+h.pw)
	// The editor's output goes to a buffer (shown if it dies), not to our
	// stdout/stderr: a pipe held open by the editor would outlive us. It
	// gets SIGTERM if this process dies first.
	out := &tailBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	stop = func() {
		select {
		case <-exited:
			fmt.Printf("the editor had exited by itself; its last output:\n%s\n", out)
			return
		default:
		}
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	}
	if err := h.target("http://"+a, cmd.Process.Pid); err != nil {
		stop()
		return nil, err
	}
	deadline := time.Now().Add(15 * time.Second)
	cl := &http.Client{Timeout: time.Second}
	for {
		resp, err := cl.Get(h.base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		select {
		case <-exited:
			return nil, fmt.Errorf("the editor exited before answering /healthz:\n%s", out)
		default:
		}
		if time.Now().After(deadline) {
			stop()
			return nil, errors.New("the editor did not answer /healthz in 15 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	fmt.Printf("started %s on %s (pid %d)\n", bin, h.base, h.pid)
	return stop, nil
}

// tailBuffer keeps the last 16 KiB written to it.
type tailBuffer struct {
	mu sync.Mutex
	b  []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > 16<<10 {
		t.b = append(t.b[:0], t.b[len(t.b)-16<<10:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string { t.mu.Lock(); defer t.mu.Unlock(); return string(t.b) }

// target checks that the base URL is loopback and finds the process.
func (h *hostile) target(base string, pid int) error {
	u, err := url.Parse(base)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return fmt.Errorf("-addr %q: want http://127.0.0.1:PORT", base)
	}
	host, port, err := net.SplitHostPort(u.Host)
	if err != nil {
		return fmt.Errorf("-addr %q: want a port: %v", base, err)
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("-addr %q: only loopback addresses (127.0.0.0/8, ::1) are allowed", base)
	}
	if h.pw == "" {
		return errors.New("no password: give -password or set CONFIG_EDITOR_PASSWORD")
	}
	h.base, h.host, h.port = "http://"+net.JoinHostPort(host, port), host, port
	if pid == 0 {
		pid = pidListening(port)
	}
	h.pid = pid
	return nil
}

// pidListening finds the process that listens on the TCP port (through
// the socket inode in /proc/net/tcp{,6}); 0 when it cannot tell.
func pidListening(port string) int {
	p, err := strconv.Atoi(port)
	if err != nil {
		return 0
	}
	hexPort := fmt.Sprintf(":%04X", p)
	inodes := map[string]bool{}
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(data), "\n")[1:] {
			fs := strings.Fields(line)
			if len(fs) > 9 && strings.HasSuffix(fs[1], hexPort) && fs[3] == "0A" {
				inodes["socket:["+fs[9]+"]"] = true
			}
		}
	}
	procs, _ := os.ReadDir("/proc")
	for _, pe := range procs {
		n, err := strconv.Atoi(pe.Name())
		if err != nil {
			continue
		}
		fds, _ := os.ReadDir("/proc/" + pe.Name() + "/fd")
		for _, fd := range fds {
			if l, err := os.Readlink("/proc/" + pe.Name() + "/fd/" + fd.Name()); err == nil && inodes[l] {
				return n
			}
		}
	}
	return 0
}

// ---- sampling ----

type figures struct {
	rssKiB, hwmKiB, fds int // from /proc (0 when the pid is unknown)
	goroutines, mFDs    int // from /metrics (-1 when unavailable)
	mRSS                int64
}

// sampler records the peaks of the editor's figures while a phase runs.
type sampler struct {
	h    *hostile
	mu   sync.Mutex
	peak figures
	stop chan struct{}
	done chan struct{}
}

func (h *hostile) procFigures() figures {
	f := figures{goroutines: -1, mFDs: -1}
	if h.pid == 0 {
		return f
	}
	data, err := os.ReadFile("/proc/" + strconv.Itoa(h.pid) + "/status")
	if err != nil {
		return f
	}
	for _, line := range strings.Split(string(data), "\n") {
		fs := strings.Fields(line)
		if len(fs) < 2 {
			continue
		}
		switch fs[0] {
		case "VmRSS:":
			f.rssKiB, _ = strconv.Atoi(fs[1])
		case "VmHWM:":
			f.hwmKiB, _ = strconv.Atoi(fs[1])
		}
	}
	if ents, err := os.ReadDir("/proc/" + strconv.Itoa(h.pid) + "/fd"); err == nil {
		f.fds = len(ents)
	}
	return f
}

var metricsClient = &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 1}}

// metricsFigures scrapes /metrics (basic auth from 127.0.0.1).
func (h *hostile) metricsFigures(f *figures) {
	req, _ := http.NewRequest(http.MethodGet, h.base+"/metrics", nil)
	req.SetBasicAuth(user, h.pw)
	resp, err := metricsClient.Do(req)
	if err != nil {
		return
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return
	}
	sc := bufio.NewScanner(io.LimitReader(resp.Body, 4<<20))
	sc.Buffer(make([]byte, 64<<10), 64<<10)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) != 2 {
			continue
		}
		v, err := strconv.ParseFloat(fs[1], 64)
		if err != nil {
			continue
		}
		switch fs[0] {
		case "go_goroutines":
			f.goroutines = int(v)
		case "process_open_fds":
			f.mFDs = int(v)
		case "process_resident_memory_bytes":
			f.mRSS = int64(v)
		}
	}
}

func (h *hostile) now() figures {
	f := h.procFigures()
	h.metricsFigures(&f)
	return f
}

func (h *hostile) sample() *sampler {
	s := &sampler{h: h, stop: make(chan struct{}), done: make(chan struct{}), peak: figures{goroutines: -1, mFDs: -1}}
	go func() {
		defer close(s.done)
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		n := 0
		for {
			f := h.procFigures()
			if n%5 == 0 { // /metrics every 250 ms
				h.metricsFigures(&f)
			}
			n++
			s.mu.Lock()
			s.peak.rssKiB = max(s.peak.rssKiB, f.rssKiB)
			s.peak.hwmKiB = max(s.peak.hwmKiB, f.hwmKiB)
			s.peak.fds = max(s.peak.fds, f.fds)
			s.peak.goroutines = max(s.peak.goroutines, f.goroutines)
			s.peak.mFDs = max(s.peak.mFDs, f.mFDs)
			s.peak.mRSS = max(s.peak.mRSS, f.mRSS)
			s.mu.Unlock()
			select {
			case <-s.stop:
				return
			case <-t.C:
			}
		}
	}()
	return s
}

func (s *sampler) end() figures {
	close(s.stop)
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.peak
}

// ---- phases ----

// tally counts outcomes ("401", "429", "error: timeout", "HEAD /healthz 200").
type tally struct {
	mu sync.Mutex
	m  map[string]int
	// notes are extra figures of the phase.
	notes []string
}

func newTally() *tally { return &tally{m: map[string]int{}} }

func (t *tally) add(k string) { t.mu.Lock(); t.m[k]++; t.mu.Unlock() }
func (t *tally) note(format string, a ...any) {
	t.mu.Lock()
	t.notes = append(t.notes, fmt.Sprintf(format, a...))
	t.mu.Unlock()
}
func (t *tally) status(resp *http.Response, err error) {
	if err != nil {
		t.add("error: " + shortErr(err))
		return
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	t.add(strconv.Itoa(resp.StatusCode))
}

func (t *tally) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	keys := make([]string, 0, len(t.m))
	for k := range t.m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s ×%d", k, t.m[k]))
	}
	return strings.Join(parts, ", ")
}

func shortErr(err error) string {
	var ne net.Error
	switch {
	case errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case errors.Is(err, syscall.EPIPE):
		return "broken pipe"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed"
	}
	s := err.Error()
	if i := strings.LastIndex(s, ": "); i >= 0 {
		s = s[i+2:]
	}
	return s
}

type phase struct {
	name, what string
	limit      time.Duration
	run        func(ctx context.Context, h *hostile, t *tally)
}

var phases = []phase{
	{"login-bomb", "40 concurrent unauthenticated POST /login, multipart with a 16 MB password field, declared length (from 127.0.0.2)", 2 * time.Minute, phaseLoginBomb(false, "127.0.0.2")},
	{"login-bomb-chunked", "the same, chunked (no Content-Length) (from 127.0.0.3)", 2 * time.Minute, phaseLoginBomb(true, "127.0.0.3")},
	{"login-race", "40 held-open wrong-password logins released together, racing the 5-per-minute lockout (from 127.0.0.4)", time.Minute, phaseLoginRace},
	{"lockout-neighbour", "the right password from 127.0.0.1 and from the locked-out 127.0.0.4, form and Basic auth", 20 * time.Second, phaseNeighbour},
	{"head", "HEAD on open and authenticated GET routes", 20 * time.Second, phaseHead},
	{"put-oversize", "8 concurrent PUT /api/v1/config of 17 MiB JSON after auth, declared length, then 8 chunked", time.Minute, phasePutOversize},
	{"upload-oversize", "4 concurrent 17 MiB tarball uploads (POST /upload, session), then a gzip bomb (256 MiB of zeros)", time.Minute, phaseUploadOversize},
	{"certs-many-keys", "PUT /api/v1/config and POST validate with a certs object of 200,000 keys", time.Minute, phaseCertsManyKeys},
	{"online-blackhole", "100 concurrent online validations from one session, every service a loopback port that accepts and never answers", 3 * time.Minute, phaseOnlineBlackhole},
}

func phaseNames() []string {
	var out []string
	for _, p := range phases {
		out = append(out, p.name)
	}
	return out
}

func (h *hostile) run(want map[string]bool) int {
	fmt.Printf("host: %d cores, load average %s\n", runtime.NumCPU(), benchenv.LoadAverage())
	if h.pid == 0 {
		fmt.Println("editor pid unknown: /proc figures (VmHWM, VmRSS, fds) are not available, only /metrics")
	}
	idle := h.now()
	fmt.Printf("idle: %s\n", idle.format())
	if err := h.login(); err != nil {
		fmt.Fprintln(os.Stderr, "hostile: cannot log in with the given password:", err)
		return 1
	}
	for _, p := range phases {
		if len(want) > 0 && !want[p.name] {
			continue
		}
		fmt.Printf("\n== %s: %s\n", p.name, p.what)
		t := newTally()
		ctx, cancel := context.WithTimeout(context.Background(), p.limit)
		s := h.sample()
		start := time.Now()
		p.run(ctx, h, t)
		took := time.Since(start)
		peak := s.end()
		cancel()
		h.closeClients()
		time.Sleep(time.Second) // let closed connections settle before the "after" figures
		after := h.now()
		fmt.Printf("   answers: %s\n", t)
		for _, n := range t.notes {
			fmt.Printf("   %s\n", n)
		}
		fmt.Printf("   took %.1fs; peak during: %s\n", took.Seconds(), peak.format())
		fmt.Printf("   1 s after: %s\n", after.format())
	}
	end := h.now()
	fmt.Printf("\nend: %s\nload average %s\n", end.format(), benchenv.LoadAverage())
	return 0
}

func (f figures) format() string {
	var parts []string
	if f.hwmKiB > 0 {
		parts = append(parts, fmt.Sprintf("VmRSS %.1f MiB, VmHWM %.1f MiB, fds %d", mib(f.rssKiB), mib(f.hwmKiB), f.fds))
	}
	if f.goroutines >= 0 {
		parts = append(parts, fmt.Sprintf("goroutines %d, process_open_fds %d, process_resident_memory %.1f MiB",
			f.goroutines, f.mFDs, float64(f.mRSS)/(1<<20)))
	} else {
		parts = append(parts, "/metrics unavailable")
	}
	return strings.Join(parts, "; ")
}

func mib(kib int) float64 { return float64(kib) / 1024 }

// client makes an HTTP client whose connections leave from the given
// loopback source address (empty: any).
func (h *hostile) client(src string, timeout time.Duration, conns int) *http.Client {
	d := &net.Dialer{Timeout: 5 * time.Second}
	if src != "" && net.ParseIP(h.host).To4() != nil {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(src)}
	}
	cl := &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{DialContext: d.DialContext, MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns,
			DisableCompression: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	h.mu.Lock()
	h.clients = append(h.clients, cl)
	h.mu.Unlock()
	return cl
}

func (h *hostile) closeClients() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, cl := range h.clients {
		cl.CloseIdleConnections()
	}
	h.clients = nil
}

var (
	csrfRe = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)
	revRe  = regexp.MustCompile(`name="rev" value="([0-9]+)"`)
)

// login starts a form session (cookie + CSRF token) from 127.0.0.1.
func (h *hostile) login() error {
	cl := h.client("", 10*time.Second, 2)
	form := url.Values{"username": {user}, "password": {h.pw}}
	resp, err := cl.PostForm(h.base+"/login", form)
	if err != nil {
		return err
	}
	resp.Body.Close()
	for _, c := range resp.Cookies() {
		if c.Name == "config_editor_session" {
			h.cookie = c
		}
	}
	if h.cookie == nil {
		return fmt.Errorf("POST /login answered %d without a session cookie", resp.StatusCode)
	}
	return h.refreshPage(cl)
}

func (h *hostile) refreshPage(cl *http.Client) error {
	req, _ := http.NewRequest(http.MethodGet, h.base+"/", nil)
	req.AddCookie(h.cookie)
	resp, err := cl.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	page, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	m := csrfRe.FindSubmatch(page)
	if m == nil {
		return fmt.Errorf("GET / answered %d without a CSRF token", resp.StatusCode)
	}
	h.csrf = string(m[1])
	if m := revRe.FindSubmatch(page); m != nil {
		h.rev = string(m[1])
	}
	return nil
}

func phaseHead(ctx context.Context, h *hostile, t *tally) {
	cl := h.client("", 10*time.Second, 4)
	for _, r := range []struct {
		path string
		auth string // "", "basic", "cookie"
	}{
		{"/healthz", ""}, {"/login", ""}, {"/static/app.css", ""},
		{"/api/v1/config", "basic"}, {"/api/v1/config/bundle", "basic"}, {"/api/v1/openapi.json", "basic"}, {"/metrics", "basic"},
		{"/", "cookie"}, {"/certs", "cookie"}, {"/diff", "cookie"},
	} {
		req, _ := http.NewRequestWithContext(ctx, http.MethodHead, h.base+r.path, nil)
		switch r.auth {
		case "basic":
			req.SetBasicAuth(user, h.pw)
		case "cookie":
			req.AddCookie(h.cookie)
		}
		resp, err := cl.Do(req)
		label := "HEAD " + r.path
		if r.auth != "" {
			label += " (" + r.auth + ")"
		}
		if err != nil {
			t.add(label + " error: " + shortErr(err))
			continue
		}
		resp.Body.Close()
		t.add(label + " " + strconv.Itoa(resp.StatusCode))
	}
}

// bigJSON is a ConfigBundle of about n bytes (one long string value).
func bigJSON(n int) []byte {
	var b bytes.Buffer
	b.Grow(n + 64)
	b.WriteString(`{"config.yaml": {"SERVER_HOSTNAME": "quay.example.com", "X_PADDING": "`)
	b.Write(bytes.Repeat([]byte("a"), n))
	b.WriteString(`"}}`)
	return b.Bytes()
}

// onlyReader hides bytes.Reader's Len so the request is sent chunked.
type onlyReader struct{ io.Reader }

func phasePutOversize(ctx context.Context, h *hostile, t *tally) {
	body := bigJSON(17 << 20)
	cl := h.client("", 60*time.Second, 8)
	for _, chunked := range []bool{false, true} {
		var wg sync.WaitGroup
		for i := 0; i < 8; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var rd io.Reader = bytes.NewReader(body)
				if chunked {
					rd = onlyReader{rd}
				}
				req, _ := http.NewRequestWithContext(ctx, http.MethodPut, h.base+"/api/v1/config", rd)
				req.Header.Set("Content-Type", "application/json")
				req.SetBasicAuth(user, h.pw)
				resp, err := cl.Do(req)
				if err != nil {
					t.add(kind(chunked) + " error: " + shortErr(err))
					return
				}
				_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
				resp.Body.Close()
				t.add(kind(chunked) + " " + strconv.Itoa(resp.StatusCode))
			}()
		}
		wg.Wait()
	}
}

func kind(chunked bool) string {
	if chunked {
		return "chunked"
	}
	return "declared"
}

// multipartBody builds a multipart form with one file or field.
func multipartBody(fields map[string]string, fileField, fileName string, data []byte) ([]byte, string) {
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for k, v := range fields {
		_ = mw.WriteField(k, v)
	}
	if fileName != "" {
		w, _ := mw.CreateFormFile(fileField, fileName)
		_, _ = w.Write(data)
	} else {
		_ = mw.WriteField(fileField, string(data))
	}
	_ = mw.Close()
	return b.Bytes(), mw.FormDataContentType()
}

func (h *hostile) sessionPost(ctx context.Context, cl *http.Client, path, ctype string, body io.Reader) (*http.Response, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, h.base+path, body)
	req.Header.Set("Content-Type", ctype)
	req.Header.Set("X-CSRF-Token", h.csrf)
	req.AddCookie(h.cookie)
	return cl.Do(req)
}

func phaseUploadOversize(ctx context.Context, h *hostile, t *tally) {
	cl := h.client("", 60*time.Second, 4)
	junk := make([]byte, 17<<20)
	_, _ = rand.Read(junk)
	body, ctype := multipartBody(map[string]string{"rev": h.rev, "_csrf": h.csrf}, "bundle", "quay-config.tar.gz", junk)
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := h.sessionPost(ctx, cl, "/upload", ctype, bytes.NewReader(body))
			if err != nil {
				t.add("17 MiB error: " + shortErr(err))
				return
			}
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
			resp.Body.Close()
			t.add("17 MiB " + strconv.Itoa(resp.StatusCode))
		}()
	}
	wg.Wait()
	bomb := gzipBomb(256 << 20)
	t.note("gzip bomb: %d bytes compressed", len(bomb))
	body, ctype = multipartBody(map[string]string{"rev": h.rev, "_csrf": h.csrf}, "bundle", "quay-config.tar.gz", bomb)
	resp, err := h.sessionPost(ctx, cl, "/upload", ctype, bytes.NewReader(body))
	if err != nil {
		t.add("bomb error: " + shortErr(err))
		return
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	t.add("bomb " + strconv.Itoa(resp.StatusCode))
}

// gzipBomb is a quay-config.tar.gz whose config.yaml is n zero bytes.
func gzipBomb(n int64) []byte {
	var b bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
	tw := tar.NewWriter(zw)
	_ = tw.WriteHeader(&tar.Header{Name: "config.yaml", Mode: 0o600, Size: n, Typeflag: tar.TypeReg})
	zero := make([]byte, 1<<20)
	for w := int64(0); w < n; w += int64(len(zero)) {
		_, _ = tw.Write(zero[:min(int64(len(zero)), n-w)])
	}
	_ = tw.Close()
	_ = zw.Close()
	return b.Bytes()
}

func phaseCertsManyKeys(ctx context.Context, h *hostile, t *tally) {
	const n = 200000
	var b bytes.Buffer
	b.WriteString(`{"config.yaml": {"SERVER_HOSTNAME": "quay.example.com"}, "certs": {`)
	pem := base64.StdEncoding.EncodeToString([]byte("x"))
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"extra_ca_certs/c%d.crt": "%s"`, i, pem)
	}
	b.WriteString("}}")
	body := b.Bytes()
	t.note("body: %d keys, %.1f MiB", n, float64(len(body))/(1<<20))
	cl := h.client("", 60*time.Second, 2)
	for _, r := range []struct{ method, path string }{
		{http.MethodPut, "/api/v1/config"},
		{http.MethodPost, "/api/v1/config/validate?mode=offline"},
	} {
		req, _ := http.NewRequestWithContext(ctx, r.method, h.base+r.path, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.SetBasicAuth(user, h.pw)
		start := time.Now()
		resp, err := cl.Do(req)
		label := r.method + " " + strings.SplitN(r.path, "?", 2)[0]
		if err != nil {
			t.add(label + " error: " + shortErr(err))
			continue
		}
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 300))
		resp.Body.Close()
		t.add(label + " " + strconv.Itoa(resp.StatusCode))
		t.note("%s: %d in %.2fs: %s", label, resp.StatusCode, time.Since(start).Seconds(), oneLine(msg))
	}
}

func oneLine(b []byte) string {
	s := strings.Join(strings.Fields(string(b)), " ")
	if len(s) > 160 {
		s = s[:160] + "..."
	}
	return s
}

// blackhole accepts on 127.0.0.1 and never answers; it counts the
// connections it holds.
type blackhole struct {
	ln         net.Listener
	mu         sync.Mutex
	conns      []net.Conn
	open, peak int
	total      int
}

func newBlackhole() (*blackhole, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	bh := &blackhole{ln: ln}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			bh.mu.Lock()
			bh.conns = append(bh.conns, c)
			bh.open++
			bh.total++
			bh.peak = max(bh.peak, bh.open)
			bh.mu.Unlock()
			go func() {
				// Never write; notice when the peer closes.
				_, _ = io.Copy(io.Discard, c)
				bh.mu.Lock()
				bh.open--
				bh.mu.Unlock()
			}()
		}
	}()
	return bh, nil
}

func (bh *blackhole) close() {
	_ = bh.ln.Close()
	bh.mu.Lock()
	defer bh.mu.Unlock()
	for _, c := range bh.conns {
		_ = c.Close()
	}
}

func phaseOnlineBlackhole(ctx context.Context, h *hostile, t *tally) {
	bh, err := newBlackhole()
	if err != nil {
		t.add("error: " + err.Error())
		return
	}
	defer bh.close()
	bhHost, bhPort, _ := net.SplitHostPort(bh.ln.Addr().String())
	body := fmt.Sprintf(`{"config.yaml": {
  "SERVER_HOSTNAME": "quay.example.com", "PREFERRED_URL_SCHEME": "http",
  "DB_URI": "postgresql://quay:pw@%[1]s:%[2]s/quay",
  "BUILDLOGS_REDIS": {"host": "%[1]s", "port": %[2]s},
  "USER_EVENTS_REDIS": {"host": "%[1]s", "port": %[2]s},
  "DISTRIBUTED_STORAGE_CONFIG": {"default": ["S3Storage", {"s3_bucket": "quay", "storage_path": "/registry",
     "s3_access_key": "a", "s3_secret_key": "b", "host": "%[1]s", "port": %[2]s, "is_secure": false}]},
  "DISTRIBUTED_STORAGE_PREFERENCE": ["default"],
  "FEATURE_SECURITY_SCANNER": true, "SECURITY_SCANNER_V4_ENDPOINT": "http://%[1]s:%[2]s",
  "SECURITY_SCANNER_V4_PSK": "c2VjcmV0",
  "SECRET_KEY": "0123456789abcdef0123456789abcdef", "DATABASE_SECRET_KEY": "0123456789abcdef0123456789abcdef"
}}`, bhHost, bhPort)
	cl := h.client("", 150*time.Second, 100)
	var wg sync.WaitGroup
	start := time.Now()
	var mu sync.Mutex
	var slowest time.Duration
	for i := 0; i < 100; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t0 := time.Now()
			resp, err := h.sessionPost(ctx, cl, "/api/v1/config/validate?mode=online", "application/json", strings.NewReader(body))
			t.status(resp, err)
			mu.Lock()
			slowest = max(slowest, time.Since(t0))
			mu.Unlock()
		}()
	}
	wg.Wait()
	bh.mu.Lock()
	t.note("blackhole: %d connections accepted, at most %d open at once, %d still open when the last answer came",
		bh.total, bh.peak, bh.open)
	bh.mu.Unlock()
	t.note("all 100 answered in %.1fs, slowest %.1fs", time.Since(start).Seconds(), slowest.Seconds())
}

// phaseLoginBomb sends 40 concurrent multipart logins whose password
// field is 16 MB (16,000,000 bytes).
func phaseLoginBomb(chunked bool, src string) func(context.Context, *hostile, *tally) {
	return func(ctx context.Context, h *hostile, t *tally) {
		pw := bytes.Repeat([]byte("p"), 16_000_000) // 16 MB: just under the 16 MiB bundle limit
		body, ctype := multipartBody(map[string]string{"username": user}, "password", "", pw)
		cl := h.client(src, 90*time.Second, 40)
		var wg sync.WaitGroup
		for i := 0; i < 40; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var rd io.Reader = bytes.NewReader(body)
				if chunked {
					rd = onlyReader{rd}
				}
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, h.base+"/login", rd)
				req.Header.Set("Content-Type", ctype)
				t.status(cl.Do(req))
			}()
		}
		wg.Wait()
	}
}

// phaseLoginRace holds 40 wrong-password logins open (headers and all but
// the last byte of the body sent), then releases them together.
func phaseLoginRace(ctx context.Context, h *hostile, t *tally) {
	const n = 40
	d := &net.Dialer{Timeout: 5 * time.Second}
	if net.ParseIP(h.host).To4() != nil {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP("127.0.0.4")}
	}
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i := 0; i < n; i++ {
		body := url.Values{"username": {user}, "password": {"wrong-guess-" + strconv.Itoa(i)}}.Encode()
		c, err := d.DialContext(ctx, "tcp", net.JoinHostPort(h.host, h.port))
		if err != nil {
			t.add("dial error: " + shortErr(err))
			continue
		}
		_ = c.SetDeadline(time.Now().Add(45 * time.Second))
		head := "POST /login HTTP/1.1\r\nHost: " + net.JoinHostPort(h.host, h.port) +
			"\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: " + strconv.Itoa(len(body)) +
			"\r\nConnection: close\r\n\r\n" + body[:len(body)-1]
		if _, err := io.WriteString(c, head); err != nil {
			t.add("write error: " + shortErr(err))
			c.Close()
			continue
		}
		conns = append(conns, &lastByte{Conn: c, b: body[len(body)-1:]})
	}
	time.Sleep(500 * time.Millisecond) // every handler is now waiting for its body
	var wg sync.WaitGroup
	for _, c := range conns {
		wg.Add(1)
		go func(c net.Conn) {
			defer wg.Done()
			lb := c.(*lastByte)
			if _, err := io.WriteString(c, lb.b); err != nil {
				t.add("write error: " + shortErr(err))
				return
			}
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			t.status(resp, err)
		}(c)
	}
	wg.Wait()
	t.mu.Lock()
	compared := t.m["401"]
	t.mu.Unlock()
	t.note("passwords compared (401): %d; the documented limit is 5 failures a minute per client", compared)
}

type lastByte struct {
	net.Conn
	b string
}

// phaseNeighbour: does a lockout earned by 127.0.0.4 refuse the right
// password from 127.0.0.1, and from 127.0.0.4 itself?
func phaseNeighbour(ctx context.Context, h *hostile, t *tally) {
	for _, src := range []string{"127.0.0.1", "127.0.0.4"} {
		cl := h.client(src, 10*time.Second, 1)
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, h.base+"/login",
			strings.NewReader(url.Values{"username": {user}, "password": {h.pw}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := cl.Do(req)
		if err != nil {
			t.add("form from " + src + " error: " + shortErr(err))
		} else {
			resp.Body.Close()
			t.add("form from " + src + " " + strconv.Itoa(resp.StatusCode))
		}
		req, _ = http.NewRequestWithContext(ctx, http.MethodGet, h.base+"/api/v1/openapi.json", nil)
		req.SetBasicAuth(user, h.pw)
		resp, err = cl.Do(req)
		if err != nil {
			t.add("basic from " + src + " error: " + shortErr(err))
		} else {
			resp.Body.Close()
			t.add("basic from " + src + " " + strconv.Itoa(resp.StatusCode))
		}
	}
}
