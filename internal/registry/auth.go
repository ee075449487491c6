package registry

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/distribution/distribution/v3/registry/auth"
	"github.com/go-ldap/ldap/v3"
	"golang.org/x/crypto/bcrypt"

	"github.com/quay-tools/config-editor/internal/bundle"
	"github.com/quay-tools/config-editor/internal/validators"
)

// Who may push and pull.
//
// Credentials are checked in front of distribution (HTTP Basic, against
// registry.htpasswd or LDAP), with failed logins rate-limited per client
// address; distribution's access controller then decides per repository
// and action:
//
//	pull    anyone logged in; anonymous only with FEATURE_ANONYMOUS_ACCESS
//	push    a user into their own namespace (<user>/...); superusers anywhere
//	delete  superusers (SUPER_USERS)
//	catalog anyone logged in; anonymous only with FEATURE_ANONYMOUS_ACCESS
//
// A logged-in user asking for more than that gets 403 DENIED; an anonymous
// one gets 401 with a Basic challenge, which makes clients log in.

const accessControllerName = "config-editor"

// Login limits: failed logins per client address per window before 429.
const (
	loginFailures = 10
	loginWindow   = time.Minute
	// credentialTTL is how long a verified login is remembered, so a push
	// of many blobs costs one bcrypt or LDAP bind, not one per request.
	credentialTTL = time.Minute
	ldapTimeout   = 5 * time.Second
)

// errAuthUnavailable marks a login that could not be checked (LDAP down).
var errAuthUnavailable = errors.New("the login could not be checked")

type authenticator struct {
	cfg     AuthConfig
	bundle  *bundle.Bundle
	realm   string
	super   map[string]bool
	limiter *loginLimiter
	now     func() time.Time
	// ldapTimeout bounds one LDAP login check.
	ldapTimeout time.Duration

	key      [32]byte // keys the verified-credential cache
	mu       sync.Mutex
	verified map[[32]byte]verifiedLogin
	// dummy is compared against when the user is unknown, so a wrong user
	// name costs as long as a wrong password.
	dummy []byte
}

type verifiedLogin struct {
	user    string
	expires time.Time
}

func newAuthenticator(cfg AuthConfig, b *bundle.Bundle, realm string) *authenticator {
	a := &authenticator{
		cfg: cfg, bundle: b, realm: realm,
		super:    map[string]bool{},
		limiter:  newLoginLimiter(loginFailures, loginWindow, time.Now),
		now:      time.Now,
		verified: map[[32]byte]verifiedLogin{},

		ldapTimeout: ldapTimeout,
	}
	for _, u := range cfg.SuperUsers {
		a.super[u] = true
	}
	_, _ = rand.Read(a.key[:])
	a.dummy, _ = bcrypt.GenerateFromPassword(a.key[:16], bcrypt.DefaultCost)
	return a
}

// verify checks a login and returns the canonical user name.
func (a *authenticator) verify(ctx context.Context, user, pass string) (string, error) {
	if user == "" || pass == "" {
		return "", nil // never an unauthenticated LDAP bind
	}
	m := hmac.New(sha256.New, a.key[:])
	m.Write([]byte(user))
	m.Write([]byte{0})
	m.Write([]byte(pass))
	var k [32]byte
	copy(k[:], m.Sum(nil))
	now := a.now()
	a.mu.Lock()
	if v, ok := a.verified[k]; ok && now.Before(v.expires) {
		a.mu.Unlock()
		return v.user, nil
	}
	a.mu.Unlock()

	var name string
	var err error
	switch a.cfg.Kind {
	case AuthHtpasswd:
		name = a.verifyHtpasswd(user, pass)
	case AuthLDAP:
		name, err = a.verifyLDAP(ctx, user, pass)
	}
	if err != nil || name == "" {
		return "", err
	}
	a.mu.Lock()
	if len(a.verified) > 10000 {
		for kk, v := range a.verified {
			if !now.Before(v.expires) {
				delete(a.verified, kk)
			}
		}
		if len(a.verified) > 10000 {
			a.verified = map[[32]byte]verifiedLogin{}
		}
	}
	a.verified[k] = verifiedLogin{user: name, expires: now.Add(credentialTTL)}
	a.mu.Unlock()
	return name, nil
}

