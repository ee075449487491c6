package registry

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	storagedriver "github.com/distribution/distribution/v3/registry/storage/driver"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/opencontainers/go-digest"

	"github.com/quay-tools/config-editor/internal/validators"
)

// The replication queue (FEATURE_STORAGE_REPLICATION).
//
// It lives in the bundle's PostgreSQL (DB_URI), in two tables the runtime
// creates when missing:
//
//   - config_editor_replication_queue: one row per (operation, path, target
//     location): copy a blob to a location, or delete a path there. state is
//     queued, done or failed; a queued row whose lease_until is in the
//     future is in flight.
//   - config_editor_replication_claims: one row per claim (item, claim
//     token, worker, claimed_at, lease_until, released_at), the history that
//     shows no item was held by two workers at once.
//
// Workers of every registry process sharing the database claim rows with
// FOR UPDATE SKIP LOCKED and a lease (Options.ReplicationLease) they renew
// while they work; a worker killed mid-copy stops renewing, its lease runs
// out and another worker claims the row again. Only the holder of the
// current claim token can settle a row. A failure is retried with
// exponential backoff; after replicationMaxAttempts the row is failed. A
// copy is done only once the bytes read back from the target location have
// the blob's digest. All times are the database's, so the processes' clocks
// do not matter.

const (
	queueTable  = "config_editor_replication_queue"
	claimsTable = "config_editor_replication_claims"
	totalsTable = "config_editor_replication_totals"

	opCopy   = "copy"
	opDelete = "delete"

	replicationMaxAttempts = 12
)

const queueSchema = `
CREATE TABLE IF NOT EXISTS ` + queueTable + ` (
	id          BIGSERIAL PRIMARY KEY,
	op          TEXT NOT NULL,
	path        TEXT NOT NULL,
	digest      TEXT NOT NULL DEFAULT '',
	source      TEXT NOT NULL DEFAULT '',
	target      TEXT NOT NULL,
	state       TEXT NOT NULL DEFAULT 'queued',
	attempts    INT NOT NULL DEFAULT 0,
	not_before  TIMESTAMPTZ NOT NULL DEFAULT now(),
	lease_until TIMESTAMPTZ,
	claim_token TEXT,
	claimed_by  TEXT,
	last_error  TEXT,
	created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
	done_at     TIMESTAMPTZ
);
CREATE UNIQUE INDEX IF NOT EXISTS ` + queueTable + `_pending ON ` + queueTable + ` (op, target, path) WHERE state = 'queued';
CREATE INDEX IF NOT EXISTS ` + queueTable + `_ready ON ` + queueTable + ` (not_before, id) WHERE state = 'queued';
CREATE TABLE IF NOT EXISTS ` + claimsTable + ` (
	item_id     BIGINT NOT NULL,
	token       TEXT PRIMARY KEY,
	worker      TEXT NOT NULL,
	claimed_at  TIMESTAMPTZ NOT NULL,
	lease_until TIMESTAMPTZ NOT NULL,
	released_at TIMESTAMPTZ
);
CREATE INDEX IF NOT EXISTS ` + claimsTable + `_item ON ` + claimsTable + ` (item_id);
CREATE INDEX IF NOT EXISTS ` + queueTable + `_done ON ` + queueTable + ` (done_at) WHERE state = 'done';
CREATE TABLE IF NOT EXISTS ` + totalsTable + ` (
	state TEXT PRIMARY KEY,
	items BIGINT NOT NULL
);
`

// queueLockKey serialises the schema creation of concurrent starts.
const queueLockKey = 0x636f6e6669676564 // "configed"

