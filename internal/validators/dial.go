package validators

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Shared helpers of the online probes of every group. Every probe runs under a
// context that carries the runner's deadline; these helpers make sure that
// deadline bounds the dial, the TLS handshake and every read and write, so a
// server that accepts and never answers cannot hold a probe.

// timeoutWords is the phrase every probe uses for a deadline that expired,
// so a user (and a test) can recognise a timeout in any group.
const timeoutWords = "timed out (no answer before the deadline)"

// probeScope holds what one probe opened. The runner gives every probe a
// scope (withScope) and ends it as soon as the probe returns: every
// connection still open is closed and every HTTP transport drops its idle
// connections and its dials in progress, whoever still holds them. That
// matters because net/http dials and completes the TLS handshake under a
// context detached from the request: a request that gives up at the
// deadline leaves the dial and the handshake running, with a socket, for
// as long as the server keeps silent.
type probeScope struct {
	ctx context.Context // the probe's context

	mu         sync.Mutex
	conns      map[*ctxConn]struct{}
	transports []*http.Transport
	ended      bool
}

type scopeKey struct{}

// withScope starts a probe's scope under ctx (which carries the probe's
// deadline); call end when the probe returns.
func withScope(ctx context.Context) (context.Context, *probeScope) {
	sc := &probeScope{conns: map[*ctxConn]struct{}{}}
	sc.ctx = context.WithValue(ctx, scopeKey{}, sc)
	return sc.ctx, sc
}

// scopeOf returns the scope of the probe ctx belongs to, or nil.
func scopeOf(ctx context.Context) *probeScope {
	sc, _ := ctx.Value(scopeKey{}).(*probeScope)
	return sc
}

// errProbeEnded is the error of a dial that completes after its probe
// returned; the connection is closed at once.
var errProbeEnded = errors.New("the check had already ended")

func (sc *probeScope) track(c *ctxConn) bool {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if sc.ended {
		return false
	}
	sc.conns[c] = struct{}{}
	return true
}

func (sc *probeScope) untrack(c *ctxConn) {
	sc.mu.Lock()
	delete(sc.conns, c)
	sc.mu.Unlock()
}

func (sc *probeScope) addTransport(t *http.Transport) {
	sc.mu.Lock()
	ended := sc.ended
	if !ended {
		sc.transports = append(sc.transports, t)
	}
	sc.mu.Unlock()
	if ended {
		t.CloseIdleConnections()
	}
}

// end closes everything the probe left open. Connections dialled later
// are closed as soon as they connect.
func (sc *probeScope) end() {
	sc.mu.Lock()
	sc.ended = true
	conns, transports := sc.conns, sc.transports
	sc.conns, sc.transports = map[*ctxConn]struct{}{}, nil
	sc.mu.Unlock()
	for _, t := range transports {
		t.CloseIdleConnections() // also cancels its dials in progress
	}
	for c := range conns {
		_ = c.Close()
	}
}

// dialContext opens a TCP connection for a probe, bounded by ctx. When ctx
// belongs to a probe's scope, the dial and the connection are also bounded
// by the probe's own context, whatever context the caller (a driver, or
// net/http with its detached dial context) passes; the connection is then
// closed by the runner when the probe returns at the latest. Outside a
// scope the connection only gets ctx's deadline: drivers often dial under
// a short-lived context that they cancel once connected.
func dialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	var bound context.Context
	if sc := scopeOf(ctx); sc != nil {
		bound = sc.ctx
	}
	return dialBound(bound, ctx, network, addr)
}

// dialerFor returns a dial function for drivers: each connection is dialled
// under the driver's context and probeCtx, gets probeCtx's deadline,
// cancelling probeCtx interrupts any blocked read or write until the
// connection is closed, and the runner closes it when the probe returns.
func dialerFor(probeCtx context.Context) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		return dialBound(probeCtx, ctx, network, addr)
	}
}

