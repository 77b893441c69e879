package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/apipod/apipod-batch/lockfile"
	"github.com/apipod/apipod-batch/manifest"
	"github.com/apipod/apipod-batch/runner"
)

// statusOptions are the inputs of `status`.
type statusOptions struct {
	global   *globalOptions
	manifest string
	targets  []string

	streams *streams
	now     func() time.Time
}

func newStatusCmd(g *globalOptions, s *streams) *cobra.Command {
	opts := &statusOptions{global: g, streams: s, now: time.Now}
	cmd := &cobra.Command{
		Use:   "status [MANIFEST]",
		Short: "Show the recorded state of every job, from local files only",
		Long: "status reads the manifest, the lockfile and the outputs on disk, and prints one row per job:\n" +
			"id, model, state, attempts (TRIES), age, output files (FILES) and cost. States: new, outdated (the spec changed),\n" +
			"in_flight, failed, drifted (outputs missing or changed), done, orphaned (in the lockfile\n" +
			"only). It sends nothing and takes no lock.\n\n" +
			"With --json it prints {\"version\": 1, \"jobs\": [{\"id\", \"model\", \"state\", \"detail\",\n" +
			"\"attempts\", \"task_id\", \"submitted_at\", \"completed_at\", \"expires_at\", \"cost\", \"error\",\n" +
			"\"outputs\": [{\"path\", \"sha256\", \"bytes\"}]}]}; paths are relative to the current folder.",
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.manifest = manifestArg(args)
			return runStatus(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringArrayVar(&opts.targets, "target", nil, "only the jobs `SEL` picks: an id, a glob, or tag:NAME (repeatable)")
	return cmd
}

// statusVersion is the version of status's JSON format.
const statusVersion = 1

// statusJob is one job in status's JSON.
type statusJob struct {
	ID          string       `json:"id"`
	Model       string       `json:"model"`
	State       string       `json:"state"`
	Detail      string       `json:"detail,omitempty"`
	Attempts    int          `json:"attempts"`
	TaskID      string       `json:"task_id,omitempty"`
	SubmittedAt time.Time    `json:"submitted_at,omitzero"`
	CompletedAt time.Time    `json:"completed_at,omitzero"`
	ExpiresAt   time.Time    `json:"expires_at,omitzero"`
	Cost        string       `json:"cost,omitempty"`
	Error       string       `json:"error,omitempty"`
	Outputs     []outputJSON `json:"outputs"`
	age         time.Time    // when the job last changed, for the table
}

// outputJSON is one output file in the JSON of status and outputs.
type outputJSON struct {
	Job    string `json:"job,omitempty"`
	Path   string `json:"path"` // relative to the current folder, as the manifest path given
	SHA256 string `json:"sha256"`
	Bytes  int64  `json:"bytes"`
}

func runStatus(_ context.Context, opts *statusOptions) error {
	jobs, err := recordedJobs(opts.manifest, opts.global, opts.targets, opts.streams.err, true)
	if err != nil {
		return err
	}
	if opts.global.json {
		enc := json.NewEncoder(opts.streams.out)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			Version int         `json:"version"`
			Jobs    []statusJob `json:"jobs"`
		}{statusVersion, jobs})
	}
	return statusTable(opts.streams.out, jobs, opts.now())
}

// statusTable prints one row per job, then the detail of failed and
// drifted jobs.
func statusTable(w io.Writer, jobs []statusJob, now time.Time) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "JOB\tMODEL\tSTATE\tTRIES\tAGE\tFILES\tCOST")
	for _, j := range jobs {
		cost := "-"
		if c, err := strconv.ParseFloat(j.Cost, 64); err == nil {
			cost = dollars(c)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%d\t%s\n", j.ID, j.Model, j.State, j.Attempts, age(j.age, now), len(j.Outputs), cost)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, j := range jobs {
		if j.Detail != "" {
			if _, err := fmt.Fprintf(w, "%s: %s\n", j.ID, j.Detail); err != nil {
				return err
			}
		}
	}
	return nil
}

// age is how long ago t was, in the largest whole unit: 45s, 12m, 3h, 2d.
func age(t, now time.Time) string {
	if t.IsZero() {
		return "-"
	}
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return strconv.Itoa(int(max(d, 0)/time.Second)) + "s"
	case d < time.Hour:
		return strconv.Itoa(int(d/time.Minute)) + "m"
	case d < 48*time.Hour:
		return strconv.Itoa(int(d/time.Hour)) + "h"
	}
	return strconv.Itoa(int(d/(24*time.Hour))) + "d"
}

// recordedJobs reads the recorded jobs of the manifest (those targets pick,
// if any), in manifest order, then the lockfile's orphans (without
// targets). With states it also checks each job against its current spec
// and its outputs on disk (status); without, it reads only the lockfile
// (outputs), so listing files never rehashes them.
func recordedJobs(path string, g *globalOptions, targets []string, notes io.Writer, states bool) ([]statusJob, error) {
	m, err := loadManifest(path, g, notes)
	if err != nil {
		return nil, err
	}
	lock, err := lockfile.Load(lockfile.Path(path))
	if err != nil {
		return nil, err
	}
	pick, err := runner.Select(m, targets)
	if err != nil {
		return nil, err
	}
	var hashes map[string]string
	if states {
		if hashes, err = runner.SpecHashes(m); err != nil {
			return nil, err
		}
	}
	var jobs []statusJob
	for _, j := range m.Jobs {
		if pick == nil || pick(j.ID) {
			jobs = append(jobs, recordedJob(m, path, j.ID, j.Model, lock.Jobs[j.ID], hashes[j.ID], states))
		}
	}
	if pick == nil {
		for _, o := range runner.Orphans(m, lock) {
			jobs = append(jobs, recordedJob(m, path, o.ID, o.Model, lock.Jobs[o.ID], "", states))
		}
	}
	return jobs, nil
}

func recordedJob(m *manifest.Manifest, path, id, model string, lj *lockfile.Job, specHash string, states bool) statusJob {
	j := statusJob{ID: id, Model: model, Outputs: []outputJSON{}}
	var state runner.LockState
	if states {
		state, j.Detail = runner.LockStateOf(m.Dir, lj, specHash)
		j.State = string(state)
	}
	if lj == nil {
		return j
	}
	j.Attempts, j.Cost = len(lj.Attempts), lj.Cost
	j.CompletedAt, j.ExpiresAt = lj.CompletedAt, lj.ExpiresAt
	if last := lj.LastAttempt(); last != nil {
		j.TaskID, j.SubmittedAt = last.TaskID, last.SubmittedAt
		j.age = last.SubmittedAt
		if !last.FinishedAt.IsZero() {
			j.age = last.FinishedAt
		}
		if state == runner.LockFailed {
			j.Error = last.ErrorMessage
			if last.ErrorCode != "" {
				j.Error = last.ErrorCode + ": " + j.Error
			}
		}
	}
	for _, o := range lj.Outputs {
		j.Outputs = append(j.Outputs, outputJSON{Path: shownPath(path, o.Path), SHA256: o.SHA256, Bytes: o.Bytes})
	}
	return j
}

// shownPath turns a lockfile path (relative to the manifest's folder) into
// one relative to the current folder when the manifest path given is.
func shownPath(manifestPath, rel string) string {
	return filepath.Join(filepath.Dir(manifestPath), filepath.FromSlash(rel))
}
