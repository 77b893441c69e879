package report

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/apipod/apipod-batch/apipod"
	"github.com/apipod/apipod-batch/lockfile"
	"github.com/apipod/apipod-batch/manifest"
	"github.com/apipod/apipod-batch/runner"
)

var update = flag.Bool("update", false, "rewrite golden files")

var t0 = time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC)

// fixtureRun is a run of testdata/jobs.yaml with one job in each state.
func fixtureRun(t *testing.T) *Run {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "jobs.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := manifest.Parse("testdata/jobs.yaml", data, nil)
	if err != nil {
		t.Fatal(err)
	}
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	lock := &lockfile.File{Version: 1, Jobs: map[string]*lockfile.Job{
		"hero": {Model: "nano-banana-2", Kind: "image", Cost: "0.0400", DurationMS: 4200, CompletedAt: at(5),
			Attempts: []*lockfile.Attempt{{N: 1, TaskID: "img_1", Status: "completed", SubmittedAt: at(1), FinishedAt: at(5), RequestID: "req_1", Cost: "0.04"}},
			Outputs:  []lockfile.Output{{Path: "out/hero/0.png", SHA256: "aa11", Bytes: 1234}}},
		"clip": {Model: "veo3-1-fast", Kind: "video", Cost: "0.4000", DurationMS: 31000, CompletedAt: at(32),
			Attempts: []*lockfile.Attempt{{N: 1, TaskID: "vid_1", Status: "completed", SubmittedAt: at(1), FinishedAt: at(32), Cost: "0.40"}},
			Outputs:  []lockfile.Output{{Path: "out/clip/0.mp4", SHA256: "bb22", Bytes: 99000}}},
		"banner": {Model: "nano-banana-2", Kind: "image", Cost: "0.0400", DurationMS: 3000,
			Attempts: []*lockfile.Attempt{{N: 1, TaskID: "img_0", Status: "completed", Cost: "0.04"}},
			Outputs:  []lockfile.Output{{Path: "out/banner/0.png", SHA256: "cc33", Bytes: 2000}}},
		"broken": {Model: "nano-banana-2", Kind: "image", Attempts: []*lockfile.Attempt{
			{N: 1, TaskID: "img_2", Status: "failed", SubmittedAt: at(1), FinishedAt: at(3), ErrorCode: "content_policy", ErrorMessage: "prompt rejected"},
			{N: 2, TaskID: "img_3", Status: "failed", SubmittedAt: at(4), FinishedAt: at(6), ErrorCode: "content_policy", ErrorMessage: "prompt rejected", RequestID: "req_9"}}},
		"late": {Model: "nano-banana-2", Kind: "image", Attempts: []*lockfile.Attempt{
			{N: 1, TaskID: "img_4", Status: "processing", SubmittedAt: at(2)}}},
	}}
	res := &runner.Result{Elapsed: 33 * time.Second, Interrupted: true, Jobs: []*runner.JobResult{
		{ID: "banner", Model: "nano-banana-2", Kind: apipod.KindImage, Action: runner.Skip, State: runner.StateSkipped, Outputs: []string{"out/banner/0.png"}},
		{ID: "broken", Model: "nano-banana-2", Kind: apipod.KindImage, Action: runner.Create, State: runner.StateFailed, Attempts: 2, TaskID: "img_3",
			Err: errors.New("task img_3 failed: content_policy: prompt rejected | twice")},
		{ID: "clip", Model: "veo3-1-fast", Kind: apipod.KindVideo, Action: runner.Create, State: runner.StateDone, Attempts: 1, TaskID: "vid_1",
			Outputs: []string{"out/clip/0.mp4"}, Cost: 0.4, Duration: 31 * time.Second},
		{ID: "hero", Model: "nano-banana-2", Kind: apipod.KindImage, Action: runner.Create, State: runner.StateDone, Attempts: 1, TaskID: "img_1",
			Outputs: []string{"out/hero/0.png"}, Cost: 0.04, Duration: 4200 * time.Millisecond},
		{ID: "late", Model: "nano-banana-2", Kind: apipod.KindImage, Action: runner.Create, State: runner.StatePending, Attempts: 1, TaskID: "img_4"},
	}}
	return NewRun(m, lock, res, t0.Add(40*time.Second))
}

// golden compares got with testdata/NAME, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./report -update to create it)", err)
	}
	if string(got) != string(want) {
		t.Errorf("%s differs from the golden file (go test ./report -update rewrites it); got:\n%s", name, got)
	}
}
