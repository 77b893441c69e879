package runner

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/apipod/apipod-batch/apipod"
	"github.com/apipod/apipod-batch/internal/clock"
	"github.com/apipod/apipod-batch/lockfile"
	"github.com/apipod/apipod-batch/manifest"
)

// API is the part of the APIPod client the runner uses.
type API interface {
	Create(ctx context.Context, kind apipod.Kind, body []byte, key string) (*apipod.Created, error)
	Status(ctx context.Context, kind apipod.Kind, taskID string) (*apipod.Task, error)
	Download(ctx context.Context, url string, dest func(ext string) (string, error)) (*apipod.Downloaded, error)
}

var _ API = (*apipod.Client)(nil)

// Config is everything Apply needs; Manifest, Store, API and Plan are required.
type Config struct {
	Manifest *manifest.Manifest
	Store    *lockfile.Store
	API      API
	Plan     *Plan
	// Backend is recorded with each job ("" for the API, "sandbox").
	Backend string
	// Parallelism overrides the manifest's settings.parallelism when > 0.
	Parallelism int
	// DownloadParallelism bounds concurrent file downloads; default 8.
	DownloadParallelism int
	Observer            Observer
	// MaxCost, when > 0, stops submitting new tasks once the cost of this
	// run plus the estimate for creates in flight would pass it.
	MaxCost float64
	// Poller decides when to read task status; nil means the adaptive
	// poller, which learns each model's durations.
	Poller Poller
	// Estimate returns the expected cost of one task of a model (from the
	// lockfile's history), or 0 when unknown; used with MaxCost.
	Estimate func(model string) float64
	Now      func() time.Time
	Sleep    func(ctx context.Context, d time.Duration) error
}

// Default deadlines per kind, when the manifest sets none.
const (
	DefaultImageTimeout = 10 * time.Minute
	DefaultVideoTimeout = 30 * time.Minute
)

// resultTTL is how long APIPod keeps result URLs after completion.
const resultTTL = 24 * time.Hour

type run struct {
	cfg       Config
	m         *manifest.Manifest
	salt      string
	dlSem     chan struct{}
	downloads sync.WaitGroup
	halt      atomic.Pointer[error]
	// dlCtx outlives the generation group, whose context ends with its
	// Wait, so downloads handed off by the last tasks still finish.
	dlCtx  context.Context
	sched  *scheduler
	budget budget
	durs   *durations
	poller Poller
}

// Apply carries out a plan. Jobs fail independently; Apply returns an error
// only when the whole run must stop (a rejected API key) — the Result then
// still says what happened to every job. When ctx is cancelled it stops
// submitting, leaves tasks in flight recorded for the next run to resume,
// and returns with Result.Interrupted set.
func Apply(ctx context.Context, cfg Config) (*Result, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Sleep == nil {
		cfg.Sleep = clock.Sleep
	}
	if cfg.Observer == nil {
		cfg.Observer = ObserverFunc(func(Event) {})
	}
	if cfg.DownloadParallelism <= 0 {
		cfg.DownloadParallelism = 8
	}
	par := cfg.Parallelism
	if par <= 0 {
		par = cfg.Manifest.Settings.Parallelism
	}
	r := &run{cfg: cfg, m: cfg.Manifest, dlSem: make(chan struct{}, cfg.DownloadParallelism), dlCtx: ctx}
	cfg.Store.View(func(f *lockfile.File) {
		r.salt = f.Salt
		r.durs = newDurations(f)
	})
	r.durs.expect(cfg.Plan.Steps)
	r.poller = cfg.Poller
	if r.poller == nil {
		r.poller = newAdaptivePoller(r.durs, r.m.Settings.Poll.Initial, r.m.Settings.Poll.Max)
	}

	start := cfg.Now()
	res := &Result{Jobs: make([]*JobResult, len(cfg.Plan.Steps))}
	for i, st := range cfg.Plan.Steps {
		res.Jobs[i] = &JobResult{ID: st.Job.ID, Model: st.Job.Model, Kind: st.spec.kind, Action: st.Action, State: StatePending}
	}
	r.budget = budget{max: cfg.MaxCost, estimate: cfg.Estimate}
	limits := map[apipod.Kind]int{
		apipod.KindImage: r.m.Settings.ImageParallelism,
		apipod.KindVideo: r.m.Settings.VideoParallelism,
	}
	sched := newScheduler(cfg.Plan.Steps, res.Jobs, limits)
	r.sched = sched
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(1, par))
	for n := sched.next(gctx); n != nil; n = sched.next(gctx) {
		if n.st.Action == Skip {
			n.jr.State = StateSkipped
			r.emit(Event{Kind: EventSkipped, Job: n.jr.ID, Model: n.jr.Model})
			sched.resolved(n)
			continue
		}
		g.Go(func() error {
			defer sched.finished(n)
			// A job that ends without results settles its dependents, so
			// the scheduler never waits for a node that will not finish.
			defer sched.failed(n, r.skipDownstream)
			return r.runJob(gctx, n)
		})
	}
	err := g.Wait()
	r.downloads.Wait()
	res.Elapsed = cfg.Now().Sub(start)
	if h := r.halt.Load(); h != nil {
		res.Halted = *h
	}
	res.Interrupted = ctx.Err() != nil
	if ferr := cfg.Store.Flush(); ferr != nil && err == nil {
		err = fmt.Errorf("write lockfile: %w", ferr)
	}
	return res, err
}