// ReplicationOptions tune the replication workers.
type ReplicationOptions struct {
	Workers   int           // copy workers in this process (default 2; 0 from the CLI means none)
	Lease     time.Duration // how long a claim lasts without renewal (default 1m)
	Backoff   time.Duration // first retry delay, doubled per attempt (default 2s, at most 10m)
	Poll      time.Duration // idle poll interval (default 1s)
	Bandwidth int64         // bytes per second per copy, 0 = unlimited
	// Retention is how long done rows stay in the queue table (default
	// 24h; negative: forever). Pruned rows are counted in the totals
	// table, so the done count /metrics shows never goes down.
	Retention time.Duration
	// YieldBandwidth is the bytes per second all copies of this process
	// share while the front door serves a blob upload (default 4 MiB/s;
	// negative: copies never yield). See yield.go.
	YieldBandwidth int64
	// YieldLinger is how long copies go on yielding after the last upload
	// ended (default 250ms; negative: none).
	YieldLinger time.Duration
}

// Replicator is the queue and its workers.
type Replicator struct {
	pool   *pgxpool.Pool
	g      *geoDriver
	st     StorageConfig
	opts   ReplicationOptions
	log    *slog.Logger
	worker string

	gate *pushGate
	// wake tells this process's idle workers that it queued work, so a
	// copy starts without waiting for the next poll.
	wake chan struct{}
	// enqueueNanos and enqueues: the time pushes spent queueing their
	// blobs (the push waits for it), for /metrics and the benchmark.
	enqueueNanos atomic.Int64
	enqueues     atomic.Int64

	mu       sync.Mutex
	inFlight int
}

// OpenQueue connects to the queue's database, DB_URI's PostgreSQL, the
// way the Database probe of the start-up validation connects to it
// (validators.PostgresConfig: the sslmode, sslrootcert, sslcert and sslkey
// of DB_CONNECTION_ARGS or DB_URI, the CA and client certificate read from
// the bundle, the system's and the bundle's CAs trusted), and creates its
// tables when missing.
func OpenQueue(ctx context.Context, cfg *Config) (*pgxpool.Pool, error) {
	if cfg.Storage.QueueDB == "" || cfg.bundle == nil {
		return nil, errors.New("the replication queue needs DB_URI to name a PostgreSQL database")
	}
	cc, err := validators.PostgresConfig(cfg.bundle)
	if err != nil {
		return nil, err
	}
	return openQueue(ctx, cc)
}

// openQueue opens the pool on a connection configuration made by pgx's
// ParseConfig.
func openQueue(ctx context.Context, cc *pgx.ConnConfig) (*pgxpool.Pool, error) {
	pc, err := pgxpool.ParseConfig("")
	if err != nil {
		return nil, fmt.Errorf("replication queue database: %w", err)
	}
	if cc.ConnectTimeout <= 0 {
		cc.ConnectTimeout = 10 * time.Second
	}
	pc.ConnConfig = cc
	pc.MaxConns = 8
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("replication queue database: %w", err)
	}
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	err = pool.AcquireFunc(cctx, func(c *pgxpool.Conn) error {
		if _, err := c.Exec(cctx, "SELECT pg_advisory_lock($1)", int64(queueLockKey)); err != nil {
			return err
		}
		defer func() {
			_, _ = c.Exec(context.WithoutCancel(cctx), "SELECT pg_advisory_unlock($1)", int64(queueLockKey))
		}()
		_, err := c.Exec(cctx, queueSchema)
		return err
	})
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("replication queue database: %w", err)
	}
	return pool, nil
}

func newReplicator(pool *pgxpool.Pool, g *geoDriver, st StorageConfig, opts ReplicationOptions, log *slog.Logger) *Replicator {
	if opts.Lease <= 0 {
		opts.Lease = time.Minute
	}
	if opts.Backoff <= 0 {
		opts.Backoff = 2 * time.Second
	}
	if opts.Poll <= 0 {
		opts.Poll = time.Second
	}
	if opts.Retention == 0 {
		opts.Retention = 24 * time.Hour
	}
	if opts.YieldLinger == 0 {
		opts.YieldLinger = defaultYieldLinger
	}
	if opts.YieldBandwidth == 0 {
		opts.YieldBandwidth = defaultYieldBandwidth
	}
	host, _ := os.Hostname()
	var b [4]byte
	_, _ = rand.Read(b[:])
	r := &Replicator{pool: pool, g: g, st: st, opts: opts, log: log,
		worker: fmt.Sprintf("%s/%d/%s/%s", host, os.Getpid(), g.locs[0].name, hex.EncodeToString(b[:])),
		gate:   newPushGate(opts.YieldBandwidth, opts.YieldLinger),
		wake:   make(chan struct{}, 1)}
	g.onBlob = r.blobWritten
	g.onDelete = r.EnqueueDelete
	return r
}

