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

// durations learns, per model, how long tasks take and how their progress
// relates to time, from the lockfile's history and from this run, so polls
// can be placed around each task's expected end.
type durations struct {
	mu     sync.Mutex
	models map[string]*modelStats
	// pooled is the progress curve of every model's readings: a model
	// whose own curve is not known yet predicts with it, which spares its
	// first tasks a reading taken only to learn the rate.
	pooled progressFit
}

// modelStats is what has been learned of one model.
type modelStats struct {
	sorted []time.Duration // observed durations, sorted, thinned past maxSamples
	curve  progressFit
	spread spread
	// firstAt is when to read a task first; 0 while unknown.
	firstAt time.Duration
	// earlyShare is the share of the shortest duration seen after which
	// an exploring task is read; coldShare the share of poll.initial after
	// which a task is read first while firstAt is unknown.
	earlyShare, coldShare float64
	// tasks is how many tasks of the model the run submits: its weight in
	// the lag budget.
	tasks  int
	silent int // tasks that ran without ever reporting progress
}

func newDurations(f *lockfile.File) *durations {
	d := &durations{models: map[string]*modelStats{}}
	for _, j := range f.Jobs {
		if j.DurationMS > 0 {
			dur := time.Duration(j.DurationMS) * time.Millisecond
			d.addLocked(j.Model, dur)
			// Earlier runs' durations are a prior for the spread, replaced
			// as this run learns its own.
			d.statsLocked(j.Model).spread.add(observation{At: dur})
		}
	}
	d.placeFirstReadsLocked()
	return d
}

// expect records how many tasks of each model the run submits, which
// weigh the models in the run's lag budget: the run's whole mix, not the
// tasks seen so far, since the scheduler starts long tasks first and a
// model's first reads are placed long before most of its tasks run.
func (d *durations) expect(steps []*Step) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, st := range steps {
		if st.submits() {
			d.statsLocked(st.Job.Model).tasks++
		}
	}
	d.placeFirstReadsLocked()
}

func (d *durations) statsLocked(model string) *modelStats {
	ms := d.models[model]
	if ms == nil {
		ms = &modelStats{earlyShare: maxEarlyShare, coldShare: 1}
		d.models[model] = ms
	}
	return ms
}

// addLocked records one observed duration.
func (d *durations) addLocked(model string, dur time.Duration) {
	ms := d.statsLocked(model)
	s := ms.sorted
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
	ms.sorted = s
}

// taskReads is what the status reads of one finished task saw.
type taskReads struct {
	// Unbiased is set when the task's first read did not depend on when
	// it would end, Explored when it was read early on purpose.
	Unbiased, Explored bool
	Readings           []ProgressSample // 0 < progress < 100, oldest first
	// Silent counts reads that found the task processing with no progress.
	Silent int
	// DoneAt is when the read that found the task done was sent.
	DoneAt time.Duration
	// Learned is set once the task's duration has joined its model's
	// spread, Fitted once its readings have joined the progress curves.
	Learned, Fitted bool
}

// total is the task's duration told by its first and last progress
// readings, or false with fewer than two.
func (t *taskReads) total() (time.Duration, bool) {
	if len(t.Readings) < 2 {
		return 0, false
	}
	return endFrom(t.Readings[0], t.Readings[len(t.Readings)-1])
}

// endFrom extends the rate between two progress readings to 100%, or
// returns false when the second does not come after the first.
func endFrom(first, last ProgressSample) (time.Duration, bool) {
	if last.Percent <= first.Percent || last.At <= first.At {
		return 0, false
	}
	perPercent := float64(last.At-first.At) / float64(last.Percent-first.Percent)
	return last.At + time.Duration(perPercent*float64(100-last.Percent)), true
}

// learn records a finished task: its observed duration (which includes the
// detection lag), its progress curve when it was read at least twice while
// running — derived from the readings alone, so that a late read can never
// teach the poller to read later still — and, unless its progress already
// told, what its reads say of its duration, in the model's spread.
func (d *durations) learn(model string, observed time.Duration, t *taskReads) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.addLocked(model, observed)
	ms := d.models[model]
	d.fitLocked(model, t)
	if len(t.Readings) == 0 && t.Silent > 0 {
		ms.silent++
	}
	switch {
	case len(t.Readings) == 0:
		// Never seen running: it ended by the read that found it done.
		if t.Unbiased {
			ms.endedUnseen(t)
		}
		if t.DoneAt > 0 {
			d.observeLocked(ms, observation{At: t.DoneAt, Ended: true})
		}
	case !t.Learned:
		// It ended before a second reading gave its rate: between its
		// last reading and the read that found it done.
		last := t.Readings[len(t.Readings)-1].At
		d.observeLocked(ms, observation{At: last + (t.DoneAt-last)/2})
	}
}

// fitLocked adds a task's progress readings to its model's curve and the
// pooled one, once per task and only with at least two readings, from which
// alone its duration is derived. d.mu is held.
func (d *durations) fitLocked(model string, t *taskReads) {
	total, ok := t.total()
	if !ok || t.Fitted {
		return
	}
	t.Fitted = true
	ms := d.statsLocked(model)
	for _, r := range t.Readings {
		x, y := float64(r.Percent)/100, float64(r.At)/float64(total)
		ms.curve.add(x, y)
		d.pooled.add(x, y)
	}
}

// byQuantiles says whether a task of the model that has reported no
// progress is read at the quantiles of the model's observed durations: when
// its first read is placed (the task was pending then), or when its tasks
// run without reporting progress. A model whose first reads merely come
// after its tasks end is not such a model: its observed durations are only
// those reads' times.
func (d *durations) byQuantiles(model string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	ms := d.models[model]
	return ms != nil && (ms.firstAt > 0 || ms.silent >= 3)
}

// predict estimates a task's whole duration from one progress reading, or
// false while no progress curve is known.
func (d *durations) predict(model string, r ProgressSample) (time.Duration, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.predictLocked(d.models[model], r)
}

func (d *durations) predictLocked(ms *modelStats, r ProgressSample) (time.Duration, bool) {
	var curve *progressFit
	if ms != nil {
		curve = &ms.curve
	}
	a, b, ok := curve.line()
	if !ok {
		a, b, ok = d.pooled.line()
	}
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
	ms := d.models[model]
	if ms == nil || len(ms.sorted) < 3 {
		return 0, false
	}
	return ms.sorted[min(len(ms.sorted)-1, int(q*float64(len(ms.sorted))))], true
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