func (r *run) emit(e Event) {
	e.Time = r.cfg.Now()
	r.cfg.Observer.Event(e)
}

// runJob takes one job through submit, poll and the hand-over to download,
// making new attempts after failed tasks. It returns an error only for
// failures that end the whole run.
func (r *run) runJob(ctx context.Context, n *node) error {
	st, jr := n.st, n.jr
	if ctx.Err() != nil {
		return nil
	}
	if st.Action == Download && r.startDownload(ctx, st, jr, true) {
		// Only the download proves the recorded URLs live: released before
		// it, a dependent would be sent (and pay for) URLs that turn out
		// dead while this job regenerates and gets new ones.
		r.sched.resolved(n)
		return nil
	}
	att, body, fresh, err := r.firstAttempt(st, jr)
	if err != nil {
		return r.fail(st, jr, err, false)
	}
	resumedSend := st.Action == Resume && att.TaskID == ""
	retries := r.m.Settings.Retries
	for {
		if att.TaskID == "" {
			if sent, err := r.send(ctx, st, jr, att, body, resumedSend); !sent {
				return err
			}
		}
		resumedSend = false
		jr.TaskID = att.TaskID
		task, reads, err := r.poll(ctx, st, att)
		if err != nil {
			var apiErr *apipod.APIError
			switch {
			case ctx.Err() != nil:
				return nil
			case errors.As(err, &apiErr) && apiErr.Fatal():
				return r.fail(st, jr, err, true)
			}
			r.finishAttempt(st.Job.ID, att.N, func(a *lockfile.Attempt) {
				a.Status = statusOf(err)
				a.ErrorMessage = err.Error()
			})
			return r.fail(st, jr, fmt.Errorf("poll task %s: %w", att.TaskID, err), false)
		}
		if task.Status == apipod.StatusCompleted {
			r.completed(st, jr, att, task, reads)
			if len(n.down) > 0 {
				// Dependents send these URLs; make them durable first so a
				// crash cannot lead a rerun to send other URLs under the
				// same idempotency key.
				if err := r.cfg.Store.Flush(); err != nil {
					return r.fail(st, jr, fmt.Errorf("write lockfile: %w", err), false)
				}
			}
			r.sched.resolved(n)
			r.startDownload(ctx, st, jr, false)
			return nil
		}
		taskErr := &TaskError{TaskID: task.ID, Status: task.Status, Code: task.ErrorCode, Message: task.ErrorMessage}
		r.finishAttempt(st.Job.ID, att.N, func(a *lockfile.Attempt) {
			a.Status, a.ErrorCode, a.ErrorMessage = task.Status, task.ErrorCode, task.ErrorMessage
		})
		if retries <= 0 || ctx.Err() != nil {
			return r.fail(st, jr, taskErr, false)
		}
		retries--
		r.emit(Event{Kind: EventRetrying, Job: jr.ID, Model: jr.Model, Attempt: att.N, TaskID: att.TaskID, Err: taskErr})
		if !fresh {
			// A resumed attempt's body was resolved by an earlier run; a
			// new attempt sends today's.
			if body, err = r.requestBody(st); err != nil {
				return r.fail(st, jr, err, false)
			}
			r.cfg.Store.Update(func(f *lockfile.File) { f.Jobs[st.Job.ID].Request = body })
			fresh = true
		}
		att = r.newAttempt(st)
	}
}

