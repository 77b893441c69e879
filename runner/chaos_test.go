package runner_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apipod/apipod-batch/apipod"
	"github.com/apipod/apipod-batch/apipod/apipodtest"
	"github.com/apipod/apipod-batch/runner"
)

// allModelsYAML is a manifest of jobs spread over every model of the
// registry, each with the parameters its schema requires.
func allModelsYAML(settings string, jobs int) string {
	models := apipod.Models()
	var b strings.Builder
	fmt.Fprintf(&b, "version: 1\nsettings:\n  parallelism: 32\n  poll: {initial: 2ms, max: 20ms}\n%sjobs:\n", settings)
	for i := range jobs {
		m := models[i%len(models)]
		fmt.Fprintf(&b, "  job-%04d:\n    model: %s\n    prompt: \"chaos shot number %d\"\n", i, m.ID, i)
		if slices.Contains(m.Required, "image_urls") || m.NeedsReference {
			fmt.Fprintf(&b, "    params: {image_urls: [\"https://example.com/in-%d.png\"]}\n", i)
		}
	}
	return b.String()
}

// TestChaos runs jobs of all 17 models through every fault at once: 5xx,
// 429 with a fractional Retry-After, lost create answers, truncated
// downloads, failed tasks and answers slower than the client's per-attempt
// timeout. Every job must end done with the bytes the server served, and
// the server must have made exactly one task per attempt the lockfile
// records.
func TestChaos(t *testing.T) {
	jobs := 200
	if long {
		jobs = 1000
	}
	e := newEnv(t, allModelsYAML("  retries: 6\n", jobs), apipodtest.Options{Seed: 11, Faults: apipodtest.Faults{
		ServerError: 0.2, RateLimit: 0.1, RetryAfter: "0.01", LostCreate: 0.05,
		TruncateDownload: 0.05, FailTask: 0.05, SlowAnswer: 0.03, SlowDelay: 150 * time.Millisecond,
	}})
	e.tune = func(c *apipod.Client) {
		c.RequestTimeout = 50 * time.Millisecond
		c.Retry = apipod.RetryPolicy{Attempts: 40, Initial: time.Millisecond, Max: 20 * time.Millisecond}
	}
	start := time.Now()
	_, res, err := e.apply(context.Background(), testKey, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c := countStates(res); c[runner.StateDone] != jobs {
		for _, j := range res.Jobs {
			if j.State != runner.StateDone {
				t.Errorf("job %s: %s: %v", j.ID, j.State, j.Err)
			}
		}
		t.Fatalf("states %v, want %d done", c, jobs)
	}
	e.checkOutputs(jobs)
	attempts, perBody := e.attemptsPerBody()
	st := e.srv.Stats()
	if st.TasksCreated != attempts {
		t.Errorf("the server made %d tasks for %d recorded attempts", st.TasksCreated, attempts)
	}
	if got := e.srv.TasksPerBody(); !maps.Equal(got, perBody) {
		t.Errorf("tasks per body differ from the attempts per job: server %d bodies, lockfile %d", len(got), len(perBody))
	}
	if st.FileRequestsWithAuth != 0 {
		t.Errorf("%d file requests carried the API key", st.FileRequestsWithAuth)
	}
	for _, f := range []string{"rate_limit", "server_error", "lost_create_502", "lost_create_close", "truncate", "fail_task", "slow"} {
		if st.FaultsInjected[f] == 0 {
			t.Errorf("fault %s never injected: %v", f, st.FaultsInjected)
		}
	}
	t.Logf("%d jobs over %d models in %s: %d API requests (%d creates, %d status reads), faults %v",
		jobs, len(apipod.Models()), time.Since(start).Round(time.Millisecond), st.Requests, st.Creates, st.StatusRequests, st.FaultsInjected)
	t.Logf("%d attempts recorded, %d tasks created (%.2f per attempt), %d replays, %d downloads, %d outputs verified",
		attempts, st.TasksCreated, float64(st.TasksCreated)/float64(attempts), st.Replays, st.Downloads, e.outputs())
}

// attemptsPerBody counts the lockfile's attempts that got a task, in all
// and per canonical request body (the fake's TasksPerBody key).
func (e *env) attemptsPerBody() (int, map[string]int) {
	e.t.Helper()
	total, per := 0, map[string]int{}
	for id, j := range e.lock().Jobs {
		var body map[string]any
		if err := json.Unmarshal(j.Request, &body); err != nil {
			e.t.Fatalf("job %s: request %s: %v", id, j.Request, err)
		}
		canon, err := json.Marshal(body)
		if err != nil {
			e.t.Fatal(err)
		}
		for _, a := range j.Attempts {
			if a.TaskID != "" {
				total++
				per[string(canon)]++
			}
		}
	}
	return total, per
}

// outputs counts the output files the lockfile records.
func (e *env) outputs() int {
	n := 0
	for _, j := range e.lock().Jobs {
		n += len(j.Outputs)
	}
	return n
}
