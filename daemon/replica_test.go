package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tracksync/tracksync/adapters"
	_ "github.com/tracksync/tracksync/adapters/github"
	"github.com/tracksync/tracksync/adapters/github/githubtest"
	_ "github.com/tracksync/tracksync/adapters/jira"
	"github.com/tracksync/tracksync/config"
	"github.com/tracksync/tracksync/daemon/jobs/riverjobs"
	"github.com/tracksync/tracksync/sandbox"
	"github.com/tracksync/tracksync/store"
	"github.com/tracksync/tracksync/store/postgres"
	"github.com/tracksync/tracksync/store/postgres/pgtest"
	tsync "github.com/tracksync/tracksync/sync"
)

var chaosRounds = flag.Int("chaos", 0, "TestReplicasOnPostgres: kill the lease holder this many more times (a longer chaos loop)")

const replicaFlow = "platform"

// replica is one `serve` process: its own store pool, trackers and
// daemon on the shared database.
type replica struct {
	name   string
	st     store.Store
	d      *Daemon
	url    string
	cancel context.CancelFunc
	done   chan error
	dead   atomic.Bool
	runs   atomic.Int64
	runErr chan error
}

type cluster struct {
	t   *testing.T
	ctx context.Context
	dsn string
	sb  *sandbox.Sandbox
	cfg *config.Config
	// schema is the state's PostgreSQL schema (River's is beside it).
	schema string
	reps   []*replica
	seq    int

	mu  sync.Mutex
	oks []okRun // successful runs, in the order they ended
}

// okRun is a successful run: which replica, when it ended.
type okRun struct {
	replica string
	at      time.Time
}

// firstOK is when the first successful run by a replica other than
// not ended after since (zero if none yet).
func (c *cluster) firstOK(since time.Time, not string) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, o := range c.oks {
		if o.replica != not && o.at.After(since) {
			return o.at
		}
	}
	return time.Time{}
}

// newCluster is an empty cluster on a PostgreSQL schema of its own, with
// the sandbox's trackers and config (no initiatives; first contact,
// creates and changes unbounded, conflicts to the newest). Replicas are
// started by the test; everything else is cleaned up with t.
func newCluster(t *testing.T) *cluster {
	t.Helper()
	schema, dsn := pgtest.Schema(t)
	t.Cleanup(func() { riverjobs.DropSchemaForTest(t, dsn, schema) })
	ctx := context.Background()
	sb, err := sandbox.Start(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sb.Close)
	cfg, err := config.Load(sb.Config)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Initiatives = nil
	for i := range cfg.Flows {
		limit := 1000
		cfg.Flows[i].FirstContactLimit = &limit
		cfg.Flows[i].MaxCreateShare = 1000
		cfg.Flows[i].MaxChangeShare = 1
		cfg.Flows[i].Conflict = "newest"
	}
	t.Cleanup(func() { adapters.SetSharedRates(nil) })
	return &cluster{t: t, ctx: ctx, dsn: dsn, sb: sb, cfg: cfg, schema: schema}
}

const replicaTTL = 3 * time.Second

func (c *cluster) start() *replica { return c.startWrapped(nil) }