// Close releases the database connections.
func (r *Replicator) Close() { r.pool.Close() }

// targets are the default locations other than the one written to.
func (r *Replicator) targets(except string) []string {
	var out []string
	for _, n := range r.st.DefaultLocations {
		if _, ok := r.g.location(n); ok && n != except {
			out = append(out, n)
		}
	}
	return out
}

// blobWritten queues the new blob for every other default location, before
// the write returns: an acknowledged push is never missing from the queue.
func (r *Replicator) blobWritten(ctx context.Context, p string) error {
	src := r.g.locs[0].name
	start := time.Now()
	err := r.EnqueueCopy(ctx, p, src, r.targets(src))
	r.enqueueNanos.Add(int64(time.Since(start)))
	r.enqueues.Add(1)
	if err != nil {
		return err
	}
	select {
	case r.wake <- struct{}{}:
	default:
	}
	return nil
}

// EnqueueCopy queues copies of the blob at p from source to each target.
func (r *Replicator) EnqueueCopy(ctx context.Context, p, source string, targets []string) error {
	d := blobDigestOf(p)
	if d == "" || len(targets) == 0 {
		return nil
	}
	batch := &pgx.Batch{}
	for _, t := range targets {
		batch.Queue(`INSERT INTO `+queueTable+` (op, path, digest, source, target) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (op, target, path) WHERE state = 'queued' DO NOTHING`, opCopy, p, d.String(), source, t)
	}
	if err := r.pool.SendBatch(ctx, batch).Close(); err != nil {
		return fmt.Errorf("queueing the replication of %s: %w", d, err)
	}
	return nil
}

// EnqueueDelete queues the deletion of p (and what is below it) in each
// location; copies of it still waiting are dropped.
func (r *Replicator) EnqueueDelete(ctx context.Context, p string, locations []string) error {
	batch := &pgx.Batch{}
	for _, t := range locations {
		batch.Queue(`UPDATE `+queueTable+` SET state = 'done', done_at = now(), last_error = 'superseded by a delete'
			WHERE op = $1 AND target = $2 AND (path = $3 OR path LIKE $4) AND state = 'queued' AND (lease_until IS NULL OR lease_until < now())`,
			opCopy, t, p, likePrefix(p)+"/%")
		batch.Queue(`INSERT INTO `+queueTable+` (op, path, target) VALUES ($1, $2, $3)
			ON CONFLICT (op, target, path) WHERE state = 'queued' DO NOTHING`, opDelete, p, t)
	}
	if err := r.pool.SendBatch(ctx, batch).Close(); err != nil {
		return fmt.Errorf("queueing the deletion of %s: %w", p, err)
	}
	return nil
}

func likePrefix(p string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(p)
}

// queueItem is a claimed row.
type queueItem struct {
	id       int64
	op       string
	path     string
	digest   string
	source   string
	target   string
	attempts int
	token    string
}

