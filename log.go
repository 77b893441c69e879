package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/apipod/apipod-batch/runner"
)

// heartbeatEvery is how often the line log prints the counts when nothing
// else shows that the run is alive.
const heartbeatEvery = 30 * time.Second

// verbosity is how much the line log says.
type verbosity int

const (
	quiet   verbosity = iota // failures only
	normal                   // one line per job state change, retries, a heartbeat
	verbose                  // also progress percentages and skipped jobs
)

// ticker starts a ticker; tests inject one they drive by hand.
type ticker func(d time.Duration) (c <-chan time.Time, stop func())

func realTicker(d time.Duration) (<-chan time.Time, func()) {
	t := time.NewTicker(d)
	return t.C, t.Stop
}

// lineLog writes one timestamped line per job state change to stderr, and a
// heartbeat with the counts every 30 s: the plain progress output that suits
// logs and CI. With a JSON handler it writes the same as structured records
// (log/slog).
type lineLog struct {
	mu     sync.Mutex
	w      io.Writer
	now    func() time.Time
	level  verbosity
	json   slog.Handler // nil for text lines
	style  style
	tick   ticker
	tally  *tally
	status map[string]string // last status printed per job
	stop   func()
}

var (
	_ runner.Observer = (*lineLog)(nil)
	_ display         = (*lineLog)(nil)
)

func newLineLog(w io.Writer, now func() time.Time) *lineLog {
	return &lineLog{w: w, now: now, level: normal, tick: realTicker, status: map[string]string{}}
}

// withJSON makes the log write JSON records, one per line.
func (l *lineLog) withJSON() *lineLog {
	l.json = slog.NewJSONHandler(l.w, &slog.HandlerOptions{Level: slog.LevelDebug})
	return l
}

// log writes one line: text, or a record with msg and attrs.
func (l *lineLog) log(level slog.Level, msg string, attrs []slog.Attr, format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.json != nil {
		r := slog.NewRecord(l.now(), level, msg, 0)
		r.AddAttrs(attrs...)
		_ = l.json.Handle(context.Background(), r) // a log line that cannot be written is not worth failing the run
		return
	}
	fmt.Fprintf(l.w, "%s "+format+"\n", append([]any{l.style.dim(l.now().Format("15:04:05"))}, args...)...)
}

// plan prints what apply is about to do: the plan's sentence, with the
// counts as attributes in JSON logs.
func (l *lineLog) plan(p *runner.Plan) {
	if l.level == quiet {
		return
	}
	c := p.Counts()
	var attrs []slog.Attr
	for _, a := range []runner.Action{runner.Create, runner.Regenerate, runner.Retry, runner.Resume, runner.Download, runner.Skip} {
		if c[a] > 0 {
			attrs = append(attrs, slog.Int(a.String(), c[a]))
		}
	}
	l.log(slog.LevelInfo, "plan", attrs, "%s", planSentence(p))
}

// begin starts the heartbeat for a run of total jobs with work to do.
func (l *lineLog) begin(total int) {
	l.tally = newTally(total, l.now())
	if l.level == quiet {
		return
	}
	c, stop := l.tick(heartbeatEvery)
	done := make(chan struct{})
	l.stop = func() { stop(); close(done) }
	go func() {
		for {
			select {
			case <-c:
				l.heartbeat()
			case <-done:
				return
			}
		}
	}()
}

func (l *lineLog) heartbeat() {
	c := l.tally.snapshot(l.now(), 0)
	l.log(slog.LevelInfo, "heartbeat", []slog.Attr{
		slog.Int("done", c.done), slog.Int("total", c.total), slog.Int("in_flight", c.inFlight),
		slog.Int("queued", c.queued), slog.Int("failed", c.failed), slog.Int("retries", c.retries),
		slog.Int("backing_off", c.backingOff), slog.Duration("elapsed", c.elapsed), slog.Duration("eta", c.eta),
	}, "%s %s", symWait, c.line())
}

// end stops the heartbeat.
func (l *lineLog) end() {
	if l.stop != nil {
		l.stop()
	}
}

