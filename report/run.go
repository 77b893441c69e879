package report

import (
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/apipod/apipod-batch/lockfile"
	"github.com/apipod/apipod-batch/manifest"
	"github.com/apipod/apipod-batch/runner"
)

// RunVersion is the version of the JSON run report's format (see Run).
const RunVersion = 1

// Run is the detailed record of one apply: every job with its attempts,
// task ids, timings, outputs and cost. It is the JSON report (`--report
// json=PATH`) as is, and the data behind the junit, markdown and html
// reports. Fields are only ever added within a version.
type Run struct {
	Version     int       `json:"version"`      // RunVersion
	Manifest    string    `json:"manifest"`     // the manifest's path as given
	GeneratedAt time.Time `json:"generated_at"` // when the report was made (UTC)
	ElapsedMS   int64     `json:"elapsed_ms"`   // wall time of the apply
	Interrupted bool      `json:"interrupted"`  // the run was stopped by a signal
	Halted      string    `json:"halted,omitempty"`
	Summary     Totals    `json:"summary"`
	Jobs        []JobRun  `json:"jobs"` // sorted by id

	dir string // the manifest's folder; output paths are relative to it
}

// Totals counts a run's jobs by state.
type Totals struct {
	Jobs    int     `json:"jobs"`
	Done    int     `json:"done"`
	Skipped int     `json:"skipped"`
	Failed  int     `json:"failed"`
	Pending int     `json:"pending"`
	Outputs int     `json:"outputs"`
	RunCost float64 `json:"run_cost"` // cost reported for this run's attempts
}

// JobRun is one job in a Run.
type JobRun struct {
	ID     string         `json:"id"`
	Model  string         `json:"model"`
	Kind   string         `json:"kind"`   // "image" or "video"
	State  string         `json:"state"`  // done, skipped, failed or pending
	Action string         `json:"action"` // what the plan decided: create, skip, retry, …
	Prompt string         `json:"prompt"`
	Params map[string]any `json:"params,omitempty"`
	Tags   []string       `json:"tags,omitempty"`
	// Attempts are every recorded attempt, oldest first, from the lockfile.
	Attempts []Attempt `json:"attempts"`
	TaskIDs  []string  `json:"task_ids"` // the attempts' task ids, oldest first
	// DurationMS is submit → completed of the successful attempt.
	DurationMS int64     `json:"duration_ms,omitempty"`
	Outputs    []Output  `json:"outputs"`
	Cost       float64   `json:"cost"`     // recorded cost of all attempts, in USD
	RunCost    float64   `json:"run_cost"` // cost of this run's attempts, in USD
	Error      string    `json:"error,omitempty"`
	Completed  time.Time `json:"completed_at,omitzero"`
}

// Attempt is one submission of a job.
type Attempt struct {
	N            int       `json:"n"`
	TaskID       string    `json:"task_id,omitempty"`
	Status       string    `json:"status"`
	SubmittedAt  time.Time `json:"submitted_at,omitzero"`
	FinishedAt   time.Time `json:"finished_at,omitzero"`
	ErrorCode    string    `json:"error_code,omitempty"`
	ErrorMessage string    `json:"error_message,omitempty"`
	RequestID    string    `json:"request_id,omitempty"`
	Cost         string    `json:"cost,omitempty"`
}

// Output is one file of a job.
type Output struct {
	Path   string `json:"path"` // relative to the manifest's folder, slash-separated
	SHA256 string `json:"sha256"`
	Bytes  int64  `json:"bytes"`
}

// NewRun joins what a run knows about its jobs: the manifest (prompt,
// params, tags), the lockfile as saved after the run (attempts, outputs,
// cost) and the runner's result (state, error). lock may be nil.
func NewRun(m *manifest.Manifest, lock *lockfile.File, res *runner.Result, now time.Time) *Run {
	r := &Run{
		Version: RunVersion, Manifest: m.Path, GeneratedAt: now.UTC(), ElapsedMS: res.Elapsed.Milliseconds(),
		Interrupted: res.Interrupted, Jobs: []JobRun{}, dir: m.Dir,
	}
	if res.Halted != nil {
		r.Halted = res.Halted.Error()
	}
	for _, jr := range res.Jobs {
		j := JobRun{ID: jr.ID, Model: jr.Model, Kind: string(jr.Kind), State: reportState(jr.State),
			Action: jr.Action.String(), RunCost: jr.Cost, Attempts: []Attempt{}, TaskIDs: []string{}, Outputs: []Output{}}
		if mj := m.Job(jr.ID); mj != nil {
			j.Prompt, j.Params, j.Tags = mj.Prompt, mj.Params, mj.Tags
		}
		if jr.Err != nil {
			j.Error = jr.Err.Error()
		}
		if lock != nil && lock.Jobs[jr.ID] != nil {
			fillFromLock(&j, lock.Jobs[jr.ID])
		}
		if j.DurationMS == 0 {
			j.DurationMS = jr.Duration.Milliseconds()
		}
		r.count(&j)
		r.Jobs = append(r.Jobs, j)
	}
	sort.Slice(r.Jobs, func(a, b int) bool { return r.Jobs[a].ID < r.Jobs[b].ID })
	return r
}

func fillFromLock(j *JobRun, lj *lockfile.Job) {
	for _, a := range lj.Attempts {
		j.Attempts = append(j.Attempts, Attempt{N: a.N, TaskID: a.TaskID, Status: a.Status,
			SubmittedAt: a.SubmittedAt, FinishedAt: a.FinishedAt, ErrorCode: a.ErrorCode,
			ErrorMessage: a.ErrorMessage, RequestID: a.RequestID, Cost: a.Cost})
		if a.TaskID != "" {
			j.TaskIDs = append(j.TaskIDs, a.TaskID)
		}
	}
	for _, o := range lj.Outputs {
		j.Outputs = append(j.Outputs, Output{Path: o.Path, SHA256: o.SHA256, Bytes: o.Bytes})
	}
	j.Cost, _ = strconv.ParseFloat(strings.TrimPrefix(lj.Cost, "$"), 64)
	j.DurationMS, j.Completed = lj.DurationMS, lj.CompletedAt
	if j.Kind == "" {
		j.Kind = lj.Kind
	}
}

func (r *Run) count(j *JobRun) {
	t := &r.Summary
	t.Jobs++
	t.Outputs += len(j.Outputs)
	t.RunCost += j.RunCost
	switch runner.State(j.State) {
	case runner.StateDone:
		t.Done++
	case runner.StateSkipped:
		t.Skipped++
	case runner.StateFailed:
		t.Failed++
	case runner.StatePending:
		t.Pending++
	}
}

// reportState is the state a report shows: a job skipped because its
// upstream job failed counts as failed (its error says why), so that the
// four documented states cover every job.
func reportState(s runner.State) string {
	if s == runner.StateBlocked {
		return string(runner.StateFailed)
	}
	return string(s)
}

// Elapsed returns the run's wall time.
func (r *Run) Elapsed() time.Duration { return time.Duration(r.ElapsedMS) * time.Millisecond }

// Unfinished returns the jobs that failed or are still pending.
func (r *Run) Unfinished() []JobRun {
	var out []JobRun
	for _, j := range r.Jobs {
		if j.State == string(runner.StateFailed) || j.State == string(runner.StatePending) {
			out = append(out, j)
		}
	}
	return out
}

// outputPath returns the absolute path of a job output.
func (r *Run) outputPath(rel string) string {
	return filepath.Join(r.dir, filepath.FromSlash(rel))
}
