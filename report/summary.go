package report

import (
	"slices"
	"sort"
	"time"

	"github.com/apipod/apipod-batch/runner"
)

// ModelRow aggregates the jobs of one model (or, as Summary.Total, of all).
type ModelRow struct {
	Model    string        `json:"model"`
	Jobs     int           `json:"jobs"`
	Done     int           `json:"done"`
	Skipped  int           `json:"skipped"`
	Failed   int           `json:"failed"`
	Pending  int           `json:"pending"`
	Outputs  int           `json:"outputs"`
	Cost     float64       `json:"cost"`
	Median   time.Duration `json:"-"`
	MedianMS int64         `json:"median_duration_ms"`
}

// Failure is one job that did not finish, with the reason.
type Failure struct {
	Job   string `json:"job"`
	Model string `json:"model"`
	State string `json:"state"`
	Error string `json:"error"`
}

// Summary is the outcome of one apply.
type Summary struct {
	Models      []ModelRow    `json:"models"`
	Failures    []Failure     `json:"failures"`
	Total       ModelRow      `json:"total"`
	Elapsed     time.Duration `json:"-"`
	ElapsedMS   int64         `json:"elapsed_ms"`
	Interrupted bool          `json:"interrupted"`
	Halted      string        `json:"halted,omitempty"`
}

// Summarize aggregates a run's result per model, models sorted by id.
func Summarize(res *runner.Result) *Summary {
	rows := map[string]*ModelRow{}
	durations := map[string][]time.Duration{}
	var all []time.Duration
	s := &Summary{Elapsed: res.Elapsed, ElapsedMS: res.Elapsed.Milliseconds(), Interrupted: res.Interrupted,
		Failures: []Failure{}}
	if res.Halted != nil {
		s.Halted = res.Halted.Error()
	}
	for _, j := range res.Jobs {
		row := rows[j.Model]
		if row == nil {
			row = &ModelRow{Model: j.Model}
			rows[j.Model] = row
		}
		for _, r := range []*ModelRow{row, &s.Total} {
			r.Jobs++
			r.Outputs += len(j.Outputs)
			r.Cost += j.Cost
			switch j.State {
			case runner.StateDone:
				r.Done++
			case runner.StateSkipped:
				r.Skipped++
			case runner.StateFailed, runner.StateBlocked:
				// A job skipped because its upstream job failed did not
				// get what it asked for either.
				r.Failed++
			case runner.StatePending:
				r.Pending++
			}
		}
		if j.State == runner.StateDone && j.Duration > 0 {
			durations[j.Model] = append(durations[j.Model], j.Duration)
			all = append(all, j.Duration)
		}
		if j.State == runner.StateFailed || j.State == runner.StateBlocked || (j.State == runner.StatePending && j.Err != nil) {
			msg := ""
			if j.Err != nil {
				msg = j.Err.Error()
			}
			s.Failures = append(s.Failures, Failure{Job: j.ID, Model: j.Model, State: reportState(j.State), Error: msg})
		}
	}
	for m, r := range rows {
		r.Median = median(durations[m])
		r.MedianMS = r.Median.Milliseconds()
		s.Models = append(s.Models, *r)
	}
	sort.Slice(s.Models, func(i, k int) bool { return s.Models[i].Model < s.Models[k].Model })
	s.Total.Model = "total"
	s.Total.Median = median(all)
	s.Total.MedianMS = s.Total.Median.Milliseconds()
	return s
}

func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	ds = slices.Clone(ds)
	slices.Sort(ds)
	return ds[len(ds)/2]
}