func (a *authenticator) verifyHtpasswd(user, pass string) string {
	hash, ok := a.cfg.Htpasswd[user]
	if !ok {
		_ = bcrypt.CompareHashAndPassword(a.dummy, []byte(pass))
		return ""
	}
	if bcrypt.CompareHashAndPassword(hash, []byte(pass)) != nil {
		return ""
	}
	return user
}

// verifyLDAP binds as the admin, finds the user's entry under the user
// search bases, then binds as that entry with the password, as Quay does.
func (a *authenticator) verifyLDAP(ctx context.Context, user, pass string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, a.ldapTimeout)
	defer cancel()
	conn, _, err := validators.LDAPConnect(ctx, a.bundle)
	if err != nil {
		return "", fmt.Errorf("%w: %v", errAuthUnavailable, err)
	}
	defer conn.Close()
	if err := conn.Bind(a.cfg.LDAP.AdminDN, a.cfg.LDAP.AdminPass); err != nil {
		return "", fmt.Errorf("%w: binding as LDAP_ADMIN_DN failed: %v", errAuthUnavailable, ldapWords(err))
	}
	filter := "(" + a.cfg.LDAP.UIDAttr + "=" + ldap.EscapeFilter(user) + ")"
	if a.cfg.LDAP.UserFilter != "" {
		filter = "(&" + filter + a.cfg.LDAP.UserFilter + ")"
	}
	var entries []*ldap.Entry
	for _, base := range a.cfg.LDAP.Bases {
		res, err := conn.Search(ldap.NewSearchRequest(base, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 2, 0, false,
			filter, []string{a.cfg.LDAP.UIDAttr}, nil))
		if err != nil {
			if ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
				continue
			}
			if ldap.IsErrorWithCode(err, ldap.LDAPResultSizeLimitExceeded) {
				return "", nil // ambiguous: refuse
			}
			return "", fmt.Errorf("%w: searching %q failed: %v", errAuthUnavailable, base, ldapWords(err))
		}
		entries = append(entries, res.Entries...)
	}
	if len(entries) != 1 {
		return "", nil // unknown, or ambiguous
	}
	if err := conn.Bind(entries[0].DN, pass); err != nil {
		if ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidCredentials) {
			return "", nil
		}
		return "", fmt.Errorf("%w: binding as the user failed: %v", errAuthUnavailable, ldapWords(err))
	}
	if v := entries[0].GetAttributeValue(a.cfg.LDAP.UIDAttr); v != "" {
		return v, nil
	}
	return user, nil
}

func ldapWords(err error) string {
	var le *ldap.Error
	if errors.As(err, &le) {
		return fmt.Sprintf("%s (LDAP result %d)", ldap.LDAPResultCodeMap[le.ResultCode], le.ResultCode)
	}
	return err.Error()
}

// may reports whether user ("" for anonymous) may do action on resource.
func (a *authenticator) may(user string, acc auth.Access) bool {
	switch acc.Type {
	case "repository":
		switch acc.Action {
		case "pull":
			return user != "" || a.cfg.Anonymous
		case "push":
			// repository names are lower case; LDAP user names may not be
			return user != "" && (a.super[user] || strings.EqualFold(namespaceOf(acc.Name), user))
		case "delete", "*":
			return user != "" && a.super[user]
		}
	case "registry":
		if acc.Name == "catalog" {
			return user != "" || a.cfg.Anonymous
		}
	}
	return false
}

func namespaceOf(repo string) string {
	ns, _, ok := strings.Cut(repo, "/")
	if !ok {
		return ""
	}
	return ns
}

// reqState travels in a request's context from the front door to the
// access controller and back.
type reqState struct {
	user   string
	denied bool // a logged-in user asked for more than they may do
}

