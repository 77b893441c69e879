package runner

import (
	"cmp"
	"slices"
	"time"
)

// spreadSamples bounds the observations kept per model: the latest ones,
// so the spread follows a model whose speed drifts.
const spreadSamples = 128

// observation is what one task told of its duration: the duration itself,
// from its progress, or, for a task first seen already done, only that it
// had ended by the read that found it so.
type observation struct {
	At    time.Duration
	Ended bool // the task had ended by At; its duration is at most At
}

// spread is a model's distribution of task durations, estimated from every
// task's first reads. A task read at the model's first-read time is either
// running, when its progress tells its duration, or done, when it tells
// only that it ended before: the durations of the running ones alone would
// lean long, and the done ones say nothing of how long before. The
// reverse Kaplan–Meier estimate uses both: every task weighs in on how
// many tasks end by a time, and the tasks read early (a model's first ones,
// and the exploring ones) shape the distribution below it.
type spread struct {
	obs   []observation // oldest first
	exact int           // observations that are durations
	dist  []mass        // the estimate, by duration; empty while exact is 0
}

// mass is a share of a model's tasks that take a given time.
type mass struct {
	At    time.Duration
	Share float64
}

func (s *spread) add(o observation) {
	if len(s.obs) >= spreadSamples {
		if !s.obs[0].Ended {
			s.exact--
		}
		s.obs = append(s.obs[:0], s.obs[1:]...)
	}
	s.obs = append(s.obs, o)
	if !o.Ended {
		s.exact++
	}
	s.estimate()
}

// estimate computes dist. Read from the longest observation down, each
// duration takes the share still unassigned divided by the observations at
// or below it; an ended-by observation only counts among those, since its
// duration lies somewhere below its time. A share left below the shortest
// duration (tasks found done earlier than any was seen running) goes to
// half the shortest observation, the middle of where it could lie.
func (s *spread) estimate() {
	s.dist = s.dist[:0]
	if s.exact == 0 {
		return
	}
	sorted := slices.Clone(s.obs)
	// Ascending; at equal times an ended-by observation sorts first, so
	// that it still counts when the duration beside it is assigned.
	slices.SortFunc(sorted, func(a, b observation) int {
		if c := cmp.Compare(a.At, b.At); c != 0 {
			return c
		}
		if a.Ended == b.Ended {
			return 0
		}
		if a.Ended {
			return -1
		}
		return 1
	})
	left := 1.0
	for n := len(sorted); n > 0; n-- {
		o := sorted[n-1]
		if o.Ended {
			continue
		}
		share := left / float64(n)
		left -= share
		s.dist = append(s.dist, mass{At: o.At, Share: share})
	}
	if left > 1e-9 {
		s.dist = append(s.dist, mass{At: sorted[0].At / 2, Share: left})
	}
	slices.Reverse(s.dist)
}

// shortest is the shortest duration observed, or 0 with none.
func (s *spread) shortest() time.Duration {
	var min time.Duration
	for _, o := range s.obs {
		if !o.Ended && (min == 0 || o.At < min) {
			min = o.At
		}
	}
	return min
}

// mean is the estimate's mean duration.
func (s *spread) mean() float64 {
	var sum float64
	for _, m := range s.dist {
		sum += m.Share * float64(m.At)
	}
	return sum
}
