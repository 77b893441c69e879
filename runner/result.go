package runner

import (
	"strconv"
	"strings"
	"time"

	"github.com/apipod/apipod-batch/apipod"
)

// State is how a job ended in one run.
type State string

// The states of a job after Apply.
const (
	StateDone    State = "done"    // generated (or downloaded) in this run
	StateSkipped State = "skipped" // up to date before the run
	StateFailed  State = "failed"  // gave up in this run
	StatePending State = "pending" // not finished: interrupted, or the run stopped taking work
	StateBlocked State = "blocked" // not sent: an upstream job failed
)

// JobResult is what happened to one job.
type JobResult struct {
	ID       string
	Model    string
	Kind     apipod.Kind
	Action   Action
	State    State
	Attempts int      // attempts made in this run
	TaskID   string   // the last task polled
	Outputs  []string // paths relative to the manifest's folder
	Cost     float64  // reported cost of this run's attempts
	Duration time.Duration
	Err      error
}

// Result is the outcome of Apply, one entry per job in manifest order.
type Result struct {
	Jobs        []*JobResult
	Interrupted bool
	// Halted says why the run stopped submitting new tasks early (402), or nil.
	Halted  error
	Elapsed time.Duration
}

// Failed reports whether any job failed or was left pending.
func (r *Result) Failed() bool {
	for _, j := range r.Jobs {
		if j.State == StateFailed || j.State == StatePending || j.State == StateBlocked {
			return true
		}
	}
	return false
}

// parseCost reads an X-Request-Cost value such as "0.04", "$0.04" or
// "0.04 USD"; text it cannot read counts as zero.
func parseCost(s string) float64 {
	s = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(s), "$"))
	if i := strings.IndexByte(s, ' '); i >= 0 {
		s = s[:i]
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 {
		return 0
	}
	return f
}
