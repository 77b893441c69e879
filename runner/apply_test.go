package runner_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apipod/apipod-batch/apipod"
	"github.com/apipod/apipod-batch/apipod/apipodtest"
	"github.com/apipod/apipod-batch/lockfile"
	"github.com/apipod/apipod-batch/manifest"
	"github.com/apipod/apipod-batch/runner"
)

const testKey = "sk-test-7f3c9a"

// env is one manifest folder with its lockfile and a fake API.
type env struct {
	t    *testing.T
	dir  string
	path string
	srv  *apipodtest.Server
	// tune, when set, adjusts each client before use.
	tune func(*apipod.Client)
	// now, when set, is the runner's and the planner's clock.
	now func() time.Time
}

func newEnv(t *testing.T, yaml string, opts apipodtest.Options) *env {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "jobs.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	opts.APIKey = testKey
	if opts.Duration == nil {
		opts.Duration = func(model string, kind apipod.Kind, body map[string]any) time.Duration {
			if kind == apipod.KindVideo {
				return 30 * time.Millisecond
			}
			return 10 * time.Millisecond
		}
	}
	srv := apipodtest.NewServer(opts)
	t.Cleanup(srv.Close)
	return &env{t: t, dir: dir, path: path, srv: srv}
}

func (e *env) client(key string) *apipod.Client {
	c := apipod.NewClient(e.srv.URL, key)
	c.Retry = apipod.RetryPolicy{Attempts: 10, Initial: time.Millisecond, Max: 10 * time.Millisecond}
	c.RequestTimeout = 5 * time.Second
	if e.tune != nil {
		e.tune(c)
	}
	return c
}

// apply plans and applies the manifest once, as the CLI does.
func (e *env) apply(ctx context.Context, key string, obs runner.Observer) (*runner.Plan, *runner.Result, error) {
	e.t.Helper()
	return e.applyWith(ctx, key, 0, obs)
}

// applyWith is apply with a --parallelism of par (0: the manifest's).
func (e *env) applyWith(ctx context.Context, key string, par int, obs runner.Observer) (*runner.Plan, *runner.Result, error) {
	e.t.Helper()
	return e.applyAs(ctx, key, runner.PlanOptions{}, runner.Config{Observer: obs, Parallelism: par})
}

// applyOpts plans with opts and applies with cfg.
func (e *env) applyOpts(opts runner.PlanOptions, cfg runner.Config) (*runner.Plan, *runner.Result, error) {
	e.t.Helper()
	return e.applyAs(context.Background(), testKey, opts, cfg)
}

// applyAs plans with opts and applies with cfg, filling in the manifest,
// the lockfile, a client with key, the plan and the test's clock.
func (e *env) applyAs(ctx context.Context, key string, opts runner.PlanOptions, cfg runner.Config) (*runner.Plan, *runner.Result, error) {
	e.t.Helper()
	m, err := manifest.Load(e.path, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	store, err := lockfile.Open(lockfile.Path(e.path), lockfile.Options{FlushInterval: 5 * time.Millisecond})
	if err != nil {
		e.t.Fatal(err)
	}
	defer func() {
		if err := store.Close(); err != nil {
			e.t.Error(err)
		}
	}()
	now := time.Now
	if e.now != nil {
		now = e.now
	}
	opts.Now = now()
	store.View(func(f *lockfile.File) { cfg.Plan, err = runner.MakePlan(m, f, opts) })
	if err != nil {
		e.t.Fatal(err)
	}
	cfg.Manifest, cfg.Store, cfg.API, cfg.Now = m, store, e.client(key), e.now
	res, err := runner.Apply(ctx, cfg)
	return cfg.Plan, res, err
}

func (e *env) lock() *lockfile.File {
	e.t.Helper()
	f, err := lockfile.Load(lockfile.Path(e.path))
	if err != nil {
		e.t.Fatal(err)
	}
	return f
}

// checkOutputs proves every job's files are on disk with the bytes the
// server served for its result URLs.
func (e *env) checkOutputs(wantJobs int) {
	e.t.Helper()
	f := e.lock()
	if len(f.Jobs) != wantJobs {
		e.t.Fatalf("lockfile has %d jobs, want %d", len(f.Jobs), wantJobs)
	}
	for id, j := range f.Jobs {
		if len(j.Outputs) == 0 || len(j.Outputs) != len(j.Results) {
			e.t.Fatalf("job %s: %d outputs for %d results", id, len(j.Outputs), len(j.Results))
		}
		for n, o := range j.Outputs {
			served, ok := e.srv.Served(j.Results[n])
			if !ok {
				e.t.Fatalf("job %s: result %s was not served by the fake", id, j.Results[n])
			}
			data, err := os.ReadFile(filepath.Join(e.dir, o.Path))
			if err != nil {
				e.t.Fatal(err)
			}
			sum := sha256.Sum256(data)
			if got := hex.EncodeToString(sum[:]); got != served || o.SHA256 != served {
				e.t.Fatalf("job %s output %d: disk %s, lock %s, served %s", id, n, got, o.SHA256, served)
			}
		}
	}
}

// oneTaskPerBody proves no request body was paid for more than once.
func (e *env) oneTaskPerBody(want int) {
	e.t.Helper()
	per := e.srv.TasksPerBody()
	if len(per) != want {
		e.t.Fatalf("server saw %d distinct bodies, want %d", len(per), want)
	}
	for body, n := range per {
		if n != 1 {
			e.t.Fatalf("%d tasks for one body: %s", n, body)
		}
	}
}

func manifestYAML(settings string, jobs int, models ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "version: 1\nsettings:\n  parallelism: 32\n  poll: {initial: 2ms, max: 20ms}\n%s", settings)
	b.WriteString("jobs:\n")
	for i := range jobs {
		model := models[i%len(models)]
		fmt.Fprintf(&b, "  job-%03d:\n    model: %s\n    prompt: \"product shot number %d\"\n", i, model, i)
		if model == "wan2.7-image" {
			b.WriteString("    params: {n: 2}\n")
		}
	}
	return b.String()
}

