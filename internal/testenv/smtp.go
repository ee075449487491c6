package testenv

import (
	"crypto/tls"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// SMTPMessage is one message the SMTP server accepted.
type SMTPMessage struct {
	From string
	To   []string
	Data []byte
}

// SMTPServer is an in-process SMTP server (emersion/go-smtp) on 127.0.0.1:
// Addr speaks plain SMTP with STARTTLS, TLSAddr implicit TLS (like port
// 465); both with the test certificate. AUTH PLAIN is offered only over TLS
// and accepts only Username/Password; mail needs AUTH.
type SMTPServer struct {
	Addr     string // 127.0.0.1:PORT, STARTTLS
	TLSAddr  string // 127.0.0.1:PORT, implicit TLS
	Host     string // 127.0.0.1
	Username string
	Password string

	mu   sync.Mutex
	msgs []SMTPMessage
}

var sharedSMTP = newShared[SMTPServer]()

// SMTP returns the shared in-process SMTP server, starting it if needed.
func SMTP(t testing.TB) *SMTPServer {
	t.Helper()
	return sharedSMTP.get(t, "smtp", startSMTP)
}

// Messages returns the messages received so far.
func (s *SMTPServer) Messages() []SMTPMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]SMTPMessage(nil), s.msgs...)
}

func startSMTP(e *env) (*SMTPServer, error) {
	s := &SMTPServer{Host: "127.0.0.1", Username: "quay@example.org", Password: randHex(10)}
	tlsConf := CA().ServerTLSConfig()
	newServer := func() *smtp.Server {
		srv := smtp.NewServer(&smtpBackend{s: s})
		srv.Domain = "localhost"
		srv.AllowInsecureAuth = false
		srv.TLSConfig = tlsConf
		srv.ReadTimeout = 30 * time.Second
		srv.WriteTimeout = 30 * time.Second
		srv.MaxMessageBytes = 10 << 20
		srv.MaxRecipients = 50
		return srv
	}
	plainL, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	tlsL, err := tls.Listen("tcp", "127.0.0.1:0", tlsConf)
	if err != nil {
		plainL.Close()
		return nil, err
	}
	s.Addr, s.TLSAddr = plainL.Addr().String(), tlsL.Addr().String()
	for _, l := range []net.Listener{plainL, tlsL} {
		srv := newServer()
		done := make(chan struct{})
		go func(l net.Listener) {
			defer close(done)
			_ = srv.Serve(l)
		}(l)
		e.onStop("smtp "+l.Addr().String(), func() {
			_ = srv.Close()
			<-done
		})
	}
	return s, nil
}

type smtpBackend struct{ s *SMTPServer }

func (b *smtpBackend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	return &smtpSession{s: b.s}, nil
}

type smtpSession struct {
	s      *SMTPServer
	authed bool
	from   string
	to     []string
}

var errAuthRequired = &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "Authentication required"}

func (ss *smtpSession) AuthMechanisms() []string { return []string{sasl.Plain} }

func (ss *smtpSession) Auth(mech string) (sasl.Server, error) {
	if mech != sasl.Plain {
		return nil, smtp.ErrAuthUnknownMechanism
	}
	return sasl.NewPlainServer(func(identity, username, password string) error {
		if (identity != "" && identity != username) || username != ss.s.Username || password != ss.s.Password {
			return smtp.ErrAuthFailed
		}
		ss.authed = true
		return nil
	}), nil
}

func (ss *smtpSession) Mail(from string, _ *smtp.MailOptions) error {
	if !ss.authed {
		return errAuthRequired
	}
	ss.from = from
	return nil
}

func (ss *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	if !ss.authed {
		return errAuthRequired
	}
	ss.to = append(ss.to, to)
	return nil
}

func (ss *smtpSession) Data(r io.Reader) error {
	if !ss.authed {
		return errAuthRequired
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	ss.s.mu.Lock()
	ss.s.msgs = append(ss.s.msgs, SMTPMessage{From: ss.from, To: ss.to, Data: b})
	ss.s.mu.Unlock()
	return nil
}

func (ss *smtpSession) Reset() { ss.from, ss.to = "", nil }

func (ss *smtpSession) Logout() error { return nil }
