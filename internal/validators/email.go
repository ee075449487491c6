package validators

import (
	"context"
	"crypto/hmac"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"strings"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/quay-tools/config-editor/internal/problem"
)

const groupEmail = "Email"

// Email: the SMTP server Quay mails through. Online: greet the server,
// STARTTLS or implicit TLS as configured, and log in when MAIL_USE_AUTH.
func emailCheck() Check {
	return Check{Group: groupEmail, Offline: emailOffline, Probes: emailProbes}
}

// emailOffline: mailing needs a server; authentication needs both
// credentials; FIPS mode forbids unencrypted SMTP. The password is never
// quoted.
func emailOffline(c *Context, l *problem.List) {
	if !c.on("FEATURE_MAILING") {
		return
	}
	when := "when FEATURE_MAILING is on"
	if c.requireKey(l, groupEmail, "MAIL_SERVER", []string{"FEATURE_MAILING", "MAIL_SERVER"}, when+"; set the SMTP server's host name") {
		if s := c.Str("MAIL_SERVER"); strings.Contains(s, "://") || strings.Contains(s, ":") && !strings.Contains(s, "]") && strings.Count(s, ":") == 1 || strings.ContainsAny(s, " /") {
			l.Errorf(groupEmail, at("MAIL_SERVER"), "MAIL_SERVER %q must be a bare host name; put the port in MAIL_PORT and TLS in MAIL_USE_TLS.", s)
		}
	}
	if c.on("MAIL_USE_AUTH") {
		c.requireKey(l, groupEmail, "MAIL_USERNAME", []string{"MAIL_USE_AUTH", "MAIL_USERNAME"}, "when MAIL_USE_AUTH is on")
		c.requireKey(l, groupEmail, "MAIL_PASSWORD", []string{"MAIL_USE_AUTH", "MAIL_PASSWORD"}, "when MAIL_USE_AUTH is on")
		if !c.on("MAIL_USE_TLS") && !c.on("FEATURE_FIPS") {
			l.WarnTags(groupEmail, at("MAIL_USE_TLS"), []string{"MAIL_USE_AUTH", "MAIL_USE_TLS"},
				"MAIL_USE_AUTH is on but MAIL_USE_TLS is off, so the SMTP password crosses the network unencrypted; turn on MAIL_USE_TLS.")
		}
	}
	if c.on("FEATURE_FIPS") && !c.on("MAIL_USE_TLS") && !wrongType(c.Raw, "MAIL_USE_TLS") {
		l.ErrorTags(groupEmail, at("MAIL_USE_TLS"), []string{"FEATURE_FIPS", "MAIL_USE_TLS"},
			"FEATURE_FIPS is on, so mail must be sent over TLS; set MAIL_USE_TLS: true.")
	}
	if s, ok := c.Raw["MAIL_DEFAULT_SENDER"].(string); ok && s != "" {
		if _, err := mail.ParseAddress(s); err != nil {
			l.Errorf(groupEmail, at("MAIL_DEFAULT_SENDER"), "MAIL_DEFAULT_SENDER %q is not an e-mail address; use one such as quay@example.com.", s)
		}
	} else if !c.Has("MAIL_DEFAULT_SENDER") && !wrongType(c.Raw, "MAIL_DEFAULT_SENDER") {
		l.Warnf(groupEmail, at("MAIL_DEFAULT_SENDER"), "MAIL_DEFAULT_SENDER is not set, so mail is sent from Quay's built-in default address; set your own sender address.")
	}
}

// emailProbes: with FEATURE_MAILING on and a server set, greet the server,
// protect the session as configured and really log in when MAIL_USE_AUTH.
func emailProbes(c *Context) []Probe {
	if !c.Bool("FEATURE_MAILING") {
		return nil
	}
	host := strings.TrimSpace(c.Str("MAIL_SERVER"))
	port, ok := c.Int("MAIL_PORT")
	if host == "" || !ok || port < 1 || port > 65535 || strings.ContainsAny(host, " /") {
		return nil
	}
	addr := hostPort(host, port)
	return []Probe{{Name: "SMTP server " + addr, Run: func(ctx context.Context, l *problem.List) { probeSMTP(ctx, c, host, addr, port, l) }}}
}