// claim takes the oldest ready row no one holds.
func (r *Replicator) claim(ctx context.Context) (*queueItem, error) {
	var b [12]byte
	_, _ = rand.Read(b[:])
	it := &queueItem{token: hex.EncodeToString(b[:])}
	err := r.pool.QueryRow(ctx, `
WITH c AS (
	UPDATE `+queueTable+` SET lease_until = now() + $1 * interval '1 millisecond', claim_token = $2, claimed_by = $3, attempts = attempts + 1
	WHERE id = (
		SELECT id FROM `+queueTable+`
		WHERE state = 'queued' AND not_before <= now() AND (lease_until IS NULL OR lease_until < now())
		ORDER BY not_before, id
		FOR UPDATE SKIP LOCKED
		LIMIT 1)
	RETURNING id, op, path, digest, source, target, attempts, lease_until
), l AS (
	INSERT INTO `+claimsTable+` (item_id, token, worker, claimed_at, lease_until)
	SELECT id, $2, $3, now(), lease_until FROM c
)
SELECT id, op, path, digest, source, target, attempts FROM c`,
		r.opts.Lease.Milliseconds(), it.token, r.worker).Scan(&it.id, &it.op, &it.path, &it.digest, &it.source, &it.target, &it.attempts)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return it, nil
}

// renew extends the lease; false when the claim was lost.
func (r *Replicator) renew(ctx context.Context, it *queueItem) (bool, error) {
	tag, err := r.pool.Exec(ctx, `
WITH q AS (UPDATE `+queueTable+` SET lease_until = now() + $1 * interval '1 millisecond'
	WHERE id = $2 AND claim_token = $3 AND state = 'queued' RETURNING lease_until)
UPDATE `+claimsTable+` SET lease_until = (SELECT lease_until FROM q) WHERE token = $3 AND EXISTS (SELECT 1 FROM q)`,
		r.opts.Lease.Milliseconds(), it.id, it.token)
	if err != nil {
		return true, err // keep working; the next renewal may get through
	}
	return tag.RowsAffected() == 1, nil
}

// settle records the outcome of a claim: done, or retried later, or failed
// for good.
func (r *Replicator) settle(ctx context.Context, it *queueItem, workErr error) error {
	ctx = context.WithoutCancel(ctx)
	var tag pgconn.CommandTag
	var err error
	switch {
	case workErr == nil:
		tag, err = r.pool.Exec(ctx, `UPDATE `+queueTable+` SET state = 'done', done_at = now(), lease_until = NULL, last_error = NULL
			WHERE id = $1 AND claim_token = $2 AND state = 'queued'`, it.id, it.token)
	case it.attempts >= replicationMaxAttempts:
		tag, err = r.pool.Exec(ctx, `UPDATE `+queueTable+` SET state = 'failed', done_at = now(), lease_until = NULL, last_error = $3
			WHERE id = $1 AND claim_token = $2 AND state = 'queued'`, it.id, it.token, truncate(workErr.Error(), 1000))
	default:
		delay := r.opts.Backoff << min(it.attempts-1, 20)
		if delay > 10*time.Minute || delay <= 0 {
			delay = 10 * time.Minute
		}
		tag, err = r.pool.Exec(ctx, `UPDATE `+queueTable+` SET lease_until = NULL, not_before = now() + $3 * interval '1 millisecond', last_error = $4
			WHERE id = $1 AND claim_token = $2 AND state = 'queued'`, it.id, it.token, delay.Milliseconds(), truncate(workErr.Error(), 1000))
	}
	if err != nil || tag.RowsAffected() == 0 {
		// a claim that was lost keeps the lease window it had
		return err
	}
	_, err = r.pool.Exec(ctx, `UPDATE `+claimsTable+` SET released_at = now() WHERE token = $1`, it.token)
	return err
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// Run runs the workers until ctx is done, and prunes done rows now and
// then.
func (r *Replicator) Run(ctx context.Context) {
	var wg sync.WaitGroup
	if r.opts.Retention > 0 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.pruneLoop(ctx)
		}()
	}
	for i := 0; i < r.opts.Workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.work(ctx)
		}()
	}
	wg.Wait()
}

// RunOnce claims and processes items until none is ready; it returns how
// many it processed.
func (r *Replicator) RunOnce(ctx context.Context) (int, error) {
	n := 0
	for ctx.Err() == nil {
		it, err := r.claim(ctx)
		if err != nil || it == nil {
			return n, err
		}
		r.process(ctx, it)
		n++
	}
	return n, ctx.Err()
}

