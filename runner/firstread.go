package runner

import (
	"hash/fnv"
	"math"
	"time"
)

// lagBudget is how much time finished tasks may spend unnoticed, waiting
// for their first read, as a share of the run's work (the tasks' summed
// durations), in exchange for fewer status reads. Every first read is a
// trade: a task already done by then is read once, a little late, and
// holds its slot meanwhile; a task still running is read once more, at the
// end its progress predicts.
//
// Each model's first read goes where it minimises reads + lag/τ over that
// model's durations, with one τ (the slot time a saved read is worth) for
// the whole run, chosen so that the run's expected lag is lagBudget of its
// work. A model whose tasks take much the same time is read once, just
// after they end; a model of short tasks takes its first read late in its
// spread, where a wasted share of a task is little time, and a model of
// long tasks early. A fixed share of tasks done at the first read, the same
// for every model, reads more for the same lag.
const lagBudget = 0.09

const (
	// minSpread is how many durations a model's spread needs before its
	// first read is placed by it.
	minSpread = 5
	// exploreEvery is how often (one task in so many) a task is read early
	// on purpose. The spread learns how many tasks end by the first-read
	// time from every task, but how long before it they end only from
	// tasks read earlier than they end: a model's first tasks, and these.
	exploreEvery = 16
	// maxEarlyShare places an exploring read at this share of the
	// shortest duration in the spread, or earlier after exploring reads
	// that found their task done.
	maxEarlyShare = 0.5
)

// firstReadAt is when to read a task of the model first, or false while the
// model's spread is unknown (the poller then backs off from poll.initial).
// An exploring task is read early.
func (d *durations) firstReadAt(model string, explore bool) (time.Duration, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	ms := d.models[model]
	if ms == nil || ms.firstAt == 0 {
		return 0, false
	}
	if explore {
		return time.Duration(ms.earlyShare * float64(ms.spread.shortest())), true
	}
	return ms.firstAt, true
}

// firstReadPlan says how a new task's first read goes: explore, read early
// on purpose; unbiased, read at a time that does not depend on when the
// task ends (early, or with the model still unknown), so that a read that
// finds it done moves the next such reads earlier (see endedUnseen).
// Exploring is decided by the task id, so that a rerun explores the same
// tasks.
func (d *durations) firstReadPlan(model, taskID string) (explore, unbiased bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	ms := d.models[model]
	if ms == nil || ms.firstAt == 0 {
		return false, true
	}
	h := fnv.New32a()
	h.Write([]byte(taskID))
	explore = h.Sum32()%exploreEvery == 0
	return explore, explore
}

// coldShare is the share of poll.initial after which a task of the model is
// first read while the model's first read is not placed yet.
func (d *durations) coldShare(model string) float64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	if ms := d.models[model]; ms != nil {
		return ms.coldShare
	}
	return 1
}

// running learns from a progress reading: the task's predicted duration
// joins the model's spread at once, not when the task ends, so that a
// model's first reads are placed within its first tasks.
func (d *durations) running(model string, t *taskReads) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, _, ok := d.pooled.line(); !ok && len(t.Readings) >= 2 {
		// The run's first tasks teach the pooled curve as soon as they
		// give a rate, not when they end: the rest of the first wave,
		// pending until now, then predicts its end from one reading.
		d.fitLocked(model, t)
	}
	if t.Learned || len(t.Readings) == 0 {
		return
	}
	ms := d.statsLocked(model)
	dur, ok := t.total()
	if !ok {
		dur, ok = d.predictLocked(ms, t.Readings[0])
	}
	if !ok {
		return // the rate is known at the next reading
	}
	t.Learned = true
	if t.Explored {
		ms.earlyShare = min(ms.earlyShare*1.05, maxEarlyShare)
	}
	d.observeLocked(ms, observation{At: dur})
}

// observeLocked adds an observation to the model's spread and places the
// first reads again. d.mu is held.
func (d *durations) observeLocked(ms *modelStats, o observation) {
	ms.spread.add(o)
	if ms.spread.exact >= minSpread {
		d.placeFirstReadsLocked()
	}
}

// endedUnseen learns from a task read unbiased that was done before it was
// ever seen running: it says only that it ended before, so the next such
// reads go earlier, to find their tasks running.
func (ms *modelStats) endedUnseen(t *taskReads) {
	if t.Explored {
		ms.earlyShare *= 0.7
	} else {
		ms.coldShare = max(ms.coldShare*0.7, 0.01)
	}
}

// placeFirstReadsLocked sets every model's first read for one τ, found by
// bisection so that the run's expected lag is lagBudget of its work, each
// model weighed by its tasks in this run (see expect). d.mu is held.
func (d *durations) placeFirstReadsLocked() {
	var ready []*modelStats
	var work float64
	for _, ms := range d.models {
		if ms.spread.exact >= minSpread {
			ready = append(ready, ms)
			work += float64(max(ms.tasks, 1)) * ms.spread.mean()
		}
	}
	lag := func(tau float64) float64 {
		var sum float64
		for _, ms := range ready {
			_, l := bestFirstRead(ms.spread.dist, tau)
			sum += float64(max(ms.tasks, 1)) * l
		}
		return sum
	}
	lo, hi := 1.0, float64(time.Hour) // τ in nanoseconds
	for range 50 {
		mid := math.Sqrt(lo * hi)
		if lag(mid) > lagBudget*work {
			hi = mid
		} else {
			lo = mid
		}
	}
	// The lag steps from one sampled duration to the next, so the budget
	// falls between the placements at lo and hi: read that far between
	// them, where reads and lag are each in proportion.
	lagLo, lagHi := lag(lo), lag(hi)
	share := 0.0
	if lagHi > lagLo {
		share = min(max((lagBudget*work-lagLo)/(lagHi-lagLo), 0), 1)
	}
	for _, ms := range ready {
		atLo, _ := bestFirstRead(ms.spread.dist, lo)
		atHi, _ := bestFirstRead(ms.spread.dist, hi)
		ms.firstAt = atLo + time.Duration(share*float64(atHi-atLo))
	}
}

// bestFirstRead returns the first-read time that minimises expected reads
// + lag/tau over a distribution of durations, and the expected lag there.
// Reading at a duration reads the tasks up to it once, each late by its
// distance, and the rest twice.
func bestFirstRead(dist []mass, tau float64) (time.Duration, float64) {
	best, bestCost, bestLag := time.Duration(0), math.Inf(1), 0.0
	var done, prefix float64
	for _, m := range dist {
		done += m.Share
		prefix += m.Share * float64(m.At)
		lag := done*float64(m.At) - prefix
		cost := 1 - done + lag/tau
		if cost < bestCost {
			best, bestCost, bestLag = m.At, cost, lag
		}
	}
	return best, bestLag
}
