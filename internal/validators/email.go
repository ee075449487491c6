package validators

import (
	"net/mail"
	"strings"

	"github.com/quay-tools/config-editor/internal/problem"
)

const groupEmail = "Email"

func emailCheck() Check {
	return Check{Group: groupEmail, Offline: emailOffline,
		OnlineProof: "dial the SMTP server, STARTTLS and try AUTH"}
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