func (r *Replicator) work(ctx context.Context) {
	for ctx.Err() == nil {
		it, err := r.claim(ctx)
		if err != nil {
			if ctx.Err() == nil {
				r.log.Warn("replication queue: cannot claim work", "err", err.Error())
			}
		}
		if it == nil {
			select {
			case <-ctx.Done():
			case <-r.wake:
			case <-time.After(r.opts.Poll):
			}
			continue
		}
		r.process(ctx, it)
	}
}

// process does one claimed item while renewing its lease.
func (r *Replicator) process(ctx context.Context, it *queueItem) {
	r.mu.Lock()
	r.inFlight++
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		r.inFlight--
		r.mu.Unlock()
	}()
	wctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	go func() {
		t := time.NewTicker(r.opts.Lease / 3)
		defer t.Stop()
		for {
			select {
			case <-wctx.Done():
				return
			case <-t.C:
				if ok, err := r.renew(wctx, it); !ok && err == nil {
					cancel(errors.New("the lease was lost to another worker"))
					return
				}
			}
		}
	}()
	start := time.Now()
	var err error
	switch it.op {
	case opCopy:
		err = r.copyBlob(wctx, it)
	case opDelete:
		err = r.deletePath(wctx, it)
	default:
		err = fmt.Errorf("unknown operation %q", it.op)
	}
	if cause := context.Cause(wctx); err != nil && cause != nil && ctx.Err() == nil {
		err = cause
	}
	if ctx.Err() != nil && err != nil {
		// shutting down: leave the claim to expire, so another worker takes it
		return
	}
	if serr := r.settle(ctx, it, err); serr != nil {
		r.log.Warn("replication queue: cannot record an outcome", "item", it.id, "err", serr.Error())
	}
	if err != nil {
		r.log.Warn("replication failed; retried later", "op", it.op, "path", it.path, "to", it.target, "attempt", it.attempts, "err", err.Error())
	} else {
		r.log.Debug("replicated", "op", it.op, "path", it.path, "to", it.target, "took", time.Since(start).String())
	}
}

func (r *Replicator) deletePath(ctx context.Context, it *queueItem) error {
	d, ok := r.g.location(it.target)
	if !ok {
		return fmt.Errorf("storage location %q is not configured here", it.target)
	}
	if err := d.Delete(ctx, it.path); err != nil && !isNotFound(err) {
		return err
	}
	return nil
}