func countStates(res *runner.Result) map[runner.State]int {
	c := map[runner.State]int{}
	for _, j := range res.Jobs {
		c[j.State]++
	}
	return c
}

func TestApplyMixedJobsThenSkipAll(t *testing.T) {
	const jobs = 200
	e := newEnv(t, manifestYAML("", jobs, "nano-banana-2", "seedream-v4.5", "veo3-1-fast", "wan2.7-image"), apipodtest.Options{})
	_, res, err := e.apply(context.Background(), testKey, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c := countStates(res); c[runner.StateDone] != jobs {
		t.Fatalf("states %v, want %d done", c, jobs)
	}
	e.checkOutputs(jobs)
	e.oneTaskPerBody(jobs)
	if n := e.srv.Stats().FileRequestsWithAuth; n != 0 {
		t.Fatalf("%d file requests carried the API key", n)
	}

	before := e.srv.Stats()
	plan, res, err := e.apply(context.Background(), testKey, nil)
	if err != nil {
		t.Fatal(err)
	}
	if plan.Pending() {
		t.Fatalf("second plan has work: %v", plan.Counts())
	}
	if c := countStates(res); c[runner.StateSkipped] != jobs {
		t.Fatalf("second run states %v, want all skipped", c)
	}
	if after := e.srv.Stats(); after.Requests != before.Requests || after.Downloads != before.Downloads {
		t.Fatalf("second run sent %d API requests and %d downloads, want none",
			after.Requests-before.Requests, after.Downloads-before.Downloads)
	}
	t.Logf("server: %+v", e.srv.Stats())
}

func TestLostCreateAnswersAreReplayed(t *testing.T) {
	const jobs = 40
	e := newEnv(t, manifestYAML("", jobs, "nano-banana-2", "veo3-1-fast"),
		apipodtest.Options{Seed: 7, Faults: apipodtest.Faults{LostCreate: 0.4}})
	_, res, err := e.apply(context.Background(), testKey, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c := countStates(res); c[runner.StateDone] != jobs {
		t.Fatalf("states %v", c)
	}
	st := e.srv.Stats()
	lost := st.FaultsInjected["lost_create_502"] + st.FaultsInjected["lost_create_close"]
	if lost == 0 || st.Replays < lost {
		t.Fatalf("lost %d answers but %d replays", lost, st.Replays)
	}
	e.oneTaskPerBody(jobs)
	e.checkOutputs(jobs)
	t.Logf("lost create answers %d, replays %d, tasks %d", lost, st.Replays, st.TasksCreated)
}

func TestFailedTaskIsRetriedAsNewAttempt(t *testing.T) {
	e := newEnv(t, manifestYAML("  retries: 2\n", 1, "nano-banana-2"), apipodtest.Options{Faults: apipodtest.Faults{FailFirst: 1}})
	var mu sync.Mutex
	var kinds []runner.EventKind
	_, res, err := e.apply(context.Background(), testKey, runner.ObserverFunc(func(ev runner.Event) {
		mu.Lock()
		defer mu.Unlock()
		kinds = append(kinds, ev.Kind)
	}))
	if err != nil {
		t.Fatal(err)
	}
	if j := res.Jobs[0]; j.State != runner.StateDone || j.Attempts != 2 {
		t.Fatalf("job: state %s after %d attempts, want done after 2", j.State, j.Attempts)
	}
	lj := e.lock().Jobs["job-000"]
	if len(lj.Attempts) != 2 || lj.Attempts[0].Status != "failed" || lj.Attempts[1].Status != "completed" {
		t.Fatalf("attempts %+v %+v", lj.Attempts[0], lj.Attempts[len(lj.Attempts)-1])
	}
	if lj.Attempts[0].IdempotencyKey == lj.Attempts[1].IdempotencyKey {
		t.Fatal("the retry reused the failed attempt's idempotency key")
	}
	if lj.Attempts[0].ErrorCode == "" {
		t.Fatal("the failed attempt lost its error code")
	}
	for _, n := range e.srv.TasksPerBody() {
		if n != 2 {
			t.Fatalf("%d tasks, want one per attempt (2)", n)
		}
	}
	e.checkOutputs(1)
	if !containsKind(kinds, runner.EventRetrying) {
		t.Fatalf("no retrying event in %v", kinds)
	}
}

func TestRetriesRunOut(t *testing.T) {
	e := newEnv(t, manifestYAML("  retries: 1\n", 2, "nano-banana-2"), apipodtest.Options{Faults: apipodtest.Faults{FailTask: 1}})
	_, res, err := e.apply(context.Background(), testKey, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range res.Jobs {
		var te *runner.TaskError
		if j.State != runner.StateFailed || j.Attempts != 2 || !errors.As(j.Err, &te) || te.Code == "" {
			t.Fatalf("job %s: %s after %d attempts, err %v", j.ID, j.State, j.Attempts, j.Err)
		}
	}
	if !res.Failed() {
		t.Fatal("result does not report the failure")
	}
}

func TestBadKeyStopsTheRun(t *testing.T) {
	e := newEnv(t, manifestYAML("", 20, "nano-banana-2"), apipodtest.Options{})
	_, _, err := e.apply(context.Background(), "sk-wrong", nil)
	var apiErr *apipod.APIError
	if !errors.As(err, &apiErr) || !apiErr.Fatal() {
		t.Fatalf("err = %v, want a fatal *apipod.APIError", err)
	}
	if strings.Contains(err.Error(), "sk-wrong") {
		t.Fatalf("error shows the key: %v", err)
	}
	if st := e.srv.Stats(); st.TasksCreated != 0 || st.Unauthorized > 32 {
		t.Fatalf("bad key: %d tasks, %d unauthorized requests", st.TasksCreated, st.Unauthorized)
	}
}

func TestInterruptedRunResumesByTaskID(t *testing.T) {
	const jobs = 12
	e := newEnv(t, manifestYAML("", jobs, "veo3-1-fast"), apipodtest.Options{
		Duration: apipodtest.Fixed(300 * time.Millisecond),
	})
	ctx, cancel := context.WithCancel(context.Background())
	var once sync.Once
	var submitted sync.WaitGroup
	submitted.Add(jobs)
	go func() { submitted.Wait(); once.Do(cancel) }()
	start := time.Now()
	_, res, err := e.apply(ctx, testKey, runner.ObserverFunc(func(ev runner.Event) {
		if ev.Kind == runner.EventSubmitted {
			submitted.Done()
		}
	}))
	if err != nil {
		t.Fatal(err)
	}
	if !res.Interrupted {
		t.Fatal("result not marked interrupted")
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("interrupt took %s", d)
	}
	for id, j := range e.lock().Jobs {
		if a := j.LastAttempt(); a == nil || a.TaskID == "" {
			t.Fatalf("job %s: in-flight task not recorded: %+v", id, a)
		}
	}
	plan, res, err := e.apply(context.Background(), testKey, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c := plan.Counts(); c[runner.Resume] != jobs {
		t.Fatalf("plan after interrupt: %v, want %d to resume", c, jobs)
	}
	if c := countStates(res); c[runner.StateDone] != jobs {
		t.Fatalf("states %v", c)
	}
	e.oneTaskPerBody(jobs)
	if st := e.srv.Stats(); st.Creates != jobs {
		t.Fatalf("%d create requests, want %d: resumed tasks must not be resubmitted", st.Creates, jobs)
	}
	e.checkOutputs(jobs)
}

func containsKind(ks []runner.EventKind, k runner.EventKind) bool {
	for _, x := range ks {
		if x == k {
			return true
		}
	}
	return false
}
