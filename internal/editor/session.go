package editor

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/quay-tools/config-editor/internal/bundle"
)

// Session is one login: its CSRF token and its working copy of the bundle.
// Lock it around every use of Work, Base, Rev and Flash.
type Session struct {
	ID, User, CSRF string

	mu sync.Mutex
	// Work is the working copy every edit goes to; Base is the bundle as
	// loaded (for the diff).
	Work, Base *bundle.Bundle
	// Rev increments on every change of Work (starts at 1).
	Rev int
	// Managed lists field groups the Operator manages (read-only).
	Managed []string
	// Mounted is true when Work came from a mounted bundle, false for a
	// setup session with defaults.
	Mounted bool
	// Flash is a one-shot message for the next page.
	Flash string

	// vmu guards validation: the last validation results and a running
	// online validation. It is not mu because a background validation
	// records its progress without the working copy's lock.
	vmu        sync.Mutex
	validation validationState

	lastUsed time.Time // guarded by the store's mutex

	budget  *memBudget // nil: not accounted
	held    int64      // bytes of Work and Base; guarded by budget.mu
	dropped bool       // left the store; guarded by budget.mu
}

// Lock and Unlock guard the working copy.
func (s *Session) Lock()   { s.mu.Lock() }
func (s *Session) Unlock() { s.mu.Unlock() }

// Changed bumps the revision after an edit of Work and accounts the bytes
// the session now holds (caller holds the lock).
func (s *Session) Changed() {
	s.Rev++
	s.budget.hold(s, bundle.HeldBytes(s.Work, s.Base), true)
}

// Admit checks, before work and base become the session's working copy
// and base, that the session may hold them: under its own cap and, when
// they are more than it holds now, under the cap across all sessions. On
// success the bytes are reserved; store the copies right away (caller
// holds the lock). The error is a *memoryError with a message for users.
func (s *Session) Admit(work, base *bundle.Bundle) error {
	return s.budget.hold(s, bundle.HeldBytes(work, base), false)
}

// pristine reports whether Work was never changed since it was loaded.
func (s *Session) pristine() bool { return s.Rev == 1 }

const ctxSession = "editor.session"
const ctxBasic = "editor.basic"

// sessionOf returns the session of an authenticated request (a login
// session, or the shared session of basic-auth API clients); nil otherwise.
func (s *Server) sessionOf(c echo.Context) *Session {
	sess, _ := c.Get(ctxSession).(*Session)
	return sess
}

// viaBasic reports whether the request authenticated with HTTP basic auth.
func viaBasic(c echo.Context) bool {
	b, _ := c.Get(ctxBasic).(bool)
	return b
}

// newSession loads the working copy: the mounted bundle as it is on disk
// now (so a fresh login sees the current files), or an empty config for a
// setup session (defaults are shown, never written).
func (s *Server) newSession(user string) (*Session, error) {
	sess := &Session{ID: randomToken(), User: user, CSRF: randomToken(), budget: s.budget}
	if err := s.load(sess); err != nil {
		return nil, err
	}
	return sess, nil
}

// load (re)reads the working copy from the source; caller holds the lock
// or owns the session exclusively.
func (s *Server) load(sess *Session) error {
	var b *bundle.Bundle
	var err error
	if s.cfg.BundlePath != "" {
		b, err = bundle.Read(s.cfg.BundlePath, s.limits)
		sess.Mounted = true
	} else {
		b, err = bundle.New(nil, s.limits)
	}
	if err != nil {
		return err
	}
	work := b.Clone()
	// the mounted bundle is within the bundle limits; a login that takes
	// the editor over its total evicts the least recently used sessions
	if err := sess.budget.hold(sess, bundle.HeldBytes(work, b), true); err != nil {
		return err
	}
	sess.Base, sess.Work, sess.Rev = b, work, 1
	sess.Managed = nil
	for g := range s.readOnly {
		sess.Managed = append(sess.Managed, g)
	}
	return nil
}

func randomToken() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on Linux
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// memBudget accounts the bundle bytes sessions hold (working copy and
// base, shared file contents once) against a cap per session and a cap
// across all sessions, so a few small uploads that expand to large bundles
// cannot fill the memory.
type memBudget struct {
	mu         sync.Mutex
	total      int64
	perSession int64
	max        int64
}

// memoryError is a refusal by the budget; Status is the HTTP status.
type memoryError struct {
	Status int
	msg    string
}

func (e *memoryError) Error() string { return e.msg }

// memoryStatus is the HTTP status of a refusal by the budget (422 for
// other errors).
func memoryStatus(err error) int {
	var me *memoryError
	if errors.As(err, &me) {
		return me.Status
	}
	return http.StatusUnprocessableEntity
}