// copyBlob copies the blob to the target unless the target already holds
// the right bytes, then checks what the target holds. Every read of the
// copy (the check of what is there, the source, the read-back) yields to
// the uploads in flight in this process.
//
// S3 makes an object visible only when it is complete, so a copy to S3
// goes straight to the path: the bytes are hashed as they are written (a
// source with the wrong bytes is never committed there) and read back
// after the commit. Filesystem and Azure targets show a stream's bytes at
// its path as they are written (azuredriver writes append blobs), so they
// get the copy at a side path, which is read back and checked before it is
// moved into place (a move keeps the bytes; the size is checked after
// it), so the blob's bytes are hashed once.
func (r *Replicator) copyBlob(ctx context.Context, it *queueItem) error {
	want, err := digest.Parse(it.digest)
	if err != nil {
		return fmt.Errorf("queued digest: %w", err)
	}
	dst, ok := r.g.location(it.target)
	if !ok {
		return fmt.Errorf("storage location %q is not configured here", it.target)
	}
	if err := r.verifyDigest(ctx, dst, it.path, want); err == nil {
		return nil // already there
	}
	// read from the source, else from any other location holding it
	var src storagedriver.StorageDriver
	var size int64
	order := []string{it.source}
	for _, l := range r.g.locs {
		order = append(order, l.name)
	}
	for _, n := range order {
		d, ok := r.g.location(n)
		if !ok || n == it.target {
			continue
		}
		if fi, err := d.Stat(ctx, it.path); err == nil {
			src, size = d, fi.Size()
			break
		}
	}
	if src == nil {
		return fmt.Errorf("no location holds %s", want)
	}
	rd, err := src.Reader(ctx, it.path, 0)
	if err != nil {
		return err
	}
	defer rd.Close()
	writePath := it.path
	loc, ok := r.st.Location(it.target)
	atomic := ok && writesWhole(loc.Driver)
	if !atomic {
		writePath = "/config-editor/replication/" + it.token
	}
	w, err := dst.Writer(ctx, writePath, false)
	if err != nil {
		return err
	}
	var in io.Reader = rd
	var v digest.Verifier
	if atomic {
		v = want.Verifier()
		in = io.TeeReader(rd, v)
	}
	n, err := io.Copy(w, r.throttle(ctx, r.yield(ctx, in)))
	switch {
	case err != nil:
	case n != size:
		err = fmt.Errorf("read %d bytes of %s from the source, which said it holds %d", n, want, size)
	case v != nil && !v.Verified():
		err = fmt.Errorf("the source's bytes do not have the digest %s", want)
	}
	if err != nil {
		_ = w.Cancel(context.WithoutCancel(ctx))
		_ = w.Close()
		return err
	}
	if err := w.Commit(ctx); err != nil {
		_ = w.Close()
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	if atomic {
		return r.verifyDigest(ctx, dst, it.path, want)
	}
	if err := r.verifyDigest(ctx, dst, writePath, want); err != nil {
		_ = dst.Delete(context.WithoutCancel(ctx), writePath)
		return fmt.Errorf("%w (the source's bytes, or their copy)", err)
	}
	if err := dst.Move(ctx, writePath, it.path); err != nil {
		return err
	}
	fi, err := dst.Stat(ctx, it.path)
	if err != nil {
		return err
	}
	if fi.Size() != size {
		return fmt.Errorf("the copy of %s holds %d bytes after its move, not %d", want, fi.Size(), size)
	}
	return nil
}

// writesWhole reports whether a driver's writer shows the object at its
// path only when it commits, so that a copy may be written straight to
// the final path: S3 (multipart uploads). Filesystem writers and Azure's
// append blobs show the bytes as they are written.
func writesWhole(driver string) bool { return driver == DriverS3 }

// verifyDigest reads the object back and checks its digest.
func verifyDigest(ctx context.Context, d storagedriver.StorageDriver, p string, want digest.Digest) error {
	return verifyDigestThrough(ctx, d, p, want, func(rd io.Reader) io.Reader { return rd })
}

// verifyDigest reads the object back, yielding to uploads, and checks its
// digest.
func (r *Replicator) verifyDigest(ctx context.Context, d storagedriver.StorageDriver, p string, want digest.Digest) error {
	return verifyDigestThrough(ctx, d, p, want, func(rd io.Reader) io.Reader { return r.yield(ctx, rd) })
}

func verifyDigestThrough(ctx context.Context, d storagedriver.StorageDriver, p string, want digest.Digest, wrap func(io.Reader) io.Reader) error {
	rd, err := d.Reader(ctx, p, 0)
	if err != nil {
		return err
	}
	defer rd.Close()
	v := want.Verifier()
	if _, err := io.Copy(v, wrap(rd)); err != nil {
		return err
	}
	if !v.Verified() {
		return fmt.Errorf("the copy of %s does not have its digest", want)
	}
	return nil
}

// throttle limits a copy to Options.Bandwidth bytes per second.
func (r *Replicator) throttle(ctx context.Context, rd io.Reader) io.Reader {
	if r.opts.Bandwidth <= 0 {
		return rd
	}
	return &throttled{ctx: ctx, rd: rd, rate: r.opts.Bandwidth, start: time.Now()}
}

type throttled struct {
	ctx   context.Context
	rd    io.Reader
	rate  int64
	start time.Time
	n     int64
}

func (t *throttled) Read(p []byte) (int, error) {
	if len(p) > 64<<10 {
		p = p[:64<<10]
	}
	n, err := t.rd.Read(p)
	t.n += int64(n)
	due := t.start.Add(time.Duration(float64(t.n) / float64(t.rate) * float64(time.Second)))
	if wait := time.Until(due); wait > 0 {
		select {
		case <-t.ctx.Done():
			return n, t.ctx.Err()
		case <-time.After(wait):
		}
	}
	return n, err
}

// QueueStats is the queue's state, as /metrics and /health/endtoend show it.
type QueueStats struct {
	Queued           int64   `json:"queued"`
	InFlight         int64   `json:"in_flight"`
	Done             int64   `json:"done"`
	Failed           int64   `json:"failed"`
	OldestAgeSeconds float64 `json:"oldest_age_seconds"`
	Error            string  `json:"error,omitempty"`
}

// Stats reads the queue's state.
func (r *Replicator) Stats(ctx context.Context) (QueueStats, error) {
	return queueStats(ctx, r.pool)
}

func queueStats(ctx context.Context, q interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}) (QueueStats, error) {
	var s QueueStats
	err := q.QueryRow(ctx, `SELECT
	count(*) FILTER (WHERE state = 'queued' AND (lease_until IS NULL OR lease_until < now())),
	count(*) FILTER (WHERE state = 'queued' AND lease_until >= now()),
	count(*) FILTER (WHERE state = 'done') + COALESCE((SELECT sum(items) FROM `+totalsTable+` WHERE state = 'done'), 0)::bigint,
	count(*) FILTER (WHERE state = 'failed'),
	COALESCE(EXTRACT(EPOCH FROM now() - min(created_at) FILTER (WHERE state = 'queued')), 0)::float8
FROM `+queueTable).Scan(&s.Queued, &s.InFlight, &s.Done, &s.Failed, &s.OldestAgeSeconds)
	return s, err
}

