package editor

import (
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/quay-tools/config-editor/internal/validators"
)

// onlineRuns admits online validations: one at a time per session and at
// most max in the whole process. An online validation opens a connection
// per service and a few goroutines per probe for up to its deadline, so
// without a bound a client firing many at once could exhaust descriptors.
// Offline validations open no socket and are not limited. A request that is
// not admitted is refused at once with a clear message (it does not queue:
// a waiting request would hold its connection and goroutine just as well).
type onlineRuns struct {
	max int

	mu      sync.Mutex
	running map[string]time.Time // session ID -> start of its run
}

func newOnlineRuns(max int) *onlineRuns {
	return &onlineRuns{max: max, running: map[string]time.Time{}}
}

// runRefusal says why an online validation was not started.
type runRefusal struct {
	status int // 409: this session already runs one; 503: the process is full
	msg    string
}

// start admits a run for the session; release must be called when it ends.
func (r *onlineRuns) start(sessionID string, now time.Time) (release func(), refused *runRefusal) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if since, busy := r.running[sessionID]; busy {
		return nil, &runRefusal{status: http.StatusConflict, msg: fmt.Sprintf(
			"An online validation of this session is already running (started %s ago); wait for it to finish, then validate again.",
			now.Sub(since).Round(time.Second))}
	}
	if len(r.running) >= r.max {
		return nil, &runRefusal{status: http.StatusServiceUnavailable, msg: fmt.Sprintf(
			"The editor is busy: %d online validations are running, its limit; retry in a few seconds.", len(r.running))}
	}
	r.running[sessionID] = now
	var once sync.Once
	return func() {
		once.Do(func() {
			r.mu.Lock()
			delete(r.running, sessionID)
			r.mu.Unlock()
		})
	}, nil
}

// retryAfter is the Retry-After of a refusal: about one probe deadline.
func (s *Server) retryAfter(c echo.Context) {
	d := s.cfg.ValidateTimeout
	if d <= 0 {
		d = validators.DefaultTimeout
	}
	secs := int((d + time.Second - 1) / time.Second)
	if secs < 1 {
		secs = 1
	}
	c.Response().Header().Set("Retry-After", strconv.Itoa(secs))
}
