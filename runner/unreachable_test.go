package runner_test

import (
	"context"
	"strings"
	"testing"

	"github.com/apipod/apipod-batch/apipod"
	"github.com/apipod/apipod-batch/apipod/apipodtest"
	"github.com/apipod/apipod-batch/runner"
)

// TestUnreachableAPIStopsSubmitting closes the API before apply: the first
// creates fail after the client's retries, and the run stops submitting
// instead of making every other job wait as long to learn the same. The
// failed attempts keep their keys (nothing proves they were not received).
func TestUnreachableAPIStopsSubmitting(t *testing.T) {
	const jobs = 12
	yaml := strings.Replace(manifestYAML("", jobs, "nano-banana-2"), "parallelism: 32", "parallelism: 2", 1)
	e := newEnv(t, yaml, apipodtest.Options{})
	e.tune = func(c *apipod.Client) { c.Retry.Attempts = 2 }
	e.srv.Close()
	_, res, err := e.apply(context.Background(), testKey, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Halted == nil || !strings.Contains(res.Halted.Error(), "the API did not answer") {
		t.Fatalf("Halted = %v", res.Halted)
	}
	c := countStates(res)
	if c[runner.StateFailed] > 4 || c[runner.StatePending] < jobs-4 {
		t.Fatalf("states %v: the run went on submitting", c)
	}
	for id, j := range e.lock().Jobs {
		if a := j.LastAttempt(); a != nil && a.Status != "submitting" {
			t.Fatalf("job %s: attempt %+v closed, want it kept for the next apply", id, a)
		}
	}
}