// Event prints a job's state change.
func (l *lineLog) Event(e runner.Event) {
	if l.tally != nil {
		l.tally.observe(e)
	}
	if !l.wants(e) {
		return
	}
	attrs := eventAttrs(e)
	level := slog.LevelInfo
	switch e.Kind {
	case runner.EventSkipped:
		l.log(slog.LevelDebug, string(e.Kind), attrs, "%s %-24s up to date", symSkip, e.Job)
	case runner.EventSubmitted:
		replay := ""
		if e.Replayed {
			replay = ", replayed"
		}
		l.log(level, string(e.Kind), attrs, "%s %-24s submitted   %s (attempt %d%s)", symSubmit, e.Job, e.TaskID, e.Attempt, replay)
	case runner.EventResumed:
		if e.TaskID == "" {
			l.log(level, string(e.Kind), attrs, "%s %-24s resending   attempt %d with its key", symSubmit, e.Job, e.Attempt)
			return
		}
		l.log(level, string(e.Kind), attrs, "%s %-24s resumed     %s (attempt %d)", symSubmit, e.Job, e.TaskID, e.Attempt)
	case runner.EventStatus:
		if e.Progress > 0 {
			l.log(slog.LevelDebug, string(e.Kind), attrs, "%s %-24s %-11s %s %d%%", symWait, e.Job, e.Status, e.TaskID, e.Progress)
			return
		}
		l.log(level, string(e.Kind), attrs, "%s %-24s %-11s %s", symWait, e.Job, e.Status, e.TaskID)
	case runner.EventCompleted:
		l.log(level, string(e.Kind), attrs, "%s %-24s completed   %s", symWait, e.Job, e.TaskID)
	case runner.EventDownloaded:
		l.log(level, string(e.Kind), attrs, "%s %-24s %s", l.style.ok(symOK), e.Job, l.style.ok(fmt.Sprintf("done        %d output(s)", e.Outputs)))
	case runner.EventRetrying:
		l.log(slog.LevelWarn, string(e.Kind), attrs, "%s %-24s %s", l.style.warn(symRetry), e.Job, l.style.warn(fmt.Sprintf("retrying    %v", e.Err)))
	case runner.EventFailed:
		l.log(slog.LevelError, string(e.Kind), attrs, "%s %-24s %s", l.style.fail(symFail), e.Job, l.style.fail(fmt.Sprintf("failed      %v", e.Err)))
	case runner.EventHeld:
		l.log(slog.LevelWarn, string(e.Kind), attrs, "%s %-24s %s", l.style.warn(symFail), e.Job, l.style.warn(fmt.Sprintf("not sent    %v", e.Err)))
	}
}

// wants says whether the log prints e at its verbosity: quiet prints only
// failures; normal skips up-to-date jobs and progress-only changes.
func (l *lineLog) wants(e runner.Event) bool {
	switch {
	case e.Kind == runner.EventFailed || e.Kind == runner.EventHeld:
		return true
	case l.level == quiet:
		return false
	case l.level == verbose:
		return true
	case e.Kind == runner.EventSkipped:
		return false
	case e.Kind == runner.EventStatus:
		l.mu.Lock()
		defer l.mu.Unlock()
		changed := l.status[e.Job] != e.Status
		l.status[e.Job] = e.Status
		return changed
	}
	return true
}

func eventAttrs(e runner.Event) []slog.Attr {
	attrs := []slog.Attr{slog.String("job", e.Job), slog.String("model", e.Model)}
	if e.Attempt > 0 {
		attrs = append(attrs, slog.Int("attempt", e.Attempt))
	}
	if e.TaskID != "" {
		attrs = append(attrs, slog.String("task_id", e.TaskID))
	}
	if e.Status != "" {
		attrs = append(attrs, slog.String("status", e.Status), slog.Int("progress", e.Progress))
	}
	if e.Replayed {
		attrs = append(attrs, slog.Bool("replayed", true))
	}
	if e.Kind == runner.EventDownloaded {
		attrs = append(attrs, slog.Int("outputs", e.Outputs))
	}
	if e.Err != nil {
		attrs = append(attrs, slog.String("error", e.Err.Error()))
	}
	return attrs
}

// retry reports a request the client is about to repeat.
func (l *lineLog) retry(op string, err error, wait time.Duration) {
	if l.tally != nil {
		l.tally.backoff(l.now().Add(wait))
	}
	if l.level == quiet {
		return
	}
	l.log(slog.LevelWarn, "retry", []slog.Attr{slog.String("op", op), slog.Duration("wait", wait), slog.String("error", err.Error())},
		"%s %-24s %s again in %s: %v", l.style.warn(symRetry), "", op, wait.Round(time.Millisecond), err)
}
