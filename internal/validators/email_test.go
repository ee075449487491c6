package validators

import "testing"

// CRAM-MD5 (which go-sasl lacks) against the example of RFC 2195.
func TestCRAMMD5KnownAnswer(t *testing.T) {
	a, mech := smtpAuth("LOGIN-NOT CRAM-MD5", "tim", "tanstaaftanstaaf")
	if mech != "CRAM-MD5" {
		t.Fatalf("picked %q", mech)
	}
	m, ir, err := a.Start()
	if m != "CRAM-MD5" || ir != nil || err != nil {
		t.Fatalf("Start: %q %q %v", m, ir, err)
	}
	got, err := a.Next([]byte("<1896.697170952@postoffice.reston.mci.net>"))
	if err != nil || string(got) != "tim b913a602c7eda7a495b4e6e7334d3890" {
		t.Fatalf("Next: %q %v", got, err)
	}
	if _, mech := smtpAuth("PLAIN LOGIN CRAM-MD5", "u", "p"); mech != "PLAIN" {
		t.Errorf("PLAIN is preferred when offered, got %q", mech)
	}
	if _, mech := smtpAuth("XOAUTH2", "u", "p"); mech != "" {
		t.Errorf("no usable mechanism, got %q", mech)
	}
}
