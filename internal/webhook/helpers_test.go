package webhook_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"

	"github.com/quay-tools/config-editor/internal/testenv"
	"github.com/quay-tools/config-editor/internal/testenv/kubetest"
	"github.com/quay-tools/config-editor/internal/webhook"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// goodConfig is a bundle with no problem at all offline; it configures
// postgres, redis, objectstorage and route itself.
const goodConfig = kubetest.QuayConfig

// warnConfig lacks SECRET_KEY: one warning, no error.
var warnConfig = replaceLine(goodConfig, "SECRET_KEY: ", "")

// badConfig: a DB_URI that does not parse (its password must never show)
// and a malformed tag expiration.
var badConfig = replaceLine(replaceLine(goodConfig, "DB_URI: ", "DB_URI: postgresql://quay:dbsecretpw@db.example.com:notaport/quay\n"),
	"DEFAULT_TAG_EXPIRATION: ", "DEFAULT_TAG_EXPIRATION: 3x\n")

// replaceLine replaces the line starting with prefix by repl (which ends in
// a newline, or is empty to drop the line).
func replaceLine(doc, prefix, repl string) string {
	var out bytes.Buffer
	for _, l := range bytes.SplitAfter([]byte(doc), []byte("\n")) {
		if bytes.HasPrefix(l, []byte(prefix)) {
			out.WriteString(repl)
			continue
		}
		out.Write(l)
	}
	return out.String()
}

// seen records the AdmissionRequests that reached the webhook.
type seen struct {
	mu   sync.Mutex
	reqs []admissionv1.AdmissionRequest
}

func (s *seen) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var rev admissionv1.AdmissionReview
		if json.Unmarshal(body, &rev) == nil && rev.Request != nil {
			s.mu.Lock()
			s.reqs = append(s.reqs, *rev.Request)
			s.mu.Unlock()
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		h.ServeHTTP(w, r)
	})
}

// count returns how many requests named an object (kind "" = any).
func (s *seen) count(kind, name string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, r := range s.reqs {
		if r.Name == name && (kind == "" || r.Kind.Kind == kind) {
			n++
		}
	}
	return n
}

// serveTLS serves h over HTTPS on 127.0.0.1 with the test CA's server
// certificate until t ends, and returns the base URL.
func serveTLS(t testing.TB, h http.Handler) (string, func()) {
	t.Helper()
	ca := testenv.CA()
	certs, err := webhook.NewCertReloader(ca.ServerCertFile, ca.ServerKeyFile)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h, TLSConfig: certs.TLSConfig(), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.ServeTLS(l, "", "") }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = srv.Shutdown(ctx)
		})
	}
	t.Cleanup(stop)
	return "https://" + l.Addr().String(), stop
}

func readFile(t testing.TB, parts ...string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(parts...))
	if err != nil {
		t.Fatal(err)
	}
	return b
}