// firstAttempt is the attempt a job starts this run with, and the body a
// create of it sends; fresh says the body was resolved now. A resumed
// attempt keeps what it was sent with: a task in flight is polled by its
// id whatever became of its upstream job's URLs since, and an attempt whose
// create may have arrived resends its recorded body, since its key with
// another body is a 409 idempotency_conflict, not a replay.
func (r *run) firstAttempt(st *Step, jr *JobResult) (att *lockfile.Attempt, body []byte, fresh bool, err error) {
	if st.Action == Resume {
		att = r.lastAttempt(st.Job.ID)
		r.emit(Event{Kind: EventResumed, Job: jr.ID, Model: jr.Model, Attempt: att.N, TaskID: att.TaskID})
		if att.TaskID != "" {
			return att, nil, false, nil
		}
		if body = r.recordedRequest(st); body != nil {
			return att, body, false, nil
		}
	}
	if body, err = r.requestBody(st); err != nil {
		return nil, nil, false, err
	}
	switch st.Action {
	case Download, Create, Regenerate:
		// For Download, the URLs expired: the only way to the outputs is
		// a new task.
		r.resetJob(st, body)
		att = r.newAttempt(st)
	case Retry:
		r.cfg.Store.Update(func(f *lockfile.File) { f.Jobs[st.Job.ID].Request = body })
		att = r.newAttempt(st)
	}
	return att, body, true, nil
}

// send submits an attempt unless the run has stopped taking new work (402,
// --max-cost). It reports whether the attempt was sent; when it was not,
// the job ends here with the returned error, nil unless the whole run must
// stop. resumed marks an attempt an earlier run may have sent: held, it
// stays on record for the next run to resend with its key.
func (r *run) send(ctx context.Context, st *Step, jr *JobResult, att *lockfile.Attempt, body []byte, resumed bool) (bool, error) {
	var booked booking
	if err := r.held(); err == nil {
		if booked, err = r.budget.reserve(ctx, st.Job.Model); err != nil {
			if ctx.Err() != nil {
				return false, nil // interrupted while waiting for a price
			}
			halt := error(err)
			r.halt.CompareAndSwap(nil, &halt)
		}
	}
	if err := r.held(); err != nil {
		r.budget.settle(st.Job.Model, booked, 0)
		if !resumed {
			r.markUnsubmitted(st, att, err)
		}
		jr.Err = err
		r.emit(Event{Kind: EventHeld, Job: jr.ID, Model: jr.Model, Err: err})
		return false, nil
	}
	jr.Attempts++
	before := jr.Cost
	err := r.submit(ctx, st, jr, att, body)
	r.budget.settle(st.Job.Model, booked, jr.Cost-before)
	if err != nil {
		return false, r.submitFailed(ctx, st, jr, att, err)
	}
	return true, nil
}

// TaskError is a task that ended without results.
type TaskError struct {
	TaskID, Status, Code, Message string
}

