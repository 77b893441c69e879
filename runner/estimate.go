package runner

import (
	"slices"
	"sync"
	"time"

	"github.com/apipod/apipod-batch/lockfile"
)

// maxSamples bounds the durations kept per model: enough for stable
// quantiles, constant memory however long the run.
const maxSamples = 512

// firstReadShare is the share of a model's tasks that should already be
// done when they are first read. It is a trade: such a task is read once,
// a little late; a task still running is read once more, at the end its
// progress predicts.
const firstReadShare = 0.35

// durations learns, per model, how long tasks take and how their progress
// relates to time, from the lockfile's history and from this run, so polls
// can be placed around each task's expected end.
type durations struct {
	mu        sync.Mutex
	byModel   map[string][]time.Duration // observed, sorted
	curves    map[string]*progressFit
	firstRead map[string]time.Duration
}

func newDurations(f *lockfile.File) *durations {
	d := &durations{byModel: map[string][]time.Duration{}, curves: map[string]*progressFit{},
		firstRead: map[string]time.Duration{}}
	for _, j := range f.Jobs {
		if j.DurationMS > 0 {
			d.addLocked(j.Model, time.Duration(j.DurationMS)*time.Millisecond)
		}
	}
	for model := range d.byModel {
		d.seedFirstReadLocked(model)
	}
	return d
}

// seedFirstReadLocked places a model's first read at half its median
// duration once three are known, for firstReadWas to adapt from; d.mu is
// held (or d is not shared yet).
func (d *durations) seedFirstReadLocked(model string) {
	if _, ok := d.firstRead[model]; !ok && len(d.byModel[model]) >= 3 {
		s := d.byModel[model]
		d.firstRead[model] = s[len(s)/2] / 2
	}
}

func (d *durations) addLocked(model string, dur time.Duration) {
	s := d.byModel[model]
	i, _ := slices.BinarySearch(s, dur)
	s = slices.Insert(s, i, dur)
	if len(s) > maxSamples {
		// Keep every other sample: the distribution's shape survives and
		// memory stays bounded.
		thin := s[:0:0]
		for k := 0; k < len(s); k += 2 {
			thin = append(thin, s[k])
		}
		s = thin
	}
	d.byModel[model] = s
}

// learn records a finished task: its observed duration (which includes the
// detection lag) and, when it was read at least twice while running, its
// progress curve — derived from the readings alone, so that a late read can
// never teach the poller to read later still.
func (d *durations) learn(model string, observed time.Duration, readings []ProgressSample) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.addLocked(model, observed)
	d.seedFirstReadLocked(model)
	if len(readings) < 2 {
		return
	}
	first, last := readings[0], readings[len(readings)-1]
	if last.Percent <= first.Percent || last.At <= first.At {
		return
	}
	perPercent := float64(last.At-first.At) / float64(last.Percent-first.Percent)
	total := float64(last.At) + perPercent*float64(100-last.Percent)
	fit := d.curves[model]
	if fit == nil {
		fit = &progressFit{}
		d.curves[model] = fit
	}
	for _, r := range readings {
		fit.add(float64(r.Percent)/100, float64(r.At)/total)
	}
}

// firstReadAt is when to read a task of the model first, or false while the
// model has no history.
func (d *durations) firstReadAt(model string) (time.Duration, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	t, ok := d.firstRead[model]
	return t, ok
}

// firstReadWas adapts the first read towards the firstReadShare quantile of
// the model's durations: later when too few tasks were done by then,
// earlier when too many were (stochastic approximation, so it needs no true
// durations, which a poller never sees).
func (d *durations) firstReadWas(model string, done bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	t, ok := d.firstRead[model]
	if !ok {
		return
	}
	const step = 0.08
	if done {
		t = time.Duration(float64(t) * (1 - step*(1-firstReadShare)))
	} else {
		t = time.Duration(float64(t) * (1 + step*firstReadShare))
	}
	d.firstRead[model] = t
}

// predict estimates a task's whole duration from one progress reading, or
// false while the model's progress curve is unknown.
func (d *durations) predict(model string, r ProgressSample) (time.Duration, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	a, b, ok := d.curves[model].line()
	if !ok {
		return 0, false
	}
	share := a + b*float64(r.Percent)/100
	if share <= 0.01 {
		return 0, false
	}
	return time.Duration(float64(r.At) / share), true
}

// quantile returns the q-quantile of a model's observed durations, or false
// while fewer than three are known.
func (d *durations) quantile(model string, q float64) (time.Duration, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	s := d.byModel[model]
	if len(s) < 3 {
		return 0, false
	}
	return s[min(len(s)-1, int(q*float64(len(s))))], true
}

// progressFit relates a model's reported progress to the share of its
// duration that has passed, share ≈ a + b·progress, by least squares. It
// absorbs a queue phase (progress 0 for the first part of a task) and any
// steady skew, so that one reading predicts when a task will end.
type progressFit struct {
	n                float64
	sx, sy, sxx, sxy float64
}

func (f *progressFit) add(x, y float64) {
	f.n++
	f.sx += x
	f.sy += y
	f.sxx += x * x
	f.sxy += x * y
}

// line returns a and b once the readings are many and spread enough.
func (f *progressFit) line() (a, b float64, ok bool) {
	if f == nil || f.n < 8 {
		return 0, 0, false
	}
	varX := f.sxx/f.n - (f.sx/f.n)*(f.sx/f.n)
	if varX < 0.005 {
		return 0, 0, false
	}
	b = (f.sxy/f.n - (f.sx/f.n)*(f.sy/f.n)) / varX
	a = f.sy/f.n - b*f.sx/f.n
	return a, b, b > 0
}