// startWrapped starts a replica whose daemon sees its store through wrap
// (the replica's own checks use the store itself).
func (c *cluster) startWrapped(wrap func(*postgres.Store) store.Store) *replica {
	c.t.Helper()
	c.seq++
	r := &replica{name: fmt.Sprintf("replica-%d", c.seq), done: make(chan error, 1), runErr: make(chan error, 100)}
	pg, err := postgres.Open(c.ctx, c.dsn, store.Options{})
	if err != nil {
		c.t.Fatal(err)
	}
	r.st = pg
	var st store.Store = pg
	if wrap != nil {
		st = wrap(pg)
	}
	st = mortal{Store: st, pg: pg, dead: &r.dead}
	adapters.SetSharedRates(st)
	fs, probs, err := tsync.OpenFlows(c.ctx, c.cfg, adapters.Default, slog.New(slog.DiscardHandler), replicaFlow)
	if err != nil || len(probs) > 0 {
		c.t.Fatalf("opening flows: %v %v", err, probs)
	}
	workers := 2
	if wrap != nil {
		workers = 1 // a frozen replica holds one job, not the next one too
	}
	r.d, err = New(c.ctx, Config{Store: st, Flows: fs, Listen: "127.0.0.1:0", Owner: r.name, LockTTL: replicaTTL, Workers: workers,
		PollInterval: 50 * time.Millisecond, Debounce: 100 * time.Millisecond, MaxDelay: 2 * time.Second, ShutdownGrace: 2 * time.Second,
		OnRun: func(_ string, _ *tsync.Result, err error) {
			r.runs.Add(1)
			if err == nil {
				c.mu.Lock()
				c.oks = append(c.oks, okRun{r.name, time.Now()})
				c.mu.Unlock()
			}
			select {
			case r.runErr <- err:
			default:
			}
		}})
	if err != nil {
		c.t.Fatal(err)
	}
	if err := r.d.Listen(); err != nil {
		c.t.Fatal(err)
	}
	r.url = "http://" + r.d.Addr()
	ctx, cancel := context.WithCancel(c.ctx)
	r.cancel = cancel
	go func() { r.done <- r.d.Run(ctx) }()
	c.reps = append(c.reps, r)
	return r
}

// kill stops r as kill -9 would, as far as the others can tell: its pool
// is closed first (no further write, no lease release, its job row left
// running), then its goroutines are stopped.
func (c *cluster) kill(r *replica) {
	r.dead.Store(true)
	go r.st.Close() // waits for River's listener connection; closed for new work at once
	r.cancel()
	<-r.done
}

func (c *cluster) stopAll() {
	for _, r := range c.reps {
		if !r.dead.Load() {
			r.cancel()
			<-r.done
			r.st.Close()
		}
	}
}

// holder is the replica holding the flow's lease ("" if none, or if it
// expired). It reads the lease row: taking the lease to probe it would
// release an expired one, hiding the interrupted run from the replicas'
// takeover loops.
func (c *cluster) holder(st store.Store) string {
	var owner string
	var expires int64
	err := st.(*postgres.Store).Pool().QueryRow(c.ctx, `SELECT owner, expires_at FROM locks WHERE name = $1`, "flow:"+replicaFlow).Scan(&owner, &expires)
	if err != nil || time.Now().UnixNano() >= expires {
		return ""
	}
	return owner
}

func (c *cluster) until(what string, limit time.Duration, cond func() bool) {
	c.t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			c.t.Fatalf("%s: not within %s", what, limit)
		}
		<-time.After(20 * time.Millisecond)
	}
}

// converged: every Jira issue of the flow has exactly one GitHub copy and
// the other way round (titles are unique in the seed and the bulk).
func (c *cluster) converged() (bool, string) {
	gh := map[string]int{}
	for _, is := range c.sb.GitHub.Issues(sandbox.Repo) {
		gh[is.Title]++
	}
	jr := map[string]int{}
	for _, is := range c.sb.Jira.Issues() {
		if is.Project == sandbox.JiraProject && is.Type != "Initiative" {
			jr[is.Summary]++
		}
	}
	for title, n := range gh {
		if n > 1 {
			return false, fmt.Sprintf("GitHub has %d issues titled %q", n, title)
		}
		if jr[title] != 1 {
			return false, fmt.Sprintf("GitHub issue %q has %d Jira counterparts", title, jr[title])
		}
	}
	for title, n := range jr {
		if n > 1 {
			return false, fmt.Sprintf("Jira has %d issues titled %q", n, title)
		}
		if gh[title] != 1 {
			return false, fmt.Sprintf("Jira issue %q has %d GitHub counterparts", title, gh[title])
		}
	}
	return true, ""
}

// duplicates counts titles with more than one issue on either side.
func (c *cluster) duplicates() int {
	n := 0
	gh := map[string]int{}
	for _, is := range c.sb.GitHub.Issues(sandbox.Repo) {
		if gh[is.Title]++; gh[is.Title] == 2 {
			n++
		}
	}
	jr := map[string]int{}
	for _, is := range c.sb.Jira.Issues() {
		if is.Project == sandbox.JiraProject {
			if jr[is.Summary]++; jr[is.Summary] == 2 {
				n++
			}
		}
	}
	return n
}

