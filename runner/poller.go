package runner

import (
	"math/rand/v2"
	"time"
)

// Poller decides when to read a task's status next.
type Poller interface {
	// Wait returns how long to wait before the next status read.
	Wait(s PollState) time.Duration
}

// PollState is what is known about a task between two status reads.
type PollState struct {
	Model    string
	Explore  bool             // read early on purpose, to learn the model's spread of durations
	Elapsed  time.Duration    // since submission
	Polls    int              // status reads so far in this run
	Resumed  bool             // left in flight by an earlier run
	Progress []ProgressSample // reads that reported 0 < progress < 100, oldest first
}

// ProgressSample is one progress reading of a task.
type ProgressSample struct {
	At      time.Duration // since submission
	Percent int
}

// adaptivePoller places polls around each task's expected end. The first
// read of each model goes where reads saved and lag spent balance under
// one lag budget for the whole run (see lagBudget), placed from the
// model's spread of durations learned as the run goes; a task still running
// then reports its progress, and the learned progress curve (the model's,
// or all models' until it has its own) turns that one reading into a
// predicted end, where the next read goes. A model without a curve yet is
// read twice to get the rate; one whose tasks report no progress is read at
// the quantiles of its durations; one with no spread yet backs off
// exponentially from settings.poll.initial, starting earlier while its
// tasks keep ending before that first read. Every wait stays within
// [floor, poll.max].
type adaptivePoller struct {
	d                   *durations
	initial, max, floor time.Duration
}

// pollQuantiles are where reads go, as quantiles of the model's observed
// durations, for a model whose tasks report no progress.
var pollQuantiles = []float64{0.5, 0.7, 0.85, 0.95, 1}

func newAdaptivePoller(d *durations, initial, longest time.Duration) *adaptivePoller {
	return &adaptivePoller{d: d, initial: initial, max: longest, floor: max(initial/20, 5*time.Millisecond)}
}

func (a *adaptivePoller) Wait(s PollState) time.Duration {
	if s.Resumed && s.Polls == 0 {
		return 0 // it may well have finished while nobody watched
	}
	if n := len(s.Progress); n > 0 {
		last := s.Progress[n-1]
		if total, ok := a.d.predict(s.Model, last); ok && total > s.Elapsed {
			return a.toward(total, s.Elapsed)
		}
		if n >= 2 {
			if end, ok := endFrom(s.Progress[n-2], last); ok {
				return a.toward(end, s.Elapsed)
			}
		}
		// A second reading gives the rate, and teaches the model's curve.
		return a.clamp(s.Elapsed / 4)
	}
	if s.Polls == 0 {
		if t, ok := a.d.firstReadAt(s.Model, s.Explore); ok {
			// Not jittered: tasks are submitted at their own times, and a
			// spread first read wastes more slot time on the tasks read late
			// than it saves on those read early.
			return a.clamp(t - s.Elapsed)
		}
	}
	if _, warm := a.d.quantile(s.Model, 0.5); warm && a.d.byQuantiles(s.Model) {
		// No progress reported: read at the quantiles of the durations seen.
		for _, q := range pollQuantiles {
			if at, _ := a.d.quantile(s.Model, q); at > s.Elapsed+a.floor {
				return a.clamp(at - s.Elapsed)
			}
		}
		return a.jitter(a.clamp(s.Elapsed * 3 / 10))
	}
	// A model whose first reads, unplaced yet, keep finding their tasks
	// done starts earlier: otherwise it would never see one running and
	// learn its spread.
	wait := time.Duration(a.d.coldShare(s.Model) * float64(a.initial))
	// Stop growing at poll.max: after some 40 reads (20 minutes of a slow
	// video) wait*8 would overflow into a negative wait, which the floor
	// turns into a read every few milliseconds.
	for i := 0; i < s.Polls && wait < a.max; i++ {
		wait = wait * 8 / 5
	}
	return a.jitter(a.clamp(wait))
}

// toward aims a read just past a predicted end: the slack absorbs small
// prediction errors, which would otherwise cost a second read.
func (a *adaptivePoller) toward(end, elapsed time.Duration) time.Duration {
	return a.clamp(end + end/100 + a.floor/4 - elapsed)
}

func (a *adaptivePoller) clamp(d time.Duration) time.Duration {
	return min(max(d, a.floor), a.max)
}

// FixedCadence is the poller most clients use: every 3 s for the first
// 30 s, every 8 s until two minutes, then every 20 s — all times multiplied
// by scale. The benchmark compares against it.
func FixedCadence(scale float64) Poller { return fixedCadence(scale) }

type fixedCadence float64

func (f fixedCadence) Wait(s PollState) time.Duration {
	scaled := func(d time.Duration) time.Duration { return time.Duration(float64(d) * float64(f)) }
	switch {
	case s.Resumed && s.Polls == 0:
		return 0
	case s.Elapsed < scaled(30*time.Second):
		return scaled(3 * time.Second)
	case s.Elapsed < scaled(2*time.Minute):
		return scaled(8 * time.Second)
	}
	return scaled(20 * time.Second)
}

// jitter spreads a wait over ±10% so that tasks started together do not
// poll in step. Waits aimed at a predicted end are not jittered: they are
// already spread by the tasks' own progress.
func jitter(d time.Duration) time.Duration {
	return time.Duration(float64(d) * (0.9 + 0.2*rand.Float64()))
}

// jitter is the package jitter kept within [floor, max]: a wait clamped to
// poll.max must not come out 10% longer.
func (a *adaptivePoller) jitter(d time.Duration) time.Duration {
	return a.clamp(jitter(d))
}
