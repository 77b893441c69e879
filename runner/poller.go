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

// adaptivePoller places polls around each task's expected completion: a
// task that reports progress is read twice to learn its rate and then once
// just after its predicted end; otherwise reads follow the quantiles of the
// model's observed durations, sparse early and dense near the usual end;
// with no history it backs off exponentially from settings.poll.initial.
// Every wait stays within [floor, settings.poll.max].
type adaptivePoller struct {
	d                   *durations
	initial, max, floor time.Duration
}

// pollQuantiles are where reads go, as quantiles of the model's durations,
// when a task reports no progress.
var pollQuantiles = []float64{0.5, 0.7, 0.85, 0.95, 1}

func newAdaptivePoller(d *durations, initial, longest time.Duration) *adaptivePoller {
	return &adaptivePoller{d: d, initial: initial, max: longest, floor: max(initial/20, 5*time.Millisecond)}
}

func (a *adaptivePoller) Wait(s PollState) time.Duration {
	if s.Resumed && s.Polls == 0 {
		return 0 // it may well have finished while nobody watched
	}
	if n := len(s.Progress); n >= 2 {
		p1, p2 := s.Progress[n-2], s.Progress[n-1]
		if p2.Percent > p1.Percent && p2.At > p1.At {
			perPercent := float64(p2.At-p1.At) / float64(p2.Percent-p1.Percent)
			eta := p2.At + time.Duration(perPercent*float64(100-p2.Percent))
			slack := eta/50 + a.floor/2
			return a.clamp(eta + slack - s.Elapsed)
		}
	}
	median, warm := a.d.quantile(s.Model, 0.5)
	if len(s.Progress) == 1 {
		// A second reading gives the rate.
		if warm {
			return a.clamp(median / 5)
		}
		return a.clamp(s.Elapsed / 4)
	}
	if !warm {
		wait := a.initial
		for range s.Polls {
			wait = wait * 8 / 5
		}
		return jitter(a.clamp(wait))
	}
	if s.Polls == 0 {
		return jitter(a.clamp(median * 35 / 100))
	}
	for _, q := range pollQuantiles {
		if at, _ := a.d.quantile(s.Model, q); at > s.Elapsed+a.floor {
			return a.clamp(at - s.Elapsed)
		}
	}
	return jitter(a.clamp(s.Elapsed * 3 / 10))
}

// jitter spreads a wait over ±10% so that tasks started together do not
// poll in step. Waits aimed at a predicted completion are not jittered:
// they are already spread by the tasks' own progress.
func jitter(d time.Duration) time.Duration {
	return time.Duration(float64(d) * (0.9 + 0.2*rand.Float64()))
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
