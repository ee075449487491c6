package editor

import (
	"bytes"
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

// Session is one login (a browser's cookie, or the basic-auth clients):
// its CSRF token and one-shot message, and the user's working copy, which
// every login of the user and the basic-auth API clients share (Copy).
// Lock it around every use of Work, Base, Rev and Flash.
type Session struct {
	ID, CSRF string
	*Copy

	// Flash is a one-shot message for the next page of this login
	// (guarded by the copy's lock).
	Flash string

	lastUsed time.Time // guarded by the store's mutex
}

// Copy is a user's working copy: one per user, shared by the user's
// browser logins and the basic-auth API clients (the revision and
// If-Match rules keep them from overwriting each other), kept in memory
// for the life of the process and saved in the state directory after
// every change (state.go), so it survives a logout, a second browser and
// a restart. Lock it around every use of Work, Base and Rev.
type Copy struct {
	User string

	mu sync.Mutex
	// Work is the working copy every edit goes to; Base is the bundle as
	// loaded (for the diff).
	Work, Base *bundle.Bundle
	// Rev increments on every change of Work (starts at 1) and never goes
	// back, not across a discard or a restart.
	Rev int
	// loadedRev is Rev when Work was last loaded from the source (the
	// mounted bundle or defaults); exportedRev is Rev when Work was last
	// downloaded, pushed or saved (0: never).
	loadedRev, exportedRev int
	// Managed lists field groups the Operator manages (read-only).
	Managed []string
	// Mounted is true when Work came from a mounted bundle, false for a
	// setup session with defaults.
	Mounted bool

	// vmu guards validation: the last validation results and a running
	// online validation. It is not mu because a background validation
	// records its progress without the working copy's lock.
	vmu        sync.Mutex
	validation validationState

	budget *memBudget  // nil: not accounted
	held   int64       // bytes of Work and Base; guarded by budget.mu
	state  *stateStore // nil: not saved
}

// Lock and Unlock guard the working copy.
func (s *Copy) Lock()   { s.mu.Lock() }
func (s *Copy) Unlock() { s.mu.Unlock() }

// Changed bumps the revision after an edit of Work, accounts the bytes
// the copy now holds and saves it in the state directory (caller holds
// the lock).
func (s *Copy) Changed() {
	s.Rev++
	s.budget.hold(s, bundle.HeldBytes(s.Work, s.Base), true)
	s.state.save(s)
}

// Admit checks, before work and base become the copy's working copy and
// base, that the copy may hold them: under its own cap and, when they are
// more than it holds now, under the cap across all copies. On success the
// bytes are reserved; store the copies right away (caller holds the
// lock). The error is a *memoryError with a message for users.
func (s *Copy) Admit(work, base *bundle.Bundle) error {
	return s.budget.hold(s, bundle.HeldBytes(work, base), false)
}

// pristine reports whether Work was never changed since it was loaded
// from the source.
func (s *Copy) pristine() bool { return s.Rev == s.loadedRev }

// Unexported reports whether Work has changes that were neither
// downloaded, pushed nor saved (caller holds the lock).
func (s *Copy) Unexported() bool { return !s.pristine() && s.exportedRev != s.Rev }

// Exported records that the current revision left the editor: downloaded,
// pushed or saved (caller holds the lock).
func (s *Copy) Exported() {
	if s.exportedRev != s.Rev {
		s.exportedRev = s.Rev
		s.state.save(s)
	}
}

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

// newSession starts a login of user on the user's working copy.
func (s *Server) newSession(user string) (*Session, error) {
	cp, err := s.copyOf(user)
	if err != nil {
		return nil, err
	}
	return &Session{ID: randomToken(), CSRF: randomToken(), Copy: cp}, nil
}

// copyOf returns the user's working copy: the one in memory, else the one
// saved in the state directory, else a fresh one from the source.
func (s *Server) copyOf(user string) (*Copy, error) {
	s.copiesMu.Lock()
	defer s.copiesMu.Unlock()
	if cp := s.copies[user]; cp != nil {
		// an unchanged copy follows the files: a fresh login sees them as
		// they are now
		cp.Lock()
		defer cp.Unlock()
		if cp.pristine() {
			if err := s.load(cp); err != nil {
				return nil, err
			}
		}
		return cp, nil
	}
	cp := &Copy{User: user, budget: s.budget, state: s.state}
	if ok, err := s.state.restore(cp, s.limits); err != nil {
		s.log.Warn("the saved working copy cannot be read; starting again from the source (the file is kept aside)",
			"user", user, "err", err.Error())
	} else if ok {
		s.log.Info("working copy restored from the state directory", "user", user, "revision", cp.Rev)
		if err := cp.budget.hold(cp, bundle.HeldBytes(cp.Work, cp.Base), true); err != nil {
			return nil, err
		}
		cp.Managed = s.managedGroups()
		s.copies[user] = cp
		return cp, nil
	}
	if err := s.load(cp); err != nil {
		return nil, err
	}
	s.copies[user] = cp
	return cp, nil
}

// load (re)reads the working copy from the source (caller holds the
// lock or owns the copy exclusively). The revision goes on from where it
// was, so an If-Match of before the reload fails; a reload that finds
// exactly what the copy was loaded from keeps the revision.
func (s *Server) load(cp *Copy) error {
	var b *bundle.Bundle
	var err error
	mounted := false
	if p := s.sourcePath(); p != "" {
		b, err = bundle.Read(p, s.limits)
		mounted = true
	} else {
		b, err = bundle.New(nil, s.limits)
	}
	if err != nil {
		return err
	}
	if cp.Work != nil && cp.pristine() && cp.Mounted == mounted && sameBundle(cp.Base, b) {
		return nil
	}
	work := b.Clone()
	// the mounted bundle is within the bundle limits
	if err := cp.budget.hold(cp, bundle.HeldBytes(work, b), true); err != nil {
		return err
	}
	cp.Base, cp.Work, cp.Mounted = b, work, mounted
	cp.Rev++
	cp.loadedRev = cp.Rev
	cp.Managed = s.managedGroups()
	// a pristine copy is not saved: it is read from the source again
	return nil
}

// managedGroups are the groups shown read-only (-r and the Operator's).
func (s *Server) managedGroups() []string {
	var out []string
	for g := range s.readOnly {
		out = append(out, g)
	}
	return out
}

// sameBundle reports whether two bundles hold the same config.yaml text
// and the same files.
func sameBundle(a, b *bundle.Bundle) bool {
	if a == nil || b == nil || !bytes.Equal(a.Config().Bytes(), b.Config().Bytes()) {
		return false
	}
	an, bn := a.FileNames(), b.FileNames()
	if len(an) != len(bn) {
		return false
	}
	for i, n := range an {
		if bn[i] != n {
			return false
		}
		x, _ := a.File(n)
		y, _ := b.File(n)
		if !bytes.Equal(x, y) {
			return false
		}
	}
	return true
}

func randomToken() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on Linux
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// memBudget accounts the bundle bytes working copies hold (working copy
// and base, shared file contents once) against a cap per copy (the
// "session" of the messages: today one per user) and a cap across all, so a few small uploads that expand to large bundles
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
// caps is refused and nothing changes.
func (m *memBudget) hold(sess *Copy, n int64, force bool) error {
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

// dropLocked removes a login; its user's working copy stays.
func (st *sessionStore) dropLocked(sess *Session) {
	delete(st.byID, sess.ID)
}

// add stores a new session. When the store is full, the least recently
// used ones go (their working copy stays: it is the user's).
func (st *sessionStore) add(sess *Session) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.sweepLocked()
	for len(st.byID) > 0 && len(st.byID) >= st.max {
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
	return every(time.Minute, func() {
		st.mu.Lock()
		st.sweepLocked()
		st.mu.Unlock()
	})
}
