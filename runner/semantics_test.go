package runner_test

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apipod/apipod-batch/apipod"
	"github.com/apipod/apipod-batch/apipod/apipodtest"
	"github.com/apipod/apipod-batch/internal/clock"
	"github.com/apipod/apipod-batch/runner"
)

// script is a switchable Options.Script that numbers the API requests of
// one route (create or status) it sees while on.
type script struct {
	off    atomic.Bool
	method string // http.MethodPost for creates, http.MethodGet for status reads
	mu     sync.Mutex
	n      int
	answer func(n int, r *http.Request) *apipodtest.Reply
}

func (s *script) script(r *http.Request) *apipodtest.Reply {
	if s.off.Load() || r.Method != s.method {
		return nil
	}
	s.mu.Lock()
	s.n++
	n := s.n
	s.mu.Unlock()
	return s.answer(n, r)
}

func envelope(status, code int, errorCode, message string) *apipodtest.Reply {
	return apipodtest.EnvelopeReply(status, code, message, map[string]string{"error_code": errorCode})
}

// TestCreateAnswers drives one job through odd answers to its create
// request, then applies again with a well-behaved API: whatever happened,
// the job ends done with one task per recorded attempt.
func TestCreateAnswers(t *testing.T) {
	tests := []struct {
		name   string
		faults apipodtest.Faults
		answer func(n int, r *http.Request) *apipodtest.Reply
		// first is the state after the first apply; check looks at its result.
		first runner.State
		check func(t *testing.T, e *env, res *runner.Result)
		// tasks is how many tasks the server makes in all; attempts those recorded.
		tasks, attempts int
	}{
		{name: "409 idempotency_conflict fails the attempt; the next apply uses a new key",
			answer: func(int, *http.Request) *apipodtest.Reply {
				return envelope(http.StatusConflict, http.StatusConflict, "idempotency_conflict", "Idempotency-Key was already used with a different request body")
			},
			first: runner.StateFailed, tasks: 1, attempts: 2,
			check: func(t *testing.T, e *env, res *runner.Result) {
				var apiErr *apipod.APIError
				if err := res.Jobs[0].Err; !errors.As(err, &apiErr) || apiErr.Code != "idempotency_conflict" || apiErr.Hint() == "" {
					t.Fatalf("err = %v, want an idempotency_conflict with a hint", err)
				}
				if a := e.lock().Jobs["job-000"].LastAttempt(); a.Status != apipod.StatusFailed || a.ErrorCode != "idempotency_conflict" {
					t.Fatalf("attempt %+v", a)
				}
			}},
		{name: "409 idempotency_in_progress is waited out with the same key",
			answer: func(n int, r *http.Request) *apipodtest.Reply {
				if n > 3 {
					return nil
				}
				rep := envelope(http.StatusConflict, http.StatusConflict, "idempotency_in_progress", "still processing")
				rep.Header = http.Header{"Retry-After": {"0.01"}}
				return rep
			},
			first: runner.StateDone, tasks: 1, attempts: 1},
		{name: "HTTP 200 with code 500 is retried",
			answer: func(n int, r *http.Request) *apipodtest.Reply {
				if n > 2 {
					return nil
				}
				return envelope(http.StatusOK, http.StatusInternalServerError, "internal_error", "upstream broke")
			},
			first: runner.StateDone, tasks: 1, attempts: 1},
		{name: "HTTP 200 with code 402 halts the run",
			answer: func(int, *http.Request) *apipodtest.Reply {
				return envelope(http.StatusOK, http.StatusPaymentRequired, "insufficient_quota", "Insufficient quota")
			},
			first: runner.StatePending, tasks: 1, attempts: 2,
			check: func(t *testing.T, e *env, res *runner.Result) {
				var apiErr *apipod.APIError
				if !errors.As(res.Halted, &apiErr) || !apiErr.OutOfBalance() {
					t.Fatalf("Halted = %v, want the 402", res.Halted)
				}
			}},
		{name: "HTTP 400 with an unknown code is kept",
			answer: func(int, *http.Request) *apipodtest.Reply {
				return envelope(http.StatusBadRequest, http.StatusBadRequest, "brand_new_code_2027", "something new")
			},
			first: runner.StateFailed, tasks: 1, attempts: 2,
			check: func(t *testing.T, e *env, res *runner.Result) {
				if err := res.Jobs[0].Err; err == nil || !strings.Contains(err.Error(), "brand_new_code_2027") {
					t.Fatalf("err = %v, want the code shown", err)
				}
				if a := e.lock().Jobs["job-000"].LastAttempt(); a.ErrorCode != "brand_new_code_2027" {
					t.Fatalf("attempt %+v", a)
				}
			}},
		{name: "retries run out after the task was made: the next apply resends the same key",
			faults: apipodtest.Faults{LostCreate: 1},
			answer: func(n int, r *http.Request) *apipodtest.Reply {
				if n == 1 {
					return nil // the fake makes the task and loses the answer
				}
				return envelope(http.StatusServiceUnavailable, http.StatusServiceUnavailable, "service_unavailable", "Service Unavailable")
			},
			first: runner.StateFailed, tasks: 1, attempts: 1,
			check: func(t *testing.T, e *env, res *runner.Result) {
				if a := e.lock().Jobs["job-000"].LastAttempt(); a.TaskID != "" || a.Status != "submitting" {
					t.Fatalf("attempt %+v, want it still submitting: a task may exist for its key", a)
				}
			}},
		{name: "a refusal after a lost answer keeps the key: the first try may have made the task",
			faults: apipodtest.Faults{LostCreate: 1},
			answer: func(n int, r *http.Request) *apipodtest.Reply {
				if n == 1 {
					return nil // the fake makes the task and loses the answer
				}
				return envelope(http.StatusBadRequest, http.StatusBadRequest, "invalid_request", "refused on the retry")
			},
			first: runner.StateFailed, tasks: 1, attempts: 1,
			check: func(t *testing.T, e *env, res *runner.Result) {
				var apiErr *apipod.APIError
				if !errors.As(res.Jobs[0].Err, &apiErr) || !apiErr.Ambiguous {
					t.Fatalf("err = %v, want a refusal marked ambiguous", res.Jobs[0].Err)
				}
				if a := e.lock().Jobs["job-000"].LastAttempt(); a.Status != "submitting" {
					t.Fatalf("attempt %+v, want it still submitting", a)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sc := &script{method: http.MethodPost, answer: tt.answer}
			e := newEnv(t, manifestYAML("  retries: 0\n", 1, "nano-banana-2"), apipodtest.Options{Faults: tt.faults, Script: sc.script})
			e.tune = func(c *apipod.Client) { c.Retry.Attempts = 4 }
			_, res, err := e.apply(context.Background(), testKey, nil)
			if err != nil {
				t.Fatal(err)
			}
			if j := res.Jobs[0]; j.State != tt.first {
				t.Fatalf("first apply: %s (%v), want %s", j.State, j.Err, tt.first)
			}
			if tt.check != nil {
				tt.check(t, e, res)
			}
			e.lock() // readable between runs

			sc.off.Store(true)
			e.srv.SetFaults(apipodtest.Faults{})
			_, res, err = e.apply(context.Background(), testKey, nil)
			if err != nil {
				t.Fatal(err)
			}
			if j := res.Jobs[0]; j.State != runner.StateDone && (tt.first != runner.StateDone || j.State != runner.StateSkipped) {
				t.Fatalf("second apply: %s (%v)", j.State, j.Err)
			}
			e.checkOutputs(1)
			attempts, _ := e.attemptsPerBody()
			if st := e.srv.Stats(); st.TasksCreated != tt.tasks || attempts != tt.tasks || len(e.lock().Jobs["job-000"].Attempts) != tt.attempts {
				t.Fatalf("%d tasks, %d attempts with a task, %d attempts; want %d tasks and %d attempts",
					st.TasksCreated, attempts, len(e.lock().Jobs["job-000"].Attempts), tt.tasks, tt.attempts)
			}
		})
	}
}

// TestStatusAnswers drives one job through odd answers to its status reads,
// then applies again with a well-behaved API.
func TestStatusAnswers(t *testing.T) {
	statusReply := func(r *http.Request, data map[string]any) *apipodtest.Reply {
		data["task_id"] = r.PathValue("task_id")
		return apipodtest.EnvelopeReply(http.StatusOK, http.StatusOK, "success", data)
	}
	tests := []struct {
		name     string
		settings string
		faults   apipodtest.Faults
		answer   func(n int, r *http.Request) *apipodtest.Reply
		first    runner.State
		// status is a status the first apply must have reported in an event.
		status string
		// inErr is text the first apply's job error must hold.
		inErr string
		// attempt is the status of the first attempt after the first apply.
		attempt     string
		errorCode   string
		tasks       int
		minScripted int
	}{
		{name: "completed with an empty result is not done yet",
			answer: func(n int, r *http.Request) *apipodtest.Reply {
				if n > 3 {
					return nil
				}
				return statusReply(r, map[string]any{"status": "completed", "result": []string{}})
			},
			first: runner.StateDone, attempt: apipod.StatusCompleted, tasks: 1, minScripted: 3},
		{name: "an unknown status is kept and shown, then the task completes",
			answer: func(n int, r *http.Request) *apipodtest.Reply {
				if n > 3 {
					return nil
				}
				return statusReply(r, map[string]any{"status": "queued_for_review"})
			},
			first: runner.StateDone, status: "queued_for_review", attempt: apipod.StatusCompleted, tasks: 1, minScripted: 3},
		{name: "an unknown status until the deadline times the attempt out",
			settings: "  timeout: 300ms\n",
			answer: func(n int, r *http.Request) *apipodtest.Reply {
				return statusReply(r, map[string]any{"status": "queued_for_review", "progress": 7})
			},
			first: runner.StateFailed, status: "queued_for_review", inErr: `last status "queued_for_review"`, attempt: "timed_out", tasks: 2},
		{name: "an unknown error code of a failed task is kept",
			answer: func(n int, r *http.Request) *apipodtest.Reply {
				return statusReply(r, map[string]any{"status": "failed", "error_code": "BRAND_NEW_2027", "error_message": "a new kind of failure"})
			},
			first: runner.StateFailed, inErr: "BRAND_NEW_2027", attempt: apipod.StatusFailed, errorCode: "BRAND_NEW_2027", tasks: 2},
		{name: "a cancelled task fails the attempt",
			answer: func(n int, r *http.Request) *apipodtest.Reply {
				return statusReply(r, map[string]any{"status": "cancelled"})
			},
			first: runner.StateFailed, inErr: "cancelled", attempt: apipod.StatusCancelled, tasks: 2},
		{name: "a task the API no longer knows (404) fails the job; the next apply makes a new attempt",
			faults: apipodtest.Faults{ForgetTask: 1},
			answer: func(int, *http.Request) *apipodtest.Reply { return nil },
			first:  runner.StateFailed, inErr: "no longer knows", attempt: "lost", tasks: 2},
		{name: "HTTP 200 with code 503 on a status read is retried",
			answer: func(n int, r *http.Request) *apipodtest.Reply {
				if n > 2 {
					return nil
				}
				return envelope(http.StatusOK, http.StatusServiceUnavailable, "service_unavailable", "try again")
			},
			first: runner.StateDone, attempt: apipod.StatusCompleted, tasks: 1, minScripted: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sc := &script{method: http.MethodGet, answer: tt.answer}
			e := newEnv(t, manifestYAML("  retries: 0\n"+tt.settings, 1, "nano-banana-2"), apipodtest.Options{Faults: tt.faults, Script: sc.script})
			var mu sync.Mutex
			statuses := map[string]bool{}
			_, res, err := e.apply(context.Background(), testKey, runner.ObserverFunc(func(ev runner.Event) {
				mu.Lock()
				defer mu.Unlock()
				statuses[ev.Status] = true
			}))
			if err != nil {
				t.Fatal(err)
			}
			j := res.Jobs[0]
			if j.State != tt.first || (tt.inErr != "" && (j.Err == nil || !strings.Contains(j.Err.Error(), tt.inErr))) {
				t.Fatalf("first apply: %s (%v), want %s with %q", j.State, j.Err, tt.first, tt.inErr)
			}
			if tt.status != "" && !statuses[tt.status] {
				t.Errorf("no event showed status %q: %v", tt.status, statuses)
			}
			if a := e.lock().Jobs["job-000"].Attempts[0]; a.Status != tt.attempt || a.ErrorCode != tt.errorCode || a.TaskID == "" {
				t.Errorf("attempt %+v, want status %q code %q", a, tt.attempt, tt.errorCode)
			}
			if got := e.srv.Stats().FaultsInjected["scripted"]; got < tt.minScripted {
				t.Errorf("%d scripted answers, want at least %d", got, tt.minScripted)
			}

			sc.off.Store(true)
			e.srv.SetFaults(apipodtest.Faults{})
			_, res, err = e.apply(context.Background(), testKey, nil)
			if err != nil {
				t.Fatal(err)
			}
			if j := res.Jobs[0]; j.State != runner.StateDone && (tt.first != runner.StateDone || j.State != runner.StateSkipped) {
				t.Fatalf("second apply: %s (%v)", j.State, j.Err)
			}
			e.checkOutputs(1)
			attempts, _ := e.attemptsPerBody()
			if st := e.srv.Stats(); st.TasksCreated != tt.tasks || attempts != tt.tasks {
				t.Fatalf("%d tasks for %d attempts, want %d", st.TasksCreated, attempts, tt.tasks)
			}
		})
	}
}

