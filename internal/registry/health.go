package registry

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	storagedriver "github.com/distribution/distribution/v3/registry/storage/driver"
	"github.com/redis/go-redis/v9"

	"github.com/quay-tools/config-editor/internal/problem"
	"github.com/quay-tools/config-editor/internal/validators"
)

// Health in Quay's shape:
//
//	{"data":{"services":{"<name>":true|false,...}},"status_code":200|503}
//
// with the HTTP status equal to status_code. /health/instance is this
// process: it serves, and its storage answers. /health/endtoend is what a
// load balancer needs to know: the storage takes a write, read and delete,
// the database and the cache Redis answer, and the login backend works.
// Results are reused for Options.HealthTTL so probes cannot be used to
// hammer the backends.

type healthChecker struct {
	s     *Server
	mu    sync.Mutex
	cache map[bool]healthResult
}

type healthResult struct {
	services map[string]bool
	at       time.Time
}

func newHealthChecker(s *Server) *healthChecker {
	return &healthChecker{s: s, cache: map[bool]healthResult{}}
}

// HealthBody is the JSON of a health answer.
type HealthBody struct {
	Data struct {
		Services map[string]bool `json:"services"`
		// Replication is the replication queue's state, a detail that
		// never fails the check (end-to-end only, with replication on).
		Replication *QueueStats `json:"replication,omitempty"`
	} `json:"data"`
	StatusCode int `json:"status_code"`
}

func (h *healthChecker) serve(w http.ResponseWriter, r *http.Request, endToEnd bool) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	services := h.check(r.Context(), endToEnd)
	var body HealthBody
	body.Data.Services = services
	body.StatusCode = http.StatusOK
	for _, ok := range services {
		if !ok {
			body.StatusCode = http.StatusServiceUnavailable
		}
	}
	if endToEnd && h.s.repl != nil {
		ctx, cancel := context.WithTimeout(r.Context(), h.s.opts.ProbeTimeout)
		st, err := h.s.repl.Stats(ctx)
		cancel()
		if err != nil {
			st.Error = "the replication queue cannot be read"
			h.s.log.Warn("replication queue stats", "err", err.Error())
		}
		body.Data.Replication = &st
	}
	data, _ := json.Marshal(body)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(body.StatusCode)
	_, _ = w.Write(append(data, '\n'))
}

// check returns the services' states, from the cache when fresh.
func (h *healthChecker) check(ctx context.Context, endToEnd bool) map[string]bool {
	h.mu.Lock()
	defer h.mu.Unlock() // one check at a time: concurrent probes share it
	if res, ok := h.cache[endToEnd]; ok && time.Since(res.at) < h.s.opts.HealthTTL {
		return res.services
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), h.s.opts.ProbeTimeout)
	defer cancel()
	type result struct {
		name string
		err  error
	}
	checks := map[string]func(context.Context) error{
		"registry": func(context.Context) error { return nil },
	}
	if endToEnd {
		checks["storage"] = h.storageRoundTrip
		checks["database"] = h.groupCheck("Database")
		checks["auth"] = h.authCheck
		if h.s.cfg.Redis != nil {
			checks["redis"] = h.redisPing
		}
	} else {
		checks["storage"] = h.storageReachable
	}
	results := make(chan result, len(checks))
	for name, f := range checks {
		go func() { results <- result{name, f(ctx)} }()
	}
	services := map[string]bool{}
	var failed []string
	for range checks {
		r := <-results
		services[r.name] = r.err == nil
		if r.err != nil {
			failed = append(failed, r.name+": "+r.err.Error())
		}
	}
	if len(failed) > 0 {
		sort.Strings(failed)
		which := "instance"
		if endToEnd {
			which = "endtoend"
		}
		h.s.log.Warn("health "+which+" failing", "failures", strings.Join(failed, "; "))
	}
	h.cache[endToEnd] = healthResult{services: services, at: time.Now()}
	return services
}

// storageReachable lists the storage root: an empty bucket (path not
// found) is reachable; a network or credential failure is not.
func (h *healthChecker) storageReachable(ctx context.Context) error {
	_, err := h.s.driver.List(ctx, "/")
	var nf storagedriver.PathNotFoundError
	if err == nil || errors.As(err, &nf) {
		return nil
	}
	return err
}

// healthPrefix is where the end-to-end check writes its probe objects,
// outside distribution's own tree.
const healthPrefix = "/config-editor/health/"

func (h *healthChecker) storageRoundTrip(ctx context.Context) error {
	var b [8]byte
	_, _ = rand.Read(b[:])
	path := healthPrefix + hex.EncodeToString(b[:])
	want := []byte("config-editor health probe " + path)
	if err := h.s.driver.PutContent(ctx, path, want); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	got, err := h.s.driver.GetContent(ctx, path)
	derr := h.s.driver.Delete(ctx, path)
	switch {
	case err != nil:
		return fmt.Errorf("read back: %w", err)
	case !bytes.Equal(got, want):
		return fmt.Errorf("read back different bytes")
	case derr != nil:
		return fmt.Errorf("delete: %w", derr)
	}
	return nil
}

// groupCheck runs the online validation of one field group.
func (h *healthChecker) groupCheck(group string) func(context.Context) error {
	return func(ctx context.Context) error {
		ps := validators.Validate(ctx, h.s.cfg.bundle, validators.Options{Mode: validators.Online, Groups: []string{group}, Timeout: h.s.opts.ProbeTimeout})
		for _, p := range ps {
			if p.Severity == problem.Error {
				return errors.New(p.Message)
			}
		}
		return nil
	}
}

func (h *healthChecker) authCheck(ctx context.Context) error {
	switch h.s.cfg.Auth.Kind {
	case AuthLDAP:
		return h.groupCheck("LDAP")(ctx)
	case AuthHtpasswd:
		if len(h.s.cfg.Auth.Htpasswd) == 0 {
			return errors.New(HtpasswdFile + " has no users")
		}
	}
	return nil
}

func (h *healthChecker) redisPing(ctx context.Context) error {
	rc := h.s.cfg.Redis
	opts := &redis.Options{
		Addr: rc.Addr, Username: rc.Username, Password: rc.Password.Reveal(), DB: rc.DB,
		MaxRetries: -1, PoolSize: 1, DialTimeout: h.s.opts.ProbeTimeout,
		ContextTimeoutEnabled: true,
	}
	if rc.TLS {
		host, _, _ := net.SplitHostPort(rc.Addr)
		opts.TLSConfig = &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	}
	cl := redis.NewClient(opts)
	defer cl.Close()
	return cl.Ping(ctx).Err()
}
