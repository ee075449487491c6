package registry

import (
	"bytes"
	"io"
	"strings"
	"sync"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/quay-tools/config-editor/internal/bundle"
	"github.com/quay-tools/config-editor/internal/testenv"
)

func TestMain(m *testing.M) {
	// The runtime's S3 and Redis clients trust the system roots; the test
	// CA joins them before any TLS connection, as TrustBundleCAs does for
	// a bundle's extra CAs. The file lives in the test PKI's directory,
	// which testenv removes at the end.
	ca := testenv.CA()
	b, err := bundle.New(nil, bundle.Limits{})
	if err == nil {
		err = b.SetFile("extra_ca_certs/test-ca.crt", ca.CAPEM)
	}
	if err == nil {
		testCAFile, err = TrustBundleCAs(b, ca.Dir)
	}
	if err != nil {
		panic(err)
	}
	testenv.Main(m)
}

// testCAFile holds the system roots plus the test CA.
var testCAFile string

// htpasswdLine is a registry.htpasswd line (bcrypt at the cheapest cost).
func htpasswdLine(t testing.TB, user, pass string) string {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(pass), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return user + ":" + string(h)
}

// testLog sends the runtime's log to the test log (shown on failure).
func testLog(t testing.TB) io.Writer { return &tlogWriter{t: t} }

type tlogWriter struct {
	mu  sync.Mutex
	t   testing.TB
	buf bytes.Buffer
}

func (w *tlogWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	for {
		line, err := w.buf.ReadString('\n')
		if err != nil {
			w.buf.WriteString(line)
			break
		}
		func() {
			defer func() { _ = recover() }() // a log line after the test ended
			w.t.Log(strings.TrimRight(line, "\n"))
		}()
	}
	return len(p), nil
}