// TestOutOfBalanceHalts proves a 402 stops new submissions at once while
// the tasks in flight still finish, and leaves the jobs not sent pending.
func TestOutOfBalanceHalts(t *testing.T) {
	const jobs, par = 20, 4
	e := newEnv(t, manifestYAML("", jobs, "nano-banana-2"), apipodtest.Options{
		Duration: apipodtest.Fixed(150 * time.Millisecond),
	})
	var submitted atomic.Int32
	_, res, err := e.applyWith(context.Background(), testKey, par, runner.ObserverFunc(func(ev runner.Event) {
		if ev.Kind == runner.EventSubmitted && submitted.Add(1) == par {
			e.srv.SetFaults(apipodtest.Faults{OutOfBalance: true})
		}
	}))
	if err != nil {
		t.Fatal(err)
	}
	var apiErr *apipod.APIError
	if !errors.As(res.Halted, &apiErr) || !apiErr.OutOfBalance() || !strings.Contains(res.Halted.Error(), "stopped submitting") {
		t.Fatalf("Halted = %v, want the 402 and what it did", res.Halted)
	}
	if c := countStates(res); c[runner.StateDone] != par || c[runner.StatePending] != jobs-par || c[runner.StateFailed] != 0 {
		t.Fatalf("states %v, want %d done (in flight at the 402) and %d pending", c, par, jobs-par)
	}
	st := e.srv.Stats()
	if refused := st.FaultsInjected["out_of_balance"]; refused < 1 || refused > par {
		t.Fatalf("%d creates refused with 402; the run must stop submitting after the first", refused)
	}
	t.Logf("402 after %d tasks: %d creates refused, %d done, %d pending", par, st.FaultsInjected["out_of_balance"], par, jobs-par)

	e.srv.SetFaults(apipodtest.Faults{})
	plan, res, err := e.apply(context.Background(), testKey, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c := plan.Counts(); c[runner.Skip] != par {
		t.Fatalf("plan after top-up %v, want %d skipped", c, par)
	}
	if c := countStates(res); c[runner.StateDone] != jobs-par {
		t.Fatalf("states after top-up %v", c)
	}
	e.checkOutputs(jobs)
	e.oneTaskPerBody(jobs)
}

// TestUnauthorizedMidRunStopsEverything revokes the key while tasks are in
// flight: the run stops with the 401, keeps the tasks recorded, and the
// next apply with a good key resumes them.
func TestUnauthorizedMidRunStopsEverything(t *testing.T) {
	const jobs, par = 20, 4
	var revoked atomic.Bool
	e := newEnv(t, manifestYAML("", jobs, "veo3-1-fast"), apipodtest.Options{
		Duration: apipodtest.Fixed(200 * time.Millisecond),
		Script: func(r *http.Request) *apipodtest.Reply {
			if !revoked.Load() {
				return nil
			}
			return &apipodtest.Reply{Status: http.StatusUnauthorized,
				Body: []byte(`{"error":{"message":"API key revoked","type":"invalid_request_error","code":"invalid_api_key"}}`)}
		},
	})
	var submitted atomic.Int32
	start := time.Now()
	_, res, err := e.applyWith(context.Background(), testKey, par, runner.ObserverFunc(func(ev runner.Event) {
		if ev.Kind == runner.EventSubmitted && submitted.Add(1) == par {
			revoked.Store(true)
		}
	}))
	var apiErr *apipod.APIError
	if !errors.As(err, &apiErr) || !apiErr.Fatal() {
		t.Fatalf("err = %v, want the 401", err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("the run took %s to stop", took)
	}
	if c := countStates(res); c[runner.StateDone] != 0 {
		t.Fatalf("states %v", c)
	}
	if st := e.srv.Stats(); st.TasksCreated != par || st.FaultsInjected["scripted"] > 2*par {
		t.Fatalf("%d tasks, %d requests after the revocation", st.TasksCreated, st.FaultsInjected["scripted"])
	}

	revoked.Store(false)
	plan, res, err := e.apply(context.Background(), testKey, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c := plan.Counts(); c[runner.Resume] != par {
		t.Fatalf("plan %v, want %d tasks resumed", c, par)
	}
	if c := countStates(res); c[runner.StateDone] != jobs {
		t.Fatalf("states %v", c)
	}
	e.oneTaskPerBody(jobs)
	e.checkOutputs(jobs)
}

// TestExpiredResultURLsRegenerate proves result URLs that stopped serving
// (404) lead to one regeneration on the next apply, not a loop: whether
// they expired before the first download, or while the files were lost
// and the lockfile still thought them alive, or after the recorded expiry.
func TestExpiredResultURLsRegenerate(t *testing.T) {
	tests := []struct {
		name string
		// lose deletes the outputs and advances the clock by this much
		// after a successful first apply; 0 means the URLs are dead at once.
		lose time.Duration
		// action is what the second plan does.
		action runner.Action
	}{
		{name: "dead before the first download", action: runner.Download},
		{name: "outputs lost, URLs dead before the recorded expiry", lose: 2 * time.Hour, action: runner.Download},
		{name: "outputs lost after the recorded expiry", lose: 25 * time.Hour, action: runner.Regenerate},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, clk, dead := deadResultsEnv(t)
			dead.Store(tt.lose == 0)
			_, res, err := e.apply(context.Background(), testKey, nil)
			if err != nil {
				t.Fatal(err)
			}
			if tt.lose == 0 {
				var de *apipod.DownloadError
				if j := res.Jobs[0]; j.State != runner.StateFailed || !errors.As(j.Err, &de) || !de.Expired {
					t.Fatalf("first apply: %s (%v), want failed with an expired URL", j.State, j.Err)
				}
				dead.Store(false)
			} else {
				e.checkOutputs(1)
				for _, o := range e.lock().Jobs["job-000"].Outputs {
					if err := os.Remove(filepath.Join(e.dir, o.Path)); err != nil {
						t.Fatal(err)
					}
				}
				clk.Add(tt.lose)
			}

			plan, res, err := e.apply(context.Background(), testKey, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got := plan.Steps[0].Action; got != tt.action {
				t.Fatalf("second plan: %s (%s), want %s", got, plan.Steps[0].Reason, tt.action)
			}
			if j := res.Jobs[0]; j.State != runner.StateDone {
				t.Fatalf("second apply: %s (%v)", j.State, j.Err)
			}
			e.checkOutputs(1)
			if st := e.srv.Stats(); st.TasksCreated != 2 {
				t.Fatalf("%d tasks, want 2: one regeneration", st.TasksCreated)
			}
			if plan, _, _ := e.apply(context.Background(), testKey, nil); plan.Pending() {
				t.Fatalf("third plan has work: %v", plan.Counts())
			}
		})
	}
}

// deadResultsEnv is one job on a manual clock whose tasks finish at once
// and keep their URLs for an hour. While dead is set, status answers name a
// result URL the files host does not serve, as after an expiry or a purge.
func deadResultsEnv(t *testing.T) (e *env, clk *clock.Manual, dead *atomic.Bool) {
	clk, dead = clock.NewManual(time.Now()), &atomic.Bool{}
	e = newEnv(t, manifestYAML("  retries: 0\n", 1, "nano-banana-2"), apipodtest.Options{
		Now: clk.Now, ResultTTL: time.Hour,
		Duration: apipodtest.Fixed(0),
		Script: func(r *http.Request) *apipodtest.Reply {
			if r.Method != http.MethodGet || !dead.Load() {
				return nil
			}
			return apipodtest.EnvelopeReply(http.StatusOK, http.StatusOK, "success", map[string]any{
				"task_id": r.PathValue("task_id"), "status": "completed", "result": []string{e.srv.FilesURL + "/files/gone/0.png"}})
		},
	})
	e.now = clk.Now
	return e, clk, dead
}
