package runner_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apipod/apipod-batch/apipod"
	"github.com/apipod/apipod-batch/apipod/apipodtest"
	"github.com/apipod/apipod-batch/internal/clock"
	"github.com/apipod/apipod-batch/runner"
)

// TestDependentOfDeadDownloadGetsNewURLs: an upstream job whose files were
// lost is planned as a download, since its URLs should still live; when
// they turn out dead, it regenerates. A dependent that has to run must be
// sent the new URLs, not the dead ones it would get if it started the
// moment the upstream step began.
func TestDependentOfDeadDownloadGetsNewURLs(t *testing.T) {
	const hero = "version: 1\nsettings:\n  retries: 0\n  poll: {initial: 2ms, max: 20ms}\njobs:\n" +
		"  hero:\n    model: nano-banana-2\n    prompt: a mug\n"
	const clip = "  clip:\n    model: veo3-1-fast\n    prompt: the mug spins\n" +
		"    params: {image_urls: [\"${jobs.hero.result[0]}\"]}\n"
	clk := clock.NewManual(time.Now())
	e := newEnv(t, hero, apipodtest.Options{Now: clk.Now, ResultTTL: time.Hour,
		Duration: apipodtest.Fixed(0)})
	e.now = clk.Now
	if _, _, err := e.apply(context.Background(), testKey, nil); err != nil {
		t.Fatal(err)
	}
	old := e.lock().Jobs["hero"]
	for _, o := range old.Outputs {
		if err := os.Remove(filepath.Join(e.dir, o.Path)); err != nil {
			t.Fatal(err)
		}
	}
	// The fake's URLs die after an hour; the lockfile expects 24.
	clk.Add(2 * time.Hour)
	if err := os.WriteFile(e.path, []byte(hero+clip), 0o644); err != nil {
		t.Fatal(err)
	}
	plan, res, err := e.apply(context.Background(), testKey, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range plan.Steps {
		if want := map[string]runner.Action{"hero": runner.Download, "clip": runner.Create}[st.Job.ID]; st.Action != want {
			t.Fatalf("%s: %s, want %s", st.Job.ID, st.Action, want)
		}
	}
	for _, j := range res.Jobs {
		if j.State != runner.StateDone {
			t.Fatalf("job %s: %s (%v)", j.ID, j.State, j.Err)
		}
	}
	f := e.lock()
	var req struct {
		ImageURLs []string `json:"image_urls"`
	}
	if err := json.Unmarshal(f.Jobs["clip"].Request, &req); err != nil {
		t.Fatal(err)
	}
	if want := f.Jobs["hero"].Results[0]; len(req.ImageURLs) != 1 || req.ImageURLs[0] != want {
		t.Fatalf("clip was sent %v; hero's results are now %v (dead: %v)", req.ImageURLs, f.Jobs["hero"].Results, old.Results)
	}
}

// TestDownloadStepWhoseNewURLsAreDeadFails: a download step whose recorded
// URLs are dead regenerates; when the new task's URLs are dead too, the
// job fails and says why, rather than ending pending without a reason.
func TestDownloadStepWhoseNewURLsAreDeadFails(t *testing.T) {
	e, clk, dead := deadResultsEnv(t)
	if _, _, err := e.apply(context.Background(), testKey, nil); err != nil {
		t.Fatal(err)
	}
	for _, o := range e.lock().Jobs["job-000"].Outputs {
		if err := os.Remove(filepath.Join(e.dir, o.Path)); err != nil {
			t.Fatal(err)
		}
	}
	clk.Add(2 * time.Hour)
	dead.Store(true)
	plan, res, err := e.apply(context.Background(), testKey, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := plan.Steps[0].Action; got != runner.Download {
		t.Fatalf("plan: %s, want download", got)
	}
	var de *apipod.DownloadError
	if j := res.Jobs[0]; j.State != runner.StateFailed || !errors.As(j.Err, &de) || !de.Expired {
		t.Fatalf("job: %s (%v), want failed with an expired URL", j.State, j.Err)
	}
}

// submittingClip makes a lockfile where hero is done and clip, which
// takes hero's result, has an attempt left "submitting" whose create made
// a task though its answer was lost.
func submittingClip(t *testing.T) *env {
	const hero = "version: 1\nsettings:\n  retries: 0\n  poll: {initial: 2ms, max: 20ms}\njobs:\n" +
		"  hero:\n    model: nano-banana-2\n    prompt: a mug\n"
	const clip = "  clip:\n    model: veo3-1-fast\n    prompt: the mug spins\n" +
		"    params: {image_urls: [\"${jobs.hero.result[0]}\"]}\n"
	var videosDown atomic.Bool
	e := newEnv(t, hero, apipodtest.Options{Script: func(r *http.Request) *apipodtest.Reply {
		if r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, "/v1/videos/") && videosDown.Load() {
			return apipodtest.EnvelopeReply(http.StatusServiceUnavailable, http.StatusServiceUnavailable, "busy", nil)
		}
		return nil
	}})
	if _, _, err := e.apply(context.Background(), testKey, nil); err != nil {
		t.Fatal(err)
	}
	// clip's create gets a 503 and the client does not retry: clip is
	// left "submitting". Then its request turns out to have made a task,
	// as when the answer, not the request, was lost.
	if err := os.WriteFile(e.path, []byte(hero+clip), 0o644); err != nil {
		t.Fatal(err)
	}
	videosDown.Store(true)
	e.tune = func(c *apipod.Client) { c.Retry.Attempts = 1 }
	if _, _, err := e.apply(context.Background(), testKey, nil); err != nil {
		t.Fatal(err)
	}
	videosDown.Store(false)
	e.tune = nil
	lj := e.lock().Jobs["clip"]
	a := lj.LastAttempt()
	if a == nil || a.Status != "submitting" {
		t.Fatalf("clip's attempt %+v, want submitting", a)
	}
	if _, err := e.client(testKey).Create(context.Background(), apipod.KindVideo, lj.Request, a.IdempotencyKey); err != nil {
		t.Fatal(err)
	}
	return e
}

// TestResumedSubmitResendsTheRecordedBody: a dependent whose create may
// have reached the API (its answer was lost, the attempt is "submitting")
// resends the very body that went out with its key on the next run, even
// when its upstream job regenerates in that run. Resolving the body again
// from the upstream's new results reuses the key with another body: the
// API answers 409 idempotency_conflict, the job fails with a hint that
// calls it a bug, and the task already paid for is lost.
func TestResumedSubmitResendsTheRecordedBody(t *testing.T) {
	e := submittingClip(t)
	// apply --replace hero: hero regenerates, clip resumes its attempt.
	_, res, err := e.applyOpts(runner.PlanOptions{Replace: func(id string) bool { return id == "hero" }}, runner.Config{})
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range res.Jobs {
		if j.State != runner.StateDone {
			t.Fatalf("job %s (%s): %s (%v)", j.ID, j.Action, j.State, j.Err)
		}
	}
	if st := e.srv.Stats(); st.TasksCreated != 3 {
		t.Fatalf("%d tasks, want 3: hero twice, clip once", st.TasksCreated)
	}
}

// TestResumeNeedsNoLiveUpstreamURLs: a task left in flight is polled
// again by its id; its upstream job's URLs, which only a new create would
// send, may have expired since without making the job fail unpolled.
func TestResumeNeedsNoLiveUpstreamURLs(t *testing.T) {
	const hero = "version: 1\nsettings:\n  retries: 0\n  poll: {initial: 2ms, max: 20ms}\njobs:\n" +
		"  hero:\n    model: nano-banana-2\n    prompt: a mug\n"
	const clip = "  clip:\n    model: veo3-1-fast\n    prompt: the mug spins\n" +
		"    params: {image_urls: [\"${jobs.hero.result[0]}\"]}\n"
	clk := clock.NewManual(time.Now())
	e := newEnv(t, hero, apipodtest.Options{Now: clk.Now,
		Duration: apipodtest.Fixed(0)})
	e.now = clk.Now
	if _, _, err := e.apply(context.Background(), testKey, nil); err != nil {
		t.Fatal(err)
	}
	// 23 hours later clip is added, submitted, and the run interrupted.
	clk.Add(23 * time.Hour)
	if err := os.WriteFile(e.path, []byte(hero+clip), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if _, _, err := e.apply(ctx, testKey, runner.ObserverFunc(func(ev runner.Event) {
		if ev.Kind == runner.EventSubmitted && ev.Job == "clip" {
			cancel()
		}
	})); err != nil {
		t.Fatal(err)
	}
	if a := e.lock().Jobs["clip"].LastAttempt(); a == nil || a.TaskID == "" || a.Status != apipod.StatusPending {
		t.Fatalf("clip's attempt %+v, want pending with a task id", a)
	}
	// Two hours on, hero's URLs have expired; clip's task has not.
	clk.Add(2 * time.Hour)
	plan, res, err := e.apply(context.Background(), testKey, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, j := range res.Jobs {
		want := map[string]runner.State{"hero": runner.StateSkipped, "clip": runner.StateDone}[j.ID]
		if j.State != want {
			t.Fatalf("job %s (%s: %s): %s (%v), want %s", j.ID, j.Action, plan.Steps[i].Reason, j.State, j.Err, want)
		}
	}
	if st := e.srv.Stats(); st.TasksCreated != 2 {
		t.Fatalf("%d tasks, want 2", st.TasksCreated)
	}
}

// TestHeldResumedSubmitKeepsItsAttempt: a run that stops taking work
// (--max-cost here) drops the attempts it never sent, but an attempt left
// "submitting" by an earlier run may have made a task: it stays on record,
// so the next run resends its key with its recorded body.
func TestHeldResumedSubmitKeepsItsAttempt(t *testing.T) {
	e := submittingClip(t)
	before := e.lock().Jobs["clip"].LastAttempt()
	_, res, err := e.applyOpts(runner.PlanOptions{}, runner.Config{MaxCost: 0.01, Estimate: func(string) float64 { return 1 }})
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range res.Jobs {
		if j.ID == "clip" && j.State != runner.StatePending {
			t.Fatalf("clip: %s (%v), want pending", j.State, j.Err)
		}
	}
	if a := e.lock().Jobs["clip"].LastAttempt(); a == nil || *a != *before {
		t.Fatalf("clip's attempt is now %+v, was %+v", a, before)
	}
}

// TestInFlightTaskOfAnOlderSpecIsNotResumed: a job whose prompt changed
// while its task was in flight regenerates; if that run stops taking work
// before submitting (--max-cost here), the lock entry holds the new spec
// with the old spec's task still in flight. The next run must not resume
// that task and record its outputs, made from the old prompt, as the new
// spec's.
func TestInFlightTaskOfAnOlderSpecIsNotResumed(t *testing.T) {
	const head = "version: 1\nsettings:\n  retries: 0\n  poll: {initial: 2ms, max: 20ms}\njobs:\n  clip:\n    model: veo3-1-fast\n"
	e := newEnv(t, head+"    prompt: old prompt\n", apipodtest.Options{
		Duration: apipodtest.Fixed(50 * time.Millisecond)})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if _, _, err := e.apply(ctx, testKey, runner.ObserverFunc(func(ev runner.Event) {
		if ev.Kind == runner.EventSubmitted {
			cancel()
		}
	})); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(e.path, []byte(head+"    prompt: new prompt\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.applyOpts(runner.PlanOptions{}, runner.Config{MaxCost: 0.01, Estimate: func(string) float64 { return 1 }}); err != nil {
		t.Fatal(err)
	}
	plan, res, err := e.applyOpts(runner.PlanOptions{}, runner.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if st := plan.Steps[0]; st.Action == runner.Resume {
		t.Fatalf("plan: %s (%s), resuming the old prompt's task", st.Action, st.Reason)
	}
	if j := res.Jobs[0]; j.State != runner.StateDone {
		t.Fatalf("clip: %s (%v)", j.State, j.Err)
	}
	if st := e.srv.Stats(); st.TasksCreated != 2 {
		t.Fatalf("%d tasks, want 2: one per prompt", st.TasksCreated)
	}
}
