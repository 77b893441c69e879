package main

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/apipod/apipod-batch/runner"
)

// lineLog writes one timestamped line per job state change to stderr: the
// plain progress output that suits logs and CI.
type lineLog struct {
	mu  sync.Mutex
	w   io.Writer
	now func() time.Time
}

var _ runner.Observer = (*lineLog)(nil)

func newLineLog(w io.Writer, now func() time.Time) *lineLog { return &lineLog{w: w, now: now} }

func (l *lineLog) printf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(l.w, "%s "+format+"\n", append([]any{l.now().Format("15:04:05")}, args...)...)
}

// plan prints what apply is about to do.
func (l *lineLog) plan(p *runner.Plan) {
	c := p.Counts()
	if !p.Pending() {
		l.printf("Nothing to do: all %d jobs are up to date.", c[runner.Skip])
		return
	}
	var parts []string
	for _, a := range []runner.Action{runner.Create, runner.Regenerate, runner.Retry, runner.Resume, runner.Download, runner.Skip} {
		if c[a] == 0 {
			continue
		}
		parts = append(parts, fmt.Sprintf("%d to %s", c[a], map[runner.Action]string{
			runner.Create: "generate", runner.Regenerate: "regenerate", runner.Retry: "retry",
			runner.Resume: "resume", runner.Download: "download", runner.Skip: "skip",
		}[a]))
	}
	l.printf("Plan: %s.", strings.Join(parts, ", "))
}

// Event prints a job's state change.
func (l *lineLog) Event(e runner.Event) {
	switch e.Kind {
	case runner.EventSkipped:
		return // the plan line and the summary already count them
	case runner.EventSubmitted:
		replay := ""
		if e.Replayed {
			replay = ", replayed"
		}
		l.printf("%-24s submitted   %s (attempt %d%s)", e.Job, e.TaskID, e.Attempt, replay)
	case runner.EventResumed:
		l.printf("%-24s resumed     %s (attempt %d)", e.Job, e.TaskID, e.Attempt)
	case runner.EventStatus:
		if e.Progress > 0 {
			l.printf("%-24s %-11s %s %d%%", e.Job, e.Status, e.TaskID, e.Progress)
			return
		}
		l.printf("%-24s %-11s %s", e.Job, e.Status, e.TaskID)
	case runner.EventCompleted:
		l.printf("%-24s completed   %s", e.Job, e.TaskID)
	case runner.EventDownloaded:
		l.printf("%-24s done        %d output(s)", e.Job, e.Outputs)
	case runner.EventRetrying:
		l.printf("%-24s retrying    %v", e.Job, e.Err)
	case runner.EventFailed:
		l.printf("%-24s failed      %v", e.Job, e.Err)
	case runner.EventHeld:
		l.printf("%-24s not sent    %v", e.Job, e.Err)
	}
}

// retry reports a request the client is about to repeat.
func (l *lineLog) retry(op string, err error, wait time.Duration) {
	l.printf("%-24s %s again in %s: %v", "", op, wait.Round(time.Millisecond), err)
}
