// Package validators owns the rules of every field group: offline rules
// (cross-field checks, certificates, location references) and online
// probes that prove a service really answers. One file per field group;
// the keys of a group come from the schema catalogue.
//
// A validation runs: schema structural check -> offline rules -> (online)
// probes, concurrently, each bounded by its own deadline -> sorted problems.
package validators

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/quay-tools/config-editor/internal/bundle"
	"github.com/quay-tools/config-editor/internal/problem"
	"github.com/quay-tools/config-editor/internal/schema"
)

// Mode selects whether probes run.
type Mode string

const (
	// Offline opens no socket at all.
	Offline Mode = "offline"
	// Online also connects to every configured service.
	Online Mode = "online"
)

// ParseMode reads a mode name; "" means offline.
func ParseMode(s string) (Mode, error) {
	switch strings.ToLower(s) {
	case "", "offline":
		return Offline, nil
	case "online":
		return Online, nil
	}
	return "", fmt.Errorf("unknown mode %q (want offline or online)", s)
}

// DefaultTimeout bounds each probe.
const DefaultTimeout = 5 * time.Second

// Options tune one validation.
type Options struct {
	Mode        Mode
	Timeout     time.Duration // per probe; DefaultTimeout when 0
	Concurrency int           // probes in flight; 32 when 0
	Now         time.Time     // the clock for certificate checks; time.Now() when zero
	Groups      []string      // only these field groups; all when empty
	// Probe, when set, picks the online probes that run by their name
	// (Probe.Name: "storage location \"us\"", "AZURE_LOGIN_CONFIG"); the
	// others are skipped, their groups' offline rules still run.
	Probe func(group, name string) bool
	// OnGroup, when set, is called once per field group as soon as all of
	// that group's checks are done, with that group's problems (sorted).
	// Calls are serialised.
	OnGroup func(group string, problems []problem.Problem)
	// OnPassed, when set, is called for each fact an online probe proved
	// (Severity problem.Passed: "connected to PostgreSQL 15.4 …", "3 users
	// matched"), scrubbed like problems. Calls are serialised with OnGroup.
	// Passed records are never part of the returned problems.
	OnPassed func(p problem.Problem)
	// Catalogue overrides the embedded catalogue (tests).
	Catalogue *schema.Catalogue
	// Hosted overrides the fixed addresses of hosted services (tests).
	Hosted HostedEndpoints
}

// HostedEndpoints are the addresses of hosted services that a config cannot
// name itself. Empty fields mean the real services.
type HostedEndpoints struct {
	GoogleToken    string                     // https://oauth2.googleapis.com/token
	BitbucketToken string                     // https://bitbucket.org/site/oauth2/access_token
	STS            string                     // https://sts.amazonaws.com
	Kinesis        func(region string) string // https://kinesis.<region>.amazonaws.com/
}

func (h HostedEndpoints) withDefaults() HostedEndpoints {
	if h.GoogleToken == "" {
		h.GoogleToken = "https://oauth2.googleapis.com/token"
	}
	if h.BitbucketToken == "" {
		h.BitbucketToken = "https://bitbucket.org/site/oauth2/access_token"
	}
	if h.STS == "" {
		h.STS = "https://sts.amazonaws.com"
	}
	if h.Kinesis == nil {
		h.Kinesis = func(region string) string { return "https://kinesis." + region + ".amazonaws.com/" }
	}
	return h
}

// Probe is one online proof: one service, one deadline.
type Probe struct {
	Name string // what is probed, e.g. "BUILDLOGS_REDIS" or "storage location us"
	Run  func(ctx context.Context, l *problem.List)
}

// Check is the rule set of one field group.
type Check struct {
	Group string
	// Offline records problems found without any network access.
	Offline func(c *Context, l *problem.List)
	// Probes lists the online proofs for this bundle (none when the group
	// is unused). nil means the group has no online proof implemented.
	Probes func(c *Context) []Probe
	// OnlineProof describes what an online check of the group would prove;
	// set when Probes is nil but the group talks to a service, so online
	// mode can say the check is not available instead of pretending.
	OnlineProof string
}