// pruneInterval is how often a process prunes done rows.
const pruneInterval = 5 * time.Minute

func (r *Replicator) pruneLoop(ctx context.Context) {
	t := time.NewTicker(pruneInterval)
	defer t.Stop()
	for {
		if _, err := r.Prune(ctx); err != nil && ctx.Err() == nil {
			r.log.Warn("replication queue: cannot prune done rows", "err", err.Error())
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// pruneBatch bounds the rows one prune statement deletes.
const pruneBatch = 5000

// Prune deletes the done rows older than Options.Retention, with their
// claims, and adds them to the done total in the same statement, so the
// done count (rows + total) never goes down and is never counted twice.
// Several processes may prune at once (SKIP LOCKED). It returns how many
// rows it deleted.
func (r *Replicator) Prune(ctx context.Context) (int64, error) {
	if r.opts.Retention <= 0 {
		return 0, nil
	}
	var total int64
	for ctx.Err() == nil {
		var n int64
		err := r.pool.QueryRow(ctx, `
WITH d AS (
	DELETE FROM `+queueTable+` WHERE id IN (
		SELECT id FROM `+queueTable+`
		WHERE state = 'done' AND done_at < now() - $1 * interval '1 millisecond'
		ORDER BY done_at
		FOR UPDATE SKIP LOCKED
		LIMIT $2)
	RETURNING id
), c AS (
	DELETE FROM `+claimsTable+` WHERE item_id IN (SELECT id FROM d)
), t AS (
	INSERT INTO `+totalsTable+` (state, items) SELECT 'done', count(*) FROM d HAVING count(*) > 0
	ON CONFLICT (state) DO UPDATE SET items = `+totalsTable+`.items + EXCLUDED.items
)
SELECT count(*) FROM d`, r.opts.Retention.Milliseconds(), pruneBatch).Scan(&n)
		if err != nil {
			return total, err
		}
		total += n
		if n < pruneBatch {
			return total, nil
		}
	}
	return total, ctx.Err()
}