// TestReplicasOnPostgres: three daemons on one PostgreSQL schema against
// the Jira and GitHub fakes. Each flow runs on one replica at a time; a
// delivery sent to every replica is handled once; the replica holding
// the lease is killed mid-run and another takes over and finishes, with
// no duplicate; edits made afterwards still sync. -chaos N repeats the
// kill N more times.
func TestReplicasOnPostgres(t *testing.T) {
	c := newCluster(t)
	ctx, sb := c.ctx, c.sb
	for range 3 {
		c.start()
	}
	defer c.stopAll()
	sb.Connect(c.reps[0].d.Addr())
	observer := c.reps[0].st

	kills := 1 + *chaosRounds
	var failovers []time.Duration
	for k := range kills {
		// Work enough for a run to be caught in the middle (the first
		// run, with nothing linked yet, is the sandbox's own: the
		// safety valve would stop a first run creating dozens).
		c.until("the flow converges", 60*time.Second, func() bool { ok, _ := c.converged(); return ok })
		start := len(sb.Jira.Issues())
		for i := range 60 {
			sb.GitHub.CreateIssue(sandbox.Repo, githubtest.Issue{Title: fmt.Sprintf("round %d issue %02d", k, i), State: "open"})
		}
		for _, r := range c.reps {
			if !r.dead.Load() {
				r.d.Enqueue(ctx, replicaFlow, "manual")
				break
			}
		}
		var victim *replica
		c.until("a replica runs the flow and writes", 30*time.Second, func() bool {
			h := c.holder(observer)
			if h == "" || len(sb.Jira.Issues()) <= start {
				return false
			}
			for _, r := range c.reps {
				if r.name == h && !r.dead.Load() {
					victim = r
				}
			}
			return victim != nil
		})
		if victim.st == observer {
			// Keep a live pool for the checks.
			for _, r := range c.reps {
				if r != victim && !r.dead.Load() {
					observer = r.st
					break
				}
			}
		}
		killed := time.Now()
		c.kill(victim)
		// Its replacement: the cluster stays three strong.
		nr := c.start()
		sb.Connect(nr.d.Addr())
		// Taken over: another replica finished a run of the flow (it
		// held the lease, so it recovered the dead run's writes). The
		// dead run may have made all its creates before it died: new
		// issues are not the sign.
		var took time.Time
		c.until("another replica takes the flow over", 60*time.Second, func() bool {
			took = c.firstOK(killed, victim.name)
			return !took.IsZero()
		})
		failover := took.Sub(killed)
		failovers = append(failovers, failover)
		// The lease expires at most one lease period after the kill; the
		// survivors look for expired leases every tenth of one. Twice the
		// lease leaves room for a loaded machine.
		if failover > 2*replicaTTL {
			t.Errorf("kill %d: the flow was taken over %s after the kill, want within %s", k, failover.Round(100*time.Millisecond), 2*replicaTTL)
		}
		var why string
		c.until("the flow converges after the kill", 60*time.Second, func() bool {
			ok, w := c.converged()
			if w != why {
				why = w
				t.Logf("not converged yet: %s", w)
			}
			return ok
		})
		if n := c.duplicates(); n > 0 {
			t.Fatalf("kill %d: %d duplicate(s)", k, n)
		}
	}
	t.Logf("kills %d, failover (kill -> a run completed by another replica): %v, lease %s", kills, failovers, replicaTTL)

	// Runs of the flow never overlapped, whichever replica ran them.
	runs, err := observer.ListRuns(ctx, replicaFlow, 10000)
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(runs, func(a, b store.Run) int { return a.StartedAt.Compare(b.StartedAt) })
	var prev store.Run
	for _, r := range runs {
		if r.FinishedAt.IsZero() {
			continue // the killed replica's run
		}
		if !prev.FinishedAt.IsZero() && r.StartedAt.Before(prev.FinishedAt) {
			t.Errorf("run %d (%s..%s) overlaps run %d (%s..%s)", r.ID, r.StartedAt, r.FinishedAt, prev.ID, prev.StartedAt, prev.FinishedAt)
		}
		prev = r
	}
	per := map[string]int64{}
	for _, r := range c.reps {
		per[r.name] = r.runs.Load()
	}
	t.Logf("%d runs recorded; runs per replica %v", len(runs), per)

	// An edit after the kills syncs; its delivery, sent to every live
	// replica, is handled by exactly one.
	is := sb.GitHub.Issues(sandbox.Repo)[0]
	n0 := len(sb.GitHub.Deliveries())
	if err := sb.GitHub.EditIssue(sandbox.Repo, is.Number, func(x *githubtest.Issue) { x.Title = "edited after the kills" }); err != nil {
		t.Fatal(err)
	}
	var dl githubtest.Delivery
	for _, d := range sb.GitHub.Deliveries()[n0:] {
		if d.Event == "issues" {
			dl = d
		}
	}
	if dl.ID == "" {
		t.Fatal("the fake sent no issues delivery for the edit")
	}
	codes := map[int]int{}
	handled := 0
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, r := range c.reps {
		if r.dead.Load() {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest(http.MethodPost, r.url+"/webhooks/github", bytes.NewReader(dl.Body))
			for _, h := range []string{"X-GitHub-Event", "X-GitHub-Delivery", "X-Hub-Signature-256"} {
				req.Header.Set(h, dl.Header.Get(h))
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			var ans struct {
				Events int `json:"events"`
			}
			json.NewDecoder(resp.Body).Decode(&ans)
			resp.Body.Close()
			mu.Lock()
			codes[resp.StatusCode]++
			handled += ans.Events
			mu.Unlock()
		}()
	}
	wg.Wait()
	// The fake's own delivery reached one replica already: the
	// redeliveries are all repeats. The others say so (200); the one
	// that had it decodes it to no events (its tracker remembers too).
	if handled != 0 || codes[http.StatusOK] < 2 {
		t.Errorf("redelivery of %s to the three live replicas: answers %v, %d event(s) handled again; want none handled, the others answering 200", dl.ID, codes, handled)
	}
	c.until("the edit reaches Jira", 30*time.Second, func() bool {
		for _, j := range sb.Jira.Issues() {
			if j.Summary == "edited after the kills" {
				return true
			}
		}
		return false
	})
	if v := sb.GitHub.SecondaryViolations(); v != 0 {
		t.Errorf("%d secondary rate-limit violation(s) on the GitHub fake", v)
	}
	if n := c.duplicates(); n > 0 {
		t.Errorf("%d duplicate(s) at the end", n)
	}
}

// mortal is a replica's store as a kill -9 leaves it: once the replica
// is dead, its run's deferred lease release does not reach the database
// (the test's kill cancels the replica and closes its pool, and the
// release could slip in between).
type mortal struct {
	store.Store
	pg   *postgres.Store
	dead *atomic.Bool
}

func (m mortal) Pool() *pgxpool.Pool { return m.pg.Pool() }
func (m mortal) Describe() string    { return m.pg.Describe() }

func (m mortal) Unlock(ctx context.Context, name, owner string) error {
	if m.dead.Load() {
		return errors.New("killed")
	}
	return m.Store.Unlock(ctx, name, owner)
}

// pausable is a replica's store that can be frozen, as SIGSTOP would
// freeze the process at its next store call: the lease is not renewed,
// no journal entry is written, until resume. River keeps the pool.
type pausable struct {
	*postgres.Store
	mu      sync.Mutex
	gate    chan struct{} // closed while running; open while paused
	blocked atomic.Int64
	armed   string // pauseAt's call
	after   string // and the call that comes before it
}

func newPausable(pg *postgres.Store) *pausable {
	g := make(chan struct{})
	close(g)
	return &pausable{Store: pg, gate: g}
}

func (p *pausable) pause() {
	p.mu.Lock()
	p.gate = make(chan struct{})
	p.mu.Unlock()
}

func (p *pausable) resume() {
	p.mu.Lock()
	close(p.gate)
	p.mu.Unlock()
}

// pauseAt arms the pause: the first call named call after one named
// after freezes the replica (deterministically mid-run, whatever the
// machine's load).
func (p *pausable) pauseAt(call, after string) {
	p.mu.Lock()
	p.armed, p.after = call, after
	p.mu.Unlock()
}

func (p *pausable) wait(call string) {
	p.mu.Lock()
	switch {
	case p.after != "":
		if call == p.after {
			p.after = ""
		}
	case p.armed != "" && p.armed == call:
		p.armed = ""
		p.gate = make(chan struct{})
	}
	g := p.gate
	p.mu.Unlock()
	select {
	case <-g:
	default:
		p.blocked.Add(1)
		<-g
	}
}

func (p *pausable) Lock(ctx context.Context, name, owner string, ttl time.Duration) (store.Lease, error) {
	p.wait("Lock")
	return p.Store.Lock(ctx, name, owner, ttl)
}

func (p *pausable) JournalIntent(ctx context.Context, e store.JournalEntry) (int64, error) {
	p.wait("JournalIntent")
	return p.Store.JournalIntent(ctx, e)
}

func (p *pausable) JournalFinish(ctx context.Context, id int64, state string, result adapters.Ref, linkID int64, errMsg string, lease store.Lease) error {
	p.wait("JournalFinish")
	return p.Store.JournalFinish(ctx, id, state, result, linkID, errMsg, lease)
}

func (p *pausable) Tx(ctx context.Context, fn func(tx store.Ops) error) error {
	p.wait("Tx")
	return p.Store.Tx(ctx, fn)
}

// TestPausedReplicaIsFenced: the replica running the flow is frozen past
// its lease (its store calls block: no renewal, no journal entry);
// another replica takes the flow over and finishes it. When the frozen
// one resumes, its lease is gone: its run stops with ErrLeaseLost before
// its next write, and nothing is duplicated.
func TestPausedReplicaIsFenced(t *testing.T) {
	c := newCluster(t)
	ctx, sb := c.ctx, c.sb
	var frozen *pausable
	a := c.startWrapped(func(pg *postgres.Store) store.Store { frozen = newPausable(pg); return frozen })
	defer c.stopAll()
	c.until("the sandbox's first run converges", 60*time.Second, func() bool { ok, _ := c.converged(); return ok })
	observer := a.st // the frozen replica's pool itself is not frozen
	for len(a.runErr) > 0 {
		<-a.runErr
	}
	start := len(sb.Jira.Issues())
	for i := range 60 {
		sb.GitHub.CreateIssue(sandbox.Repo, githubtest.Issue{Title: fmt.Sprintf("paused %02d", i), State: "open"})
	}
	// Replica a takes the run: it is the only one yet. It freezes at
	// the transaction that records its first create's outcome: its bulk
	// create has made issues on Jira whose outcomes it has not recorded.
	frozen.pauseAt("Tx", "JournalIntent")
	if err := a.d.Enqueue(ctx, replicaFlow, "manual"); err != nil {
		t.Fatal(err)
	}
	c.until("replica a is frozen mid-run", 30*time.Second, func() bool { return frozen.blocked.Load() > 0 })
	if h := c.holder(observer); h != a.name {
		t.Fatalf("the flow's lease is held by %q while a is frozen mid-run, want %s", h, a.name)
	}
	b := c.start()
	frozenAt := len(sb.Jira.Issues())
	t.Logf("frozen with %d of %d new issues copied", frozenAt-start, 60)
	// The world goes on: a webhook reaches b, which waits out a's lease.
	if err := b.d.Enqueue(ctx, replicaFlow, "webhook"); err != nil {
		t.Fatal(err)
	}
	// b's run recovers a's journaled creates (finding those a made) and
	// makes the rest.
	// A run of b that ends in an error (the flow is locked while a's
	// lease lasts) is not a takeover: wait for one that succeeded, so
	// that a stays frozen past its lease. (Counting any run of b let
	// a resume within its lease, finish, and the test pass without
	// fencing anything.)
	frozenSince := time.Now()
	c.until("replica b takes the flow over and finishes", 60*time.Second, func() bool {
		ok, _ := c.converged()
		return ok && !c.firstOK(frozenSince, a.name).IsZero()
	})
	settled := len(sb.Jira.Issues())
	for len(a.runErr) > 0 {
		t.Logf("replica a: a run that ended before it froze: %v", <-a.runErr)
	}
	frozen.resume()
	// The frozen run stops at the transaction it was frozen in, and says
	// why.
	select {
	case err := <-a.runErr:
		if !errors.Is(err, store.ErrLeaseLost) {
			t.Fatalf("the resumed replica's run ended with %v, want an error wrapping store.ErrLeaseLost", err)
		}
		t.Logf("resumed replica's run: %v", err)
	case <-time.After(60 * time.Second):
		t.Fatal("the resumed replica's run did not end")
	}
	time.Sleep(2 * replicaTTL) // anything it would still write
	if n := len(sb.Jira.Issues()); n != settled {
		t.Errorf("Jira has %d issues after the resume, %d before: the fenced replica wrote", n, settled)
	}
	if n := c.duplicates(); n > 0 {
		t.Errorf("%d duplicate(s)", n)
	}
	if ok, why := c.converged(); !ok {
		t.Errorf("not converged after the resume: %s", why)
	}
}

// TestLeaderKilledMidRun: the replica that holds the flow's lease is
// also the job queue's elected leader when it dies mid-run, and no other
// job of the flow is waiting. A survivor takes the flow over within a
// few lease periods: every replica looks for flows whose lease expired
// unreleased and enqueues their takeover. Before, the takeover waited for
// a new leader (River's leader term is about 15 s) to rescue the dead
// run's job: 17 to 19 s with a 3 s lease.
func TestLeaderKilledMidRun(t *testing.T) {
	c := newCluster(t)
	ctx, sb := c.ctx, c.sb
	// The first replica alone: it is elected leader, and runs the job.
	var frozen *pausable
	a := c.startWrapped(func(pg *postgres.Store) store.Store { frozen = newPausable(pg); return frozen })
	defer c.stopAll()
	sb.Connect(a.d.Addr())
	c.until("the sandbox's first run converges", 60*time.Second, func() bool { ok, _ := c.converged(); return ok })
	var leader string
	riverLeader := `SELECT leader_id FROM ` + pgx.Identifier{riverjobs.SchemaFor(c.schema), "river_leader"}.Sanitize()
	c.until("replica a leads the job queue", 30*time.Second, func() bool {
		return a.st.(*postgres.Store).Pool().QueryRow(ctx, riverLeader).Scan(&leader) == nil && leader == a.name
	})
	start := len(sb.Jira.Issues())
	for i := range 60 {
		sb.GitHub.CreateIssue(sandbox.Repo, githubtest.Issue{Title: fmt.Sprintf("leader %02d", i), State: "open"})
	}
	if err := a.d.Enqueue(ctx, replicaFlow, "manual"); err != nil {
		t.Fatal(err)
	}
	c.until("replica a runs the flow and writes", 30*time.Second, func() bool {
		return c.holder(a.st) == a.name && len(sb.Jira.Issues()) > start
	})
	// Caught mid-run (its store calls block; the queue's own connections
	// do not, so it stays leader), while a survivor starts.
	frozen.pause()
	defer frozen.resume()
	b := c.start()
	sb.Connect(b.d.Addr())
	c.until("replica a is frozen at a store call", 30*time.Second, func() bool { return frozen.blocked.Load() > 0 })
	if err := b.st.(*postgres.Store).Pool().QueryRow(ctx, riverLeader).Scan(&leader); err != nil || leader != a.name {
		t.Fatalf("the queue's leader is %q (%v), want the dying replica %s", leader, err, a.name)
	}
	// Killed as with -9: its pool closes (no release, no resignation),
	// its run never finishes.
	a.dead.Store(true)
	killed := time.Now()
	go a.st.Close()
	a.cancel()
	// A run of b that ends in an error (the flow is locked while a's
	// lease lasts) is not a takeover: wait for one that succeeded, so
	// that a stays frozen past its lease. (Counting any run of b let
	// a resume within its lease, finish, and the test pass without
	// fencing anything.)
	frozenSince := time.Now()
	c.until("replica b takes the flow over and finishes", 60*time.Second, func() bool {
		ok, _ := c.converged()
		return ok && !c.firstOK(frozenSince, a.name).IsZero()
	})
	failover := c.firstOK(killed, a.name).Sub(killed)
	t.Logf("failover with a %s lease, the dead replica leading the queue: %s", replicaTTL, failover.Round(100*time.Millisecond))
	if limit := 2 * replicaTTL; failover > limit {
		t.Errorf("the flow was taken over %s after the leader died, want within %s (a few lease periods)", failover.Round(100*time.Millisecond), limit)
	}
	if n := c.duplicates(); n > 0 {
		t.Errorf("%d duplicate(s)", n)
	}
}
