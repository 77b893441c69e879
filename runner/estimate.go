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

// durations learns how long the tasks of each model take, from the lockfile's
// history and from this run, so polls can be placed around each task's
// expected completion.
type durations struct {
	mu      sync.Mutex
	byModel map[string][]time.Duration // sorted
}

func newDurations(f *lockfile.File) *durations {
	d := &durations{byModel: map[string][]time.Duration{}}
	for _, j := range f.Jobs {
		if j.DurationMS > 0 {
			d.addLocked(j.Model, time.Duration(j.DurationMS)*time.Millisecond)
		}
	}
	return d
}

func (d *durations) add(model string, dur time.Duration) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.addLocked(model, dur)
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

// quantile returns the q-quantile of a model's durations, or false while
// fewer than three are known.
func (d *durations) quantile(model string, q float64) (time.Duration, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	s := d.byModel[model]
	if len(s) < 3 {
		return 0, false
	}
	return s[min(len(s)-1, int(q*float64(len(s))))], true
}
