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
	"os"
	"strings"
	"syscall"
	"time"
)

// Shared helpers of the online probes (probe_*.go). Every probe runs under a
// context that carries the runner's deadline; these helpers make sure that
// deadline bounds the dial, the TLS handshake and every read and write, so a
// server that accepts and never answers cannot hold a probe.

// timeoutWords is the phrase every probe uses for a deadline that expired,
// so a user (and a test) can recognise a timeout in any group.
const timeoutWords = "timed out (no answer before the deadline)"

// dialContext opens a TCP connection bounded by ctx: the dial honours ctx
// and the connection's read/write deadline is set to ctx's deadline.
// Drivers often dial under a short-lived context that they cancel once
// connected, so dialContext does not tie the connection to ctx's
// cancellation; see dialerFor for that.
func dialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	return conn, nil
}

// dialerFor returns a dial function for drivers: each connection is dialled
// under the driver's context, gets probeCtx's deadline, and cancelling
// probeCtx interrupts any blocked read or write until the connection is
// closed.
func dialerFor(probeCtx context.Context) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := dialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return boundConn(probeCtx, conn), nil
	}
}

// boundConn ties an open connection to ctx: ctx's deadline becomes the
// connection's, and cancelling ctx interrupts blocked reads and writes.
func boundConn(ctx context.Context, conn net.Conn) net.Conn {
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	return &ctxConn{Conn: conn, stop: stop}
}

type ctxConn struct {
	net.Conn
	stop func() bool
}

func (c *ctxConn) Close() error {
	c.stop()
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

// probeHTTPClient returns an HTTP client whose connections are dialled with
// dialContext, trust cfg (nil: plain HTTP only / system defaults) and are
// never kept alive, so nothing outlives the probe. Requests must still be
// made with the probe's ctx.
func probeHTTPClient(cfg *tls.Config) *http.Client {
	return &http.Client{
		Transport: &http.Transport{
			DialContext:         dialContext,
			TLSClientConfig:     cfg,
			DisableKeepAlives:   true,
			TLSHandshakeTimeout: 0, // ctx bounds it
			Proxy:               nil,
		},
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