// dialBound dials under dctx, also bounded by bound (the probe's context)
// when it is not nil, and ties the connection to bound.
func dialBound(bound, dctx context.Context, network, addr string) (net.Conn, error) {
	if bound != nil && bound != dctx {
		var cancel context.CancelFunc
		if dl, ok := bound.Deadline(); ok {
			dctx, cancel = context.WithDeadline(dctx, dl)
		} else {
			dctx, cancel = context.WithCancel(dctx)
		}
		stop := context.AfterFunc(bound, cancel)
		defer func() {
			stop()
			cancel()
		}()
	}
	var d net.Dialer
	conn, err := d.DialContext(dctx, network, addr)
	if err != nil {
		return nil, err
	}
	if bound == nil {
		if dl, ok := dctx.Deadline(); ok {
			_ = conn.SetDeadline(dl)
		}
		return conn, nil
	}
	return boundConn(bound, conn)
}

// boundConn ties an open connection to ctx: ctx's deadline becomes the
// connection's, cancelling ctx interrupts blocked reads and writes, and
// when ctx belongs to a probe's scope the connection is closed when the
// probe returns.
func boundConn(ctx context.Context, conn net.Conn) (net.Conn, error) {
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	c := &ctxConn{Conn: conn, ctx: ctx, scope: scopeOf(ctx)}
	c.stop = context.AfterFunc(ctx, c.interrupt)
	if c.scope != nil && !c.scope.track(c) {
		_ = c.Close()
		return nil, errProbeEnded
	}
	return c, nil
}

// ctxConn is a connection bound to a context: when the context is done
// the connection's deadline is put in the past, which interrupts any read
// or write. Drivers set deadlines of their own (an SMTP client five
// minutes before every command, a database driver none at all once a
// query is over); once the context is done, any deadline set through
// ctxConn stays in the past, so no driver can undo the interruption.
type ctxConn struct {
	net.Conn
	ctx   context.Context
	stop  func() bool
	scope *probeScope

	mu   sync.Mutex
	done bool
}

var pastDeadline = time.Unix(1, 0)

func (c *ctxConn) interrupt() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.done = true
	_ = c.Conn.SetDeadline(pastDeadline)
}

// bound is the deadline to set for t: t, or the past once the context is
// done.
func (c *ctxConn) bound(t time.Time) time.Time {
	if c.done {
		return pastDeadline
	}
	return t
}

func (c *ctxConn) SetDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.Conn.SetDeadline(c.bound(t))
}

func (c *ctxConn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.Conn.SetReadDeadline(c.bound(t))
}

func (c *ctxConn) SetWriteDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.Conn.SetWriteDeadline(c.bound(t))
}

func (c *ctxConn) Close() error {
	c.stop()
	if c.scope != nil {
		c.scope.untrack(c)
	}
	return c.Conn.Close()
}

// dialTLS dials addr and completes a TLS handshake, both bounded by ctx.
func dialTLS(ctx context.Context, addr string, cfg *tls.Config) (*tls.Conn, error) {
	conn, err := dialerFor(ctx)(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	tc := tls.Client(conn, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		_ = conn.Close()
		return nil, err
	}
	return tc, nil
}

// probeHTTPClient returns an HTTP client for one probe: its connections are
// dialled with dialBound under ctx (the probe's context), trust cfg (nil:
// plain HTTP only / system defaults) and are never kept alive; the TLS
// handshake and the wait for the response headers are bounded by the time
// left before ctx's deadline as well; and the probe's scope closes the
// transport when the probe returns, so nothing outlives the probe.
// Requests must still be made with ctx (or a context derived from it).
func probeHTTPClient(ctx context.Context, cfg *tls.Config) *http.Client {
	tr := &http.Transport{
		DialContext: func(dctx context.Context, network, addr string) (net.Conn, error) {
			return dialBound(ctx, dctx, network, addr)
		},
		TLSClientConfig:   cfg,
		DisableKeepAlives: true,
		Proxy:             nil,
	}
	if dl, ok := ctx.Deadline(); ok {
		tr.TLSHandshakeTimeout = timeUntil(dl)
		tr.ResponseHeaderTimeout = timeUntil(dl)
	}
	if sc := scopeOf(ctx); sc != nil {
		sc.addTransport(tr)
	}
	return &http.Client{
		Transport: tr,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 5 {
				return errors.New("too many redirects")
			}
			return nil
		},
	}
}