func (e *TaskError) Error() string {
	s := "task " + e.TaskID + " " + e.Status
	if e.Code != "" {
		s += " (" + e.Code + ")"
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

func statusOf(err error) string {
	switch {
	case errors.Is(err, errDeadline):
		return statusTimedOut
	case errors.Is(err, errLost):
		return statusLost
	}
	return apipod.StatusFailed
}

func (r *run) held() error {
	if h := r.halt.Load(); h != nil {
		return *h
	}
	return nil
}

// submitFailed handles a create that did not yield a task id.
func (r *run) submitFailed(ctx context.Context, st *Step, jr *JobResult, att *lockfile.Attempt, err error) error {
	if ctx.Err() != nil {
		// Whether the request arrived is unknown; the attempt stays
		// "submitting", and the next run resends it with the same key.
		return nil
	}
	var apiErr *apipod.APIError
	if errors.As(err, &apiErr) && !apiErr.Retryable() {
		if !apiErr.Ambiguous {
			// The API refused the request, so no task exists for this
			// key: close the attempt, and let the next run start a fresh
			// one. A retryable answer (5xx, 429, in progress) proves
			// nothing, nor does a refusal after one: an earlier try may
			// have made the task and lost its answer, so that attempt
			// stays "submitting" and the next run resends its key.
			r.finishAttempt(st.Job.ID, att.N, func(a *lockfile.Attempt) {
				a.Status, a.ErrorCode, a.ErrorMessage, a.RequestID = apipod.StatusFailed, apiErr.Code, apiErr.Message, apiErr.RequestID
			})
		}
		switch {
		case apiErr.Fatal():
			return r.fail(st, jr, err, true)
		case apiErr.OutOfBalance():
			halt := fmt.Errorf("stopped submitting new tasks: %w", err)
			r.halt.CompareAndSwap(nil, &halt)
			jr.Err = err
			r.emit(Event{Kind: EventHeld, Job: jr.ID, Model: jr.Model, Err: err})
			return nil
		}
	}
	if apiErr == nil {
		// The API never answered, through every retry of the client: it
		// is down or unreachable, and every other create would wait as
		// long to learn the same. Jobs not yet sent stay pending.
		halt := fmt.Errorf("stopped submitting new tasks: the API did not answer: %w", err)
		r.halt.CompareAndSwap(nil, &halt)
	}
	return r.fail(st, jr, fmt.Errorf("submit: %w", err), false)
}

func (r *run) fail(st *Step, jr *JobResult, err error, fatal bool) error {
	jr.State = StateFailed
	jr.Err = err
	r.emit(Event{Kind: EventFailed, Job: jr.ID, Model: jr.Model, TaskID: jr.TaskID, Err: err})
	if fatal {
		return fmt.Errorf("job %q: %w", st.Job.ID, err)
	}
	return nil
}

// resetJob makes the lock entry describe the job's current spec, keeping the
// attempt history so attempt numbers, and with them idempotency keys, are
// never reused.
func (r *run) resetJob(st *Step, body []byte) {
	r.cfg.Store.Update(func(f *lockfile.File) {
		lj := f.Jobs[st.Job.ID]
		if lj == nil {
			lj = &lockfile.Job{}
			f.Jobs[st.Job.ID] = lj
		}
		lj.SpecHash = st.spec.hash
		lj.Model = st.Job.Model
		lj.Kind = string(st.spec.kind)
		lj.Backend = r.cfg.Backend
		lj.Request = body
		lj.Results, lj.Outputs = nil, nil
		lj.CompletedAt, lj.ExpiresAt = time.Time{}, time.Time{}
		lj.Cost, lj.DurationMS = "", 0
	})
}

// newAttempt records the next attempt with its derived idempotency key
// before anything is sent.
func (r *run) newAttempt(st *Step) *lockfile.Attempt {
	var att lockfile.Attempt
	r.cfg.Store.Update(func(f *lockfile.File) {
		lj := f.Jobs[st.Job.ID]
		n := 1
		if last := lj.LastAttempt(); last != nil {
			n = last.N + 1
		}
		att = lockfile.Attempt{N: n, SpecHash: st.spec.hash, Status: statusSubmitting,
			IdempotencyKey: idempotencyKey(r.salt, st.Job.ID, st.spec.hash, n)}
		a := att
		lj.Attempts = append(lj.Attempts, &a)
	})
	return &att
}

func (r *run) lastAttempt(id string) *lockfile.Attempt {
	var att lockfile.Attempt
	r.cfg.Store.View(func(f *lockfile.File) { att = *f.Jobs[id].LastAttempt() })
	return &att
}

// finishAttempt edits attempt n of a job in the lockfile.
func (r *run) finishAttempt(id string, n int, edit func(a *lockfile.Attempt)) {
	r.cfg.Store.Update(func(f *lockfile.File) {
		lj := f.Jobs[id]
		for i := len(lj.Attempts) - 1; i >= 0; i-- {
			if lj.Attempts[i].N == n {
				edit(lj.Attempts[i])
				if lj.Attempts[i].FinishedAt.IsZero() && !inFlight(lj.Attempts[i].Status) {
					lj.Attempts[i].FinishedAt = r.cfg.Now().UTC()
				}
				return
			}
		}
	})
}

// markUnsubmitted closes an attempt that was never sent because the run
// stopped taking new work, so the next run starts it afresh.
func (r *run) markUnsubmitted(st *Step, att *lockfile.Attempt, why error) {
	r.cfg.Store.Update(func(f *lockfile.File) {
		lj := f.Jobs[st.Job.ID]
		for i, a := range lj.Attempts {
			if a.N == att.N {
				lj.Attempts = append(lj.Attempts[:i], lj.Attempts[i+1:]...)
				return
			}
		}
	})
}

func (r *run) submit(ctx context.Context, st *Step, jr *JobResult, att *lockfile.Attempt, body []byte) error {
	created, err := r.cfg.API.Create(ctx, st.spec.kind, body, att.IdempotencyKey)
	if err != nil {
		return err
	}
	now := r.cfg.Now().UTC()
	att.TaskID = created.TaskID
	att.SubmittedAt = now
	att.Status = apipod.StatusPending
	if att.Cost == "" {
		// A replay of an answer this run already counted is not a new spend.
		jr.Cost += parseCost(created.Cost)
	}
	att.Cost = created.Cost
	r.finishAttempt(st.Job.ID, att.N, func(a *lockfile.Attempt) {
		a.TaskID, a.Status, a.SubmittedAt = created.TaskID, apipod.StatusPending, now
		a.RequestID, a.Cost = created.RequestID, created.Cost
	})
	r.emit(Event{Kind: EventSubmitted, Job: jr.ID, Model: jr.Model, Attempt: att.N, TaskID: created.TaskID, Replayed: created.Replayed})
	return nil
}

func (r *run) completed(st *Step, jr *JobResult, att *lockfile.Attempt, task *apipod.Task, reads *taskReads) {
	now := r.cfg.Now().UTC()
	done := task.CompletedAt
	if done.IsZero() {
		done = now
	}
	// completed_at has whole seconds only; the moment the runner saw the
	// completion is the better measure of a task's duration.
	jr.Duration = now.Sub(att.SubmittedAt)
	if !att.SubmittedAt.IsZero() && st.Action != Resume {
		r.durs.learn(st.Job.Model, jr.Duration, reads)
	}
	r.cfg.Store.Update(func(f *lockfile.File) {
		lj := f.Jobs[st.Job.ID]
		lj.Results = task.Result
		lj.CompletedAt = done.UTC()
		lj.ExpiresAt = done.Add(resultTTL).UTC()
		lj.Outputs = nil
		lj.DurationMS = jr.Duration.Milliseconds()
		var total float64
		for _, a := range lj.Attempts {
			if a.N == att.N {
				a.Status, a.FinishedAt = apipod.StatusCompleted, now
			}
			if a.SpecHash == st.spec.hash {
				total += parseCost(a.Cost)
			}
		}
		if total > 0 {
			lj.Cost = formatCost(total)
		}
	})
	r.emit(Event{Kind: EventCompleted, Job: jr.ID, Model: jr.Model, Attempt: att.N, TaskID: att.TaskID})
}

func formatCost(c float64) string { return fmt.Sprintf("%.4f", c) }
