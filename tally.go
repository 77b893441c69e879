package main

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/apipod/apipod-batch/runner"
)

// tally counts the jobs of a run by state as events arrive, for the live
// progress bar and the heartbeat lines. It is safe for concurrent use.
type tally struct {
	mu       sync.Mutex
	total    int // jobs with work to do (the plan's steps that are not skips)
	done     int
	failed   int // failed or held back
	retries  int // new attempts after a failed task
	start    time.Time
	tasks    map[string]*taskState // jobs in flight, by id
	backoffs []time.Time           // when each request retry's wait ends
}

// taskState is one job in flight.
type taskState struct {
	job      string
	since    time.Time
	status   string
	progress int
}

// counts is a snapshot of a tally.
type counts struct {
	total, done, inFlight, queued, failed, retries, backingOff int
	elapsed, eta                                               time.Duration // eta is 0 when unknown
	longest                                                    []taskState   // in flight, longest first
}

func newTally(total int, start time.Time) *tally {
	return &tally{total: total, start: start, tasks: map[string]*taskState{}}
}

// observe updates the counts for one event.
func (t *tally) observe(e runner.Event) {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch e.Kind {
	case runner.EventSubmitted, runner.EventResumed:
		if t.tasks[e.Job] == nil {
			t.tasks[e.Job] = &taskState{job: e.Job, since: e.Time, status: "submitted"}
		}
	case runner.EventStatus:
		if ts := t.tasks[e.Job]; ts != nil {
			ts.status, ts.progress = e.Status, e.Progress
		}
	case runner.EventCompleted:
		if ts := t.tasks[e.Job]; ts != nil {
			ts.status, ts.progress = "downloading", 100
		}
	case runner.EventRetrying:
		t.retries++
		if ts := t.tasks[e.Job]; ts != nil {
			ts.status, ts.progress = "retrying", 0
		}
	case runner.EventDownloaded:
		t.done++
		delete(t.tasks, e.Job)
	case runner.EventFailed, runner.EventHeld:
		t.failed++
		delete(t.tasks, e.Job)
	}
}

// backoff records a request that waits before it is tried again.
func (t *tally) backoff(until time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.backoffs = append(t.backoffs, until)
}

// snapshot returns the counts at now, with at most n longest-running tasks.
func (t *tally) snapshot(now time.Time, n int) counts {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.backoffs = slices.DeleteFunc(t.backoffs, func(u time.Time) bool { return !u.After(now) })
	c := counts{total: t.total, done: t.done, inFlight: len(t.tasks), failed: t.failed, retries: t.retries,
		backingOff: len(t.backoffs), elapsed: now.Sub(t.start)}
	c.queued = max(0, c.total-c.done-c.failed-c.inFlight)
	if c.done > 0 && c.done+c.failed < c.total {
		c.eta = c.elapsed / time.Duration(c.done+c.failed) * time.Duration(c.total-c.done-c.failed)
	}
	for _, ts := range t.tasks {
		c.longest = append(c.longest, *ts)
	}
	slices.SortFunc(c.longest, func(a, b taskState) int {
		if d := a.since.Compare(b.since); d != 0 {
			return d
		}
		return strings.Compare(a.job, b.job)
	})
	c.longest = c.longest[:min(n, len(c.longest))]
	return c
}

// line is the counts as one line of text, as the heartbeat prints them.
func (c counts) line() string {
	s := fmt.Sprintf("%d/%d done, %d in flight, %d queued, %d failed, %d retries, %d backing off, elapsed %s",
		c.done, c.total, c.inFlight, c.queued, c.failed, c.retries, c.backingOff, hms(c.elapsed))
	if c.eta > 0 {
		s += ", ETA " + hms(c.eta)
	}
	return s
}

// hms formats a duration as m:ss or h:mm:ss.
func hms(d time.Duration) string {
	d = d.Round(time.Second)
	h, m, s := int(d.Hours()), int(d.Minutes())%60, int(d.Seconds())%60
	if h > 0 {
		return fmt.Sprintf("%d:%02d:%02d", h, m, s)
	}
	return fmt.Sprintf("%d:%02d", m, s)
}
