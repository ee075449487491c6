package editor

import (
	"crypto/rand"
	"encoding/base64"
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

	lastUsed time.Time // guarded by the store's mutex
}

// Lock and Unlock guard the working copy.
func (s *Session) Lock()   { s.mu.Lock() }
func (s *Session) Unlock() { s.mu.Unlock() }

// Changed bumps the revision after an edit of Work (caller holds the lock).
func (s *Session) Changed() { s.Rev++ }

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
	sess := &Session{ID: randomToken(), User: user, CSRF: randomToken()}
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
	sess.Base, sess.Work, sess.Rev = b, b.Clone(), 1
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

func (st *sessionStore) add(sess *Session) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.sweepLocked()
	if len(st.byID) >= st.max {
		var oldest *Session
		for _, o := range st.byID {
			if oldest == nil || o.lastUsed.Before(oldest.lastUsed) {
				oldest = o
			}
		}
		delete(st.byID, oldest.ID)
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
		delete(st.byID, id)
		return nil
	}
	sess.lastUsed = now
	return sess
}

func (st *sessionStore) remove(id string) {
	st.mu.Lock()
	delete(st.byID, id)
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
	sess.lastUsed = now
	st.basic = sess
	return sess, nil
}

func (st *sessionStore) sweepLocked() {
	now := st.now()
	for id, sess := range st.byID {
		if now.Sub(sess.lastUsed) > st.ttl {
			delete(st.byID, id)
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