// probeSMTP speaks to the server with emersion/go-smtp's client: greeting
// and EHLO, STARTTLS (the TLS handshake then happens on the second EHLO),
// AUTH with a mechanism of go-sasl (PLAIN, LOGIN) or CRAM-MD5, QUIT.
func probeSMTP(ctx context.Context, c *Context, host, addr string, port int, l *problem.List) {
	implicit := port == 465 || c.Bool("MAIL_USE_SSL")
	startTLS := !implicit && c.Bool("MAIL_USE_TLS")
	tc := c.TLSConfig(host)
	how := "without TLS"
	var conn net.Conn
	var err error
	switch {
	case implicit:
		how = "with implicit TLS"
		conn, err = dialTLS(ctx, addr, tc)
	default:
		if startTLS {
			how = "with STARTTLS"
		}
		conn, err = dialerFor(ctx)(ctx, "tcp", addr)
	}
	if err != nil {
		l.Errorf(groupEmail, smtpPath(err, implicit), "could not connect to the SMTP server %s %s: %s.", addr, how, describeErr(err))
		return
	}
	defer conn.Close()
	var client *smtp.Client
	if startTLS {
		// greeting, EHLO, STARTTLS; the handshake follows with the next EHLO
		client, err = smtp.NewClientStartTLS(conn, tc)
		switch {
		case err != nil && strings.Contains(err.Error(), "support STARTTLS"):
			l.ErrorTags(groupEmail, at("MAIL_USE_TLS"), []string{"MAIL_USE_TLS"}, "the SMTP server %s does not offer STARTTLS, but MAIL_USE_TLS is on; turn TLS on at the server or, if port %d speaks implicit TLS, use port 465.", addr, port)
			return
		case err != nil:
			l.Errorf(groupEmail, at("MAIL_SERVER"), "connected to %s, but the SMTP greeting, EHLO or STARTTLS failed: %s.", addr, smtpDescribe(err))
			return
		}
	} else {
		client = smtp.NewClient(conn)
	}
	defer client.Close()
	if dl, ok := ctx.Deadline(); ok {
		client.CommandTimeout, client.SubmissionTimeout = timeUntil(dl), timeUntil(dl)
	}
	if err := client.Hello("config-editor.invalid"); err != nil {
		switch {
		case startTLS:
			l.Errorf(groupEmail, at("MAIL_USE_TLS"), "the SMTP server %s accepted STARTTLS but the TLS handshake failed: %s.", addr, smtpDescribe(err))
		default:
			l.Errorf(groupEmail, at("MAIL_SERVER"), "connected to %s, but it did not greet as an SMTP server or refused EHLO: %s.", addr, smtpDescribe(err))
		}
		return
	}
	if c.Bool("MAIL_USE_AUTH") {
		user := c.Str("MAIL_USERNAME")
		ok, mechs := client.Extension("AUTH")
		if !ok {
			l.ErrorTags(groupEmail, at("MAIL_USE_AUTH"), []string{"MAIL_USE_AUTH"}, "the SMTP server %s (%s) does not offer AUTH, but MAIL_USE_AUTH is on.", addr, how)
			return
		}
		auth, mech := smtpAuth(mechs, user, c.Secret("MAIL_PASSWORD").Reveal())
		if auth == nil {
			l.ErrorTags(groupEmail, at("MAIL_USE_AUTH"), []string{"MAIL_USE_AUTH"}, "the SMTP server %s offers AUTH %s, none of which (PLAIN, LOGIN, CRAM-MD5) the probe can use.", addr, mechs)
			return
		}
		if !implicit && !startTLS {
			l.WarnTags(groupEmail, at("MAIL_USE_TLS"), []string{"MAIL_USE_TLS", "MAIL_USE_AUTH"}, "MAIL_USE_AUTH sends the SMTP password to %s without TLS; turn MAIL_USE_TLS on.", addr)
		}
		if err := client.Auth(auth); err != nil {
			var se *smtp.SMTPError
			if errors.As(err, &se) && se.Code == 535 {
				l.ErrorTags(groupEmail, at("MAIL_PASSWORD"), []string{"MAIL_USERNAME", "MAIL_PASSWORD"}, "the SMTP server %s (%s) rejected the login of %s with AUTH %s (535): check MAIL_USERNAME and MAIL_PASSWORD.", addr, how, user, mech)
			} else {
				l.ErrorTags(groupEmail, at("MAIL_PASSWORD"), []string{"MAIL_USERNAME", "MAIL_PASSWORD"}, "logging in to the SMTP server %s (%s) as %s with AUTH %s failed: %s.", addr, how, user, mech, smtpDescribe(err))
			}
			return
		}
		l.Passedf(groupEmail, at("MAIL_USERNAME"), "logged in to the SMTP server %s (%s) as %s with AUTH %s.", addr, how, user, mech)
	} else {
		l.Passedf(groupEmail, at("MAIL_SERVER"), "the SMTP server %s answered (%s).", addr, how)
	}
	_ = client.Quit()
}

func smtpPath(err error, implicit bool) *problem.Path {
	if implicit && strings.HasPrefix(describeErr(err), "TLS") {
		return at("MAIL_PORT")
	}
	return at("MAIL_SERVER")
}

// smtpDescribe keeps a server reply's code and text; network errors go
// through describeErr.
func smtpDescribe(err error) string {
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		return fmt.Sprintf("the server answered %d %s", se.Code, se.Message)
	}
	return describeErr(err)
}

// smtpAuth picks PLAIN, LOGIN or CRAM-MD5 among the offered mechanisms.
func smtpAuth(offered, user, password string) (sasl.Client, string) {
	has := map[string]bool{}
	for _, m := range strings.Fields(strings.ToUpper(offered)) {
		has[m] = true
	}
	switch {
	case has[sasl.Plain]:
		return sasl.NewPlainClient("", user, password), sasl.Plain
	case has[sasl.Login]:
		return sasl.NewLoginClient(user, password), sasl.Login
	case has["CRAM-MD5"]:
		return cramMD5{user: user, secret: password}, "CRAM-MD5"
	}
	return nil, ""
}

// cramMD5 is AUTH CRAM-MD5 (RFC 2195), which go-sasl does not provide: the
// answer to the server's challenge is the user and the HMAC-MD5 of the
// challenge keyed with the password.
type cramMD5 struct{ user, secret string }

func (a cramMD5) Start() (string, []byte, error) { return "CRAM-MD5", nil, nil }

func (a cramMD5) Next(challenge []byte) ([]byte, error) {
	m := hmac.New(md5.New, []byte(a.secret))
	m.Write(challenge)
	return []byte(a.user + " " + hex.EncodeToString(m.Sum(nil))), nil
}
