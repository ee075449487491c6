package validators

import (
	"context"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/quay-tools/config-editor/internal/bundle"
	"github.com/quay-tools/config-editor/internal/problem"
	"github.com/quay-tools/config-editor/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// onlineBundle builds a bundle from a config value and files.
func onlineBundle(t testing.TB, cfg map[string]any, files map[string][]byte) *bundle.Bundle {
	t.Helper()
	b, err := bundle.FromValue(cfg, bundle.Limits{})
	if err != nil {
		t.Fatalf("bundle: %v", err)
	}
	for name, data := range files {
		if err := b.SetFile(name, data); err != nil {
			t.Fatalf("bundle file %s: %v", name, err)
		}
	}
	return b
}

// validateOnline runs an online validation of the given groups with a
// generous per-probe timeout.
func validateOnline(t testing.TB, b *bundle.Bundle, groups ...string) []problem.Problem {
	t.Helper()
	return validateOnlineHosted(t, b, HostedEndpoints{}, groups...)
}

// validateOnlineHosted is validateOnline with hosted services (Google,
// Bitbucket, STS, Kinesis) at the given fakes.
func validateOnlineHosted(t testing.TB, b *bundle.Bundle, hosted HostedEndpoints, groups ...string) []problem.Problem {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	ps := Validate(ctx, b, Options{Mode: Online, Timeout: 15 * time.Second, Groups: groups, Hosted: hosted})
	if ctx.Err() != nil {
		t.Fatalf("Validate did not return within 60s")
	}
	return ps
}

// wantProblem fails unless exactly one problem matches group, path,
// severity and every substring.
func wantProblem(t testing.TB, ps []problem.Problem, group, path string, sev problem.Severity, subs ...string) problem.Problem {
	t.Helper()
	var found []problem.Problem
	for _, p := range ps {
		if p.FieldGroup != group || p.Path.String() != path || p.Severity != sev {
			continue
		}
		ok := true
		for _, s := range subs {
			if !strings.Contains(p.Message, s) {
				ok = false
			}
		}
		if ok {
			found = append(found, p)
		}
	}
	if len(found) != 1 {
		t.Fatalf("want one %s %s at %q containing %q; got %d among:\n%s", sev, group, path, subs, len(found), dump(ps))
	}
	return found[0]
}

// wantNoErrors fails if any problem of the group is an error.
func wantNoErrors(t testing.TB, ps []problem.Problem, group string) {
	t.Helper()
	for _, p := range ps {
		if p.FieldGroup == group && p.Severity == problem.Error {
			t.Fatalf("unexpected error problem:\n%s", dump(ps))
		}
	}
}

// wantNoProblems fails if the group has any problem at all.
func wantNoProblems(t testing.TB, ps []problem.Problem, group string) {
	t.Helper()
	for _, p := range ps {
		if p.FieldGroup == group {
			t.Fatalf("unexpected:\n%s", dump(ps))
		}
	}
}

// wantNoSecret fails if any message holds one of the secrets.
func wantNoSecret(t testing.TB, ps []problem.Problem, secrets ...string) {
	t.Helper()
	for _, p := range ps {
		for _, s := range secrets {
			if s != "" && strings.Contains(p.Message, s) {
				t.Fatalf("message leaks a secret: %s", p.Message)
			}
		}
	}
}

func dump(ps []problem.Problem) string {
	var b strings.Builder
	for _, p := range ps {
		b.WriteString("  " + p.String() + "\n")
	}
	return b.String()
}

// tcpProxy forwards every connection to target and counts the connections
// it accepts. greet, if not nil, talks to the client first and returns the
// bytes it read that are for the target.
func tcpProxy(t testing.TB, target string, greet func(c net.Conn) ([]byte, error)) (string, *atomic.Int64) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var accepted atomic.Int64
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			go func(c net.Conn) {
				defer c.Close()
				var first []byte
				if greet != nil {
					b, err := greet(c)
					if err != nil {
						return
					}
					first = b
				}
				up, err := net.Dial("tcp", target)
				if err != nil {
					return
				}
				defer up.Close()
				if len(first) > 0 {
					if _, err := up.Write(first); err != nil {
						return
					}
				}
				go func() { _, _ = io.Copy(up, c); up.Close() }()
				_, _ = io.Copy(c, up)
			}(c)
		}
	}()
	return ln.Addr().String(), &accepted
}