// Validate runs every check on the bundle and returns all problems, sorted
// by group then path. It never stops at the first problem.
func Validate(ctx context.Context, b *bundle.Bundle, opts Options) []problem.Problem {
	if opts.Catalogue == nil {
		opts.Catalogue = schema.Get()
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = 32
	}
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	if opts.Mode == "" {
		opts.Mode = Offline
	}
	c := newContext(b, opts)
	// The trust store (the system's CAs, then the bundle's; about 10 ms of
	// CPU) is loaded by the first probe that needs it, not up front: a
	// bundle whose servers speak no TLS, or whose certificates fail on
	// their own (host name, validity), never needs it.
	defer c.preloads.Wait()
	want := map[string]bool{}
	for _, g := range opts.Groups {
		want[g] = true
	}
	selected := func(group string) bool { return len(want) == 0 || want[group] }

	checks := allChecks()

	// The state the probes and the offline phase share. A group is handed
	// to OnGroup once the offline phase is over and its last probe is done;
	// problems get their lines (finish) only after the offline phase, so
	// the document is never read from two goroutines at once.
	var (
		mu          sync.Mutex
		byGroup     = map[string][]problem.Problem{}
		waiting     = map[string]int{}
		offlineDone bool
		passedEarly []problem.Problem // proved before the offline phase was over
	)
	emit := func(group string) { // under mu
		if opts.OnGroup != nil {
			opts.OnGroup(group, c.finish(byGroup[group]))
		}
	}
	passed := func(p problem.Problem) { // under mu
		if opts.OnPassed != nil {
			opts.OnPassed(c.finish([]problem.Problem{p})[0])
		}
	}

	// Online, the probes start first: they wait on their servers while the
	// schema check and the offline rules use the CPU.
	var wg sync.WaitGroup
	if opts.Mode == Online {
		sem := make(chan struct{}, opts.Concurrency)
		for _, chk := range checks {
			if !selected(chk.Group) || chk.Probes == nil {
				continue
			}
			var (
				probes []Probe
				l      problem.List
			)
			safely(chk.Group, &l, func() { probes = chk.Probes(c) })
			if opts.Probe != nil {
				probes = slices.DeleteFunc(probes, func(pr Probe) bool { return !opts.Probe(chk.Group, pr.Name) })
			}
			mu.Lock()
			byGroup[chk.Group] = append(byGroup[chk.Group], l...)
			waiting[chk.Group] += len(probes)
			mu.Unlock()
			for _, pr := range probes {
				wg.Add(1)
				go func(group string, pr Probe) {
					defer wg.Done()
					sem <- struct{}{}
					defer func() { <-sem }()
					l := runProbe(ctx, group, pr, opts.Timeout)
					mu.Lock()
					defer mu.Unlock()
					for _, p := range l {
						switch {
						case p.Severity != problem.Passed:
							byGroup[group] = append(byGroup[group], p)
						case offlineDone:
							passed(p)
						default:
							passedEarly = append(passedEarly, p)
						}
					}
					waiting[group]--
					if waiting[group] == 0 && offlineDone {
						emit(group)
					}
				}(chk.Group, pr)
			}
		}
	}

	offline := map[string][]problem.Problem{}
	for _, p := range opts.Catalogue.Validate(b.Config()) {
		if selected(p.FieldGroup) {
			offline[p.FieldGroup] = append(offline[p.FieldGroup], p)
		}
	}
	for _, chk := range checks {
		if !selected(chk.Group) {
			continue
		}
		var l problem.List
		if chk.Offline != nil {
			safely(chk.Group, &l, func() { chk.Offline(c, &l) })
		}
		if opts.Mode == Online && chk.Probes == nil && chk.OnlineProof != "" && c.groupInUse(chk.Group) {
			l = append(l, problem.Problem{FieldGroup: chk.Group, Tags: []string{}, Severity: problem.Warning,
				Message: fmt.Sprintf("The online check of %s (%s) is not available in this version; only offline rules were applied.", chk.Group, chk.OnlineProof)})
		}
		offline[chk.Group] = append(offline[chk.Group], l...)
	}

	mu.Lock()
	for g, ps := range offline {
		byGroup[g] = append(byGroup[g], ps...)
	}
	offlineDone = true
	for _, p := range passedEarly {
		passed(p)
	}
	for g := range byGroup {
		if waiting[g] == 0 {
			emit(g)
		}
	}
	mu.Unlock()

	wg.Wait()
	var all []problem.Problem
	for _, ps := range byGroup {
		all = append(all, ps...)
	}
	return c.finish(all)
}

// runProbe runs one probe under its own deadline and scope: when it
// returns, the probe's context is cancelled and every connection and HTTP
// transport the probe opened is closed, so nothing outlives the call.
func runProbe(parent context.Context, group string, pr Probe, timeout time.Duration) problem.List {
	ctx, cancel := context.WithTimeout(parent, timeout)
	ctx, scope := withScope(ctx)
	defer func() {
		cancel()
		scope.end()
	}()
	var l problem.List
	safely(group, &l, func() { pr.Run(ctx, &l) })
	if errors.Is(ctx.Err(), context.DeadlineExceeded) && !problem.HasErrors(l) {
		l.ErrorTags(group, nil, []string{}, "%s: no answer within %s; the check was abandoned.", pr.Name, timeout)
	}
	return l
}

// safely turns a panic in a rule into a problem: one bad rule must not
// abort the whole validation.
func safely(group string, l *problem.List, f func()) {
	defer func() {
		if r := recover(); r != nil {
			l.ErrorTags(group, nil, []string{}, "internal error in the %s rules: %v", group, r)
		}
	}()
	f()
}

// finish scrubs secrets from messages, fills in lines and sorts.
func (c *Context) finish(ps []problem.Problem) []problem.Problem {
	out := make([]problem.Problem, 0, len(ps))
	for _, p := range ps {
		p.Message = c.scrub.Scrub(p.Message)
		if p.Tags == nil {
			p.Tags = []string{}
		}
		if p.Severity == "" {
			p.Severity = problem.Error
		}
		if p.Line == 0 && p.Path != nil {
			p.Line = c.Bundle.Config().Line(p.Path.Segments()...)
		}
		out = append(out, p)
	}
	problem.Sort(out)
	return out
}
