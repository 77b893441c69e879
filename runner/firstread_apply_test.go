package runner_test

import (
	"context"
	"testing"
	"time"

	"github.com/apipod/apipod-batch/apipod"
	"github.com/apipod/apipod-batch/apipod/apipodtest"
)

// TestFirstReadsFindTasksDone applies a run of two models whose tasks each
// take the same time, against the fake API: once the poller has learned
// each model's spread, its first read lands just after the task ends, so
// most tasks are read once. The poller before the lag budget, which aimed
// its first read at 35% of a model's tasks done, read 2.01 times per task
// here, 18% of them once.
func TestFirstReadsFindTasksDone(t *testing.T) {
	yaml := imagesAndVideos("  parallelism: 8\n  poll: {initial: 20ms, max: 1s}\n", 96, 32)
	e := newEnv(t, yaml, apipodtest.Options{Duration: func(_ string, kind apipod.Kind, _ map[string]any) time.Duration {
		if kind == apipod.KindVideo {
			return 120 * time.Millisecond
		}
		return 40 * time.Millisecond
	}})
	if _, _, err := e.apply(context.Background(), testKey, nil); err != nil {
		t.Fatal(err)
	}
	e.checkOutputs(128)
	reads, once := 0, 0
	ts := e.srv.Timings()
	for _, task := range ts {
		reads += task.StatusReads
		if task.StatusReads == 1 {
			once++
		}
	}
	perTask, onceShare := float64(reads)/float64(len(ts)), float64(once)/float64(len(ts))
	t.Logf("%d tasks: %.2f status reads per task, %.0f%% read once", len(ts), perTask, 100*onceShare)
	if perTask > 1.5 || onceShare < 0.6 {
		t.Fatalf("%.2f reads per task, %.0f%% read once; want at most 1.5 and at least 60%%", perTask, 100*onceShare)
	}
}