type stateKey struct{}

func stateFrom(ctx context.Context) *reqState {
	st, _ := ctx.Value(stateKey{}).(*reqState)
	return st
}

// accessController is distribution's view of the authenticator.
type accessController struct{ a *authenticator }

func (c accessController) Authorized(r *http.Request, access ...auth.Access) (*auth.Grant, error) {
	st := stateFrom(r.Context())
	if st == nil {
		return nil, challenge{realm: c.a.realm}
	}
	if st.user == "" && (!c.a.cfg.Anonymous || len(access) == 0) {
		// Nothing without a login; and the base route (/v2/) always asks
		// for one, so clients that hold credentials send them (they decide
		// from its answer), while clients without try anonymously.
		return nil, challenge{realm: c.a.realm}
	}
	g := &auth.Grant{User: auth.UserInfo{Name: st.user}}
	for _, acc := range access {
		if !c.a.may(st.user, acc) {
			if st.user != "" {
				st.denied = true
			}
			return nil, challenge{realm: c.a.realm, err: fmt.Sprintf("%s on %s %s", acc.Action, acc.Type, acc.Name)}
		}
		g.Resources = append(g.Resources, acc.Resource)
	}
	return g, nil
}

var (
	controllersMu sync.Mutex
	controllers   = map[string]*authenticator{}
	controllerSeq int
)

func init() {
	_ = auth.Register(accessControllerName, func(options map[string]any) (auth.AccessController, error) {
		id, _ := options["instance"].(string)
		controllersMu.Lock()
		defer controllersMu.Unlock()
		a, ok := controllers[id]
		if !ok {
			return nil, fmt.Errorf("access controller instance %q was not prepared by config-editor", id)
		}
		delete(controllers, id)
		return accessController{a}, nil
	})
}

func prepareController(a *authenticator) (string, func()) {
	controllersMu.Lock()
	defer controllersMu.Unlock()
	controllerSeq++
	id := fmt.Sprint(controllerSeq)
	controllers[id] = a
	return id, func() {
		controllersMu.Lock()
		delete(controllers, id)
		controllersMu.Unlock()
	}
}

// challenge asks for HTTP Basic credentials.
type challenge struct {
	realm string
	err   string
}

func (c challenge) Error() string {
	if c.err != "" {
		return "authentication required for " + c.err
	}
	return "authentication required"
}

func (c challenge) SetHeaders(_ *http.Request, w http.ResponseWriter) {
	w.Header().Set("WWW-Authenticate", fmt.Sprintf("Basic realm=%q, charset=\"UTF-8\"", c.realm))
}

// loginLimiter counts failed logins per client address in a sliding window.
type loginLimiter struct {
	mu     sync.Mutex
	max    int
	window time.Duration
	now    func() time.Time
	fails  map[string][]time.Time
}

func newLoginLimiter(max int, window time.Duration, now func() time.Time) *loginLimiter {
	return &loginLimiter{max: max, window: window, now: now, fails: map[string][]time.Time{}}
}

// wait returns how long addr must wait before its next try (0: now).
func (l *loginLimiter) wait(addr string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	ts := l.prune(addr)
	if len(ts) < l.max {
		return 0
	}
	return ts[len(ts)-l.max].Add(l.window).Sub(l.now())
}

func (l *loginLimiter) fail(addr string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.fails[addr] = append(l.prune(addr), l.now())
	if len(l.fails) > 10000 {
		for k := range l.fails {
			l.prune(k)
		}
	}
}

func (l *loginLimiter) prune(addr string) []time.Time {
	ts := l.fails[addr]
	cut := l.now().Add(-l.window)
	i := 0
	for i < len(ts) && !ts[i].After(cut) {
		i++
	}
	ts = ts[i:]
	if len(ts) == 0 {
		delete(l.fails, addr)
		return nil
	}
	l.fails[addr] = ts
	return ts
}

// clientAddr is the peer's IP address (proxies in front are not trusted
// to say who the client is).
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
