package runner_test

import (
	"context"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apipod/apipod-batch/apipod"
	"github.com/apipod/apipod-batch/apipod/apipodtest"
	"github.com/apipod/apipod-batch/runner"
)

const chainYAML = `version: 1
settings:
  parallelism: 4
  retries: 0
  poll: {initial: 2ms, max: 10ms}
jobs:
  a-hero:
    model: seedream-v4.5
    prompt: "PROMPT_A"
  b-edit:
    model: seedream-v4.5-edit
    prompt: "the hero, on a beach"
    params: {image_urls: ["${jobs.a-hero.result[0]}"]}
  c-clip:
    model: veo3-1-fast
    prompt: "slow push-in"
    params: {image_urls: ["${jobs.b-edit.result}"]}
  d-other:
    model: nano-banana-2
    prompt: "an unrelated banner"
`

// eventLog records events for assertions about order.
type eventLog struct {
	mu     sync.Mutex
	events []runner.Event
}

func (l *eventLog) Event(e runner.Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, e)
}

func (l *eventLog) first(kind runner.EventKind, job string) (time.Time, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, e := range l.events {
		if e.Kind == kind && e.Job == job {
			return e.Time, true
		}
	}
	return time.Time{}, false
}

func TestDependentsRunWithUpstreamResults(t *testing.T) {
	e := newEnv(t, strings.Replace(chainYAML, "PROMPT_A", "a mug", 1), apipodtest.Options{})
	_, res, err := e.apply(context.Background(), testKey, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c := countStates(res); c[runner.StateDone] != 4 {
		t.Fatalf("states %v", c)
	}
	lock := e.lock()
	hero := lock.Jobs["a-hero"].Results[0]
	if !strings.Contains(string(lock.Jobs["b-edit"].Request), hero) {
		t.Fatalf("b-edit was sent %s, without a-hero's result %s", lock.Jobs["b-edit"].Request, hero)
	}
	if !strings.Contains(string(lock.Jobs["c-clip"].Request), lock.Jobs["b-edit"].Results[0]) {
		t.Fatalf("c-clip was sent %s", lock.Jobs["c-clip"].Request)
	}
	e.checkOutputs(4)

	// A rerun regenerates nothing, although result URLs are per task.
	plan, _, err := e.apply(context.Background(), testKey, nil)
	if err != nil || plan.Pending() {
		t.Fatalf("rerun: %v, plan %v", err, plan.Counts())
	}
}

func TestRegenerationPropagatesDownTheChainOnly(t *testing.T) {
	e := newEnv(t, strings.Replace(chainYAML, "PROMPT_A", "a mug", 1), apipodtest.Options{})
	if _, _, err := e.apply(context.Background(), testKey, nil); err != nil {
		t.Fatal(err)
	}
	tasks := e.srv.Stats().TasksCreated
	if err := os.WriteFile(e.path, []byte(strings.Replace(chainYAML, "PROMPT_A", "a taller mug", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	plan, res, err := e.apply(context.Background(), testKey, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]runner.Action{"a-hero": runner.Regenerate, "b-edit": runner.Regenerate, "c-clip": runner.Regenerate, "d-other": runner.Skip}
	for _, st := range plan.Steps {
		if st.Action != want[st.Job.ID] {
			t.Errorf("%s: %s, want %s", st.Job.ID, st.Action, want[st.Job.ID])
		}
	}
	if c := countStates(res); c[runner.StateDone] != 3 || c[runner.StateSkipped] != 1 {
		t.Fatalf("states %v", c)
	}
	if got := e.srv.Stats().TasksCreated - tasks; got != 3 {
		t.Fatalf("%d new tasks, want 3", got)
	}
	lock := e.lock()
	if !strings.Contains(string(lock.Jobs["b-edit"].Request), lock.Jobs["a-hero"].Results[0]) {
		t.Fatal("b-edit was not sent the regenerated hero")
	}
}

func TestUpstreamFailureBlocksDependents(t *testing.T) {
	// With one slot, a-hero (first in manifest order) is created first.
	yaml := strings.Replace(strings.Replace(chainYAML, "PROMPT_A", "a mug", 1), "parallelism: 4", "parallelism: 1", 1)
	e := newEnv(t, yaml, apipodtest.Options{Faults: apipodtest.Faults{FailFirst: 1}})
	_, res, err := e.apply(context.Background(), testKey, nil)
	if err != nil {
		t.Fatal(err)
	}
	states := map[string]runner.State{}
	for _, j := range res.Jobs {
		states[j.ID] = j.State
	}
	if states["a-hero"] != runner.StateFailed ||
		states["b-edit"] != runner.StateBlocked || states["c-clip"] != runner.StateBlocked || states["d-other"] != runner.StateDone {
		t.Fatalf("states %v", states)
	}
	if n := e.srv.Stats().TasksCreated; n != 2 {
		t.Fatalf("%d tasks: blocked jobs must send nothing", n)
	}
	if !res.Failed() {
		t.Fatal("blocked jobs must fail the run")
	}
}

// TestIndependentJobsDoNotWait runs a slow upstream job beside fast
// independent ones: they finish while it is still running, and its
// dependent starts as soon as it completes.
func TestIndependentJobsDoNotWait(t *testing.T) {
	var b strings.Builder
	b.WriteString("version: 1\nsettings:\n  parallelism: 3\n  poll: {initial: 2ms, max: 5ms}\njobs:\n")
	b.WriteString("  slow:\n    model: seedream-v4.5\n    prompt: slow\n")
	b.WriteString("  slow-clip:\n    model: veo3-1-fast\n    prompt: clip\n    params: {image_urls: [\"${jobs.slow.result[0]}\"]}\n")
	for _, id := range []string{"f1", "f2", "f3", "f4", "f5", "f6", "f7", "f8"} {
		b.WriteString("  " + id + ":\n    model: nano-banana-2\n    prompt: " + id + "\n")
	}
	e := newEnv(t, b.String(), apipodtest.Options{Duration: func(_ string, _ apipod.Kind, body map[string]any) time.Duration {
		if body["prompt"] == "slow" {
			return 400 * time.Millisecond
		}
		return 10 * time.Millisecond
	}})
	log := &eventLog{}
	if _, _, err := e.apply(context.Background(), testKey, log); err != nil {
		t.Fatal(err)
	}
	slowDone, _ := log.first(runner.EventCompleted, "slow")
	for _, id := range []string{"f1", "f2", "f3", "f4", "f5", "f6", "f7", "f8"} {
		if at, ok := log.first(runner.EventCompleted, id); !ok || !at.Before(slowDone) {
			t.Errorf("%s completed at %v, not before slow at %v", id, at, slowDone)
		}
	}
	clipStart, _ := log.first(runner.EventSubmitted, "slow-clip")
	if lag := clipStart.Sub(slowDone); lag < 0 || lag > 100*time.Millisecond {
		t.Errorf("slow-clip submitted %s after slow completed", lag)
	}
}