// hold sets what sess holds to n bytes. Unless force, growth past the
// caps is refused and nothing changes. A session that left the store is
// not counted.
func (m *memBudget) hold(sess *Session, n int64, force bool) error {
	if m == nil {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if !force && n > sess.held {
		if n > m.perSession {
			return &memoryError{Status: http.StatusRequestEntityTooLarge, msg: fmt.Sprintf(
				"the working copy and the bundle it was loaded from would hold %s, over the limit of %s per session; remove files or use a smaller bundle",
				sizeText(n), sizeText(m.perSession))}
		}
		if m.total-sess.held+n > m.max {
			return &memoryError{Status: http.StatusServiceUnavailable, msg: fmt.Sprintf(
				"the editor already holds %s of working copies across its sessions and this change needs %s more, over its limit of %s; log out of unused sessions or try again when idle ones expire",
				sizeText(m.total), sizeText(n-sess.held), sizeText(m.max))}
		}
	}
	if sess.dropped {
		return nil
	}
	m.total += n - sess.held
	sess.held = n
	return nil
}

// sizeText shows a byte count with one decimal: "1.5 MiB", "900.0 KiB".
func sizeText(n int64) string {
	switch {
	case n >= 1<<20:
		return strconv.FormatFloat(float64(n)/(1<<20), 'f', 1, 64) + " MiB"
	case n >= 1<<10:
		return strconv.FormatFloat(float64(n)/(1<<10), 'f', 1, 64) + " KiB"
	}
	return strconv.FormatInt(n, 10) + " bytes"
}

// release stops counting a session that left the store.
func (m *memBudget) release(sess *Session) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if !sess.dropped {
		m.total -= sess.held
		sess.held, sess.dropped = 0, true
	}
}

// over reports whether the sessions hold more than the total cap.
func (m *memBudget) over() bool {
	if m == nil {
		return false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.total > m.max
}

// Held returns the bytes all sessions hold.
func (m *memBudget) Held() int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.total
}

// sessionStore keeps sessions in memory with an idle expiry.
type sessionStore struct {
	mu    sync.Mutex
	byID  map[string]*Session
	basic *Session // shared working copy of basic-auth clients
	ttl   time.Duration
	max   int
	now   func() time.Time
}

func newSessionStore(ttl time.Duration, max int, now func() time.Time) *sessionStore {
	return &sessionStore{byID: map[string]*Session{}, ttl: ttl, max: max, now: now}
}

// dropLocked removes a session and stops counting its bytes.
func (st *sessionStore) dropLocked(sess *Session) {
	delete(st.byID, sess.ID)
	sess.budget.release(sess)
}

// add stores a new session. When the store is full, or the sessions hold
// more bytes than the total cap, the least recently used ones go.
func (st *sessionStore) add(sess *Session) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.sweepLocked()
	for len(st.byID) > 0 && (len(st.byID) >= st.max || sess.budget.over()) {
		var oldest *Session
		for _, o := range st.byID {
			if oldest == nil || o.lastUsed.Before(oldest.lastUsed) {
				oldest = o
			}
		}
		st.dropLocked(oldest)
	}
	sess.lastUsed = st.now()
	st.byID[sess.ID] = sess
}

// get returns a live session and refreshes its idle timer.
func (st *sessionStore) get(id string) *Session {
	st.mu.Lock()
	defer st.mu.Unlock()
	sess := st.byID[id]
	if sess == nil {
		return nil
	}
	now := st.now()
	if now.Sub(sess.lastUsed) > st.ttl {
		st.dropLocked(sess)
		return nil
	}
	sess.lastUsed = now
	return sess
}

func (st *sessionStore) remove(id string) {
	st.mu.Lock()
	if sess := st.byID[id]; sess != nil {
		st.dropLocked(sess)
	}
	st.mu.Unlock()
}

func (st *sessionStore) count() int {
	st.mu.Lock()
	defer st.mu.Unlock()
	return len(st.byID)
}

// basicSession returns the shared session of basic-auth clients, creating
// it with create when missing or idle too long.
func (st *sessionStore) basicSession(create func() (*Session, error)) (*Session, error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	now := st.now()
	if st.basic != nil && now.Sub(st.basic.lastUsed) <= st.ttl {
		st.basic.lastUsed = now
		return st.basic, nil
	}
	sess, err := create()
	if err != nil {
		return nil, err
	}
	if st.basic != nil {
		st.basic.budget.release(st.basic)
	}
	sess.lastUsed = now
	st.basic = sess
	return sess, nil
}

func (st *sessionStore) sweepLocked() {
	now := st.now()
	for _, sess := range st.byID {
		if now.Sub(sess.lastUsed) > st.ttl {
			st.dropLocked(sess)
		}
	}
}

// startSweeper drops expired sessions every minute until stopped.
func (st *sessionStore) startSweeper() (stop func()) {
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(time.Minute)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				st.mu.Lock()
				st.sweepLocked()
				st.mu.Unlock()
			}
		}
	}()
	return func() { close(done) }
}
