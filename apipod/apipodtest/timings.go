package apipodtest

import (
	"sort"
	"time"

	"github.com/apipod/apipod-batch/apipod"
)

// watch is how a client has followed one task.
type watch struct {
	reads    int
	sawEnded time.Time // first status read at or after the end
}

// observe records a status read of t; s.mu is held.
func (s *Server) observe(t *task, now time.Time) {
	w := s.watch[t.id]
	if w == nil {
		w = &watch{}
		s.watch[t.id] = w
	}
	w.reads++
	if w.sawEnded.IsZero() && !now.Before(t.end()) {
		w.sawEnded = now
	}
}

// TaskTiming is one task's life as the server saw it: when it was made,
// when it ended, and how the client polled it. Benchmarks read detection lag
// (SeenEnded − Ended) and status reads per task from it.
type TaskTiming struct {
	ID          string
	Model       string
	Kind        apipod.Kind
	Created     time.Time
	Ended       time.Time
	Failed      bool
	StatusReads int
	SeenEnded   time.Time // first status read at or after Ended; zero if none
}

// Timings returns every task made so far, in creation order.
func (s *Server) Timings() []TaskTiming {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]TaskTiming, 0, len(s.tasks))
	for _, t := range s.tasks {
		tt := TaskTiming{ID: t.id, Model: t.model, Kind: t.kind, Created: t.created, Ended: t.end(), Failed: t.failed}
		if w := s.watch[t.id]; w != nil {
			tt.StatusReads, tt.SeenEnded = w.reads, w.sawEnded
		}
		out = append(out, tt)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Created.Before(out[j].Created) })
	return out
}