// hostPort joins a host and a port, bracketing IPv6 addresses.
func hostPort(host string, port int) string {
	return net.JoinHostPort(host, fmt.Sprint(port))
}

// isTimeout reports whether err is a deadline or timeout.
func isTimeout(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// describeErr turns a network or TLS error into plain words: what answered
// (or did not). It never adds anything beyond the error itself, and the
// fallback is the error's own text (which the runner scrubs of secrets);
// callers must not wrap errors that contain a DSN or a password.
func describeErr(err error) string {
	if err == nil {
		return "no error"
	}
	if isTimeout(err) {
		return timeoutWords
	}
	if errors.Is(err, context.Canceled) {
		return "cancelled"
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		if dnsErr.IsNotFound {
			return fmt.Sprintf("host name %q does not resolve (DNS: no such host)", dnsErr.Name)
		}
		return fmt.Sprintf("DNS lookup of %q failed: %s", dnsErr.Name, dnsErr.Err)
	}
	var unknownCA x509.UnknownAuthorityError
	if errors.As(err, &unknownCA) {
		subject := ""
		if unknownCA.Cert != nil {
			subject = fmt.Sprintf(" (certificate %q issued by %q)", unknownCA.Cert.Subject.CommonName, unknownCA.Cert.Issuer.CommonName)
		}
		return "TLS: the server's certificate is signed by an unknown authority" + subject +
			"; add its CA to the bundle (extra_ca_certs/) or the service's CA file"
	}
	var hostErr x509.HostnameError
	if errors.As(err, &hostErr) {
		return "TLS: " + hostErr.Error()
	}
	var invalid x509.CertificateInvalidError
	if errors.As(err, &invalid) {
		return "TLS: " + invalid.Error()
	}
	var verifyErr *tls.CertificateVerificationError
	if errors.As(err, &verifyErr) {
		return "TLS: " + verifyErr.Err.Error()
	}
	var recErr tls.RecordHeaderError
	if errors.As(err, &recErr) {
		return "TLS: the server did not answer with TLS (is TLS enabled on that port?)"
	}
	var alert tls.AlertError
	if errors.As(err, &alert) {
		return "TLS: the server refused the handshake (" + alert.Error() + ")"
	}
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused (nothing listens on that port)"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return "connection reset by the server"
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return "host unreachable"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "the server closed the connection"
	}
	msg := err.Error()
	if strings.Contains(msg, "certificate signed by unknown authority") {
		return "TLS: the server's certificate is signed by an unknown authority; add its CA to the bundle (extra_ca_certs/) or the service's CA file"
	}
	return msg
}

// timeUntil is the time left before a deadline, at least a millisecond
// (drivers read 0 as "no timeout").
func timeUntil(t time.Time) time.Duration {
	if d := time.Until(t); d > time.Millisecond {
		return d
	}
	return time.Millisecond
}

// noRedirectClient never follows a redirect: a credential-bearing request
// must reach the configured URL or fail, never be replayed elsewhere.
func noRedirectClient(ctx context.Context, cfg *tls.Config) *http.Client {
	cl := probeHTTPClient(ctx, cfg)
	cl.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return cl
}

// tlsFor returns the TLS config for a URL's host (bundle CAs).
func (c *Context) tlsFor(raw string, extraCA ...[]byte) (*url.URL, *tls.Config, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, nil, fmt.Errorf("%q is not an http(s) URL", raw)
	}
	return u, c.TLSConfig(u.Hostname(), extraCA...), nil
}

// netWords describes a transport error without the request URL (which may
// carry a SAS token or other credentials in its query).
func netWords(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	if strings.Contains(err.Error(), "server gave HTTP response to HTTPS client") {
		return "TLS: the server did not answer with TLS but with plain HTTP (is TLS enabled on that port, or should the URL be http?)"
	}
	return describeErr(err)
}
