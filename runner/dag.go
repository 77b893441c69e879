package runner

import (
	"context"
	"sync"

	"github.com/apipod/apipod-batch/apipod"
)

// node is a step in the job graph: it may start once every upstream job it
// references has results.
type node struct {
	order   int // position in the plan: ready nodes start in this order
	st      *Step
	jr      *JobResult
	waiting int     // upstream nodes without results yet
	down    []*node // nodes that reference this one
	settled bool    // its results are known, or it will never have any
}

// scheduler hands out ready nodes in plan order as their upstream jobs
// finish, so a job starts the moment its inputs exist — not in waves. It
// keeps one queue per kind so that separate image and video limits never let
// a full kind hold back the other; the caller's errgroup bounds the total.
// Finishing jobs never block on it: the queues are unbounded.
type scheduler struct {
	mu      sync.Mutex
	free    []*node                 // ready steps that use no slot (Skip)
	probe   []*node                 // each model's first tasks, which start before the rest (see pop)
	probed  map[string]int          // tasks of each model put in probe
	queue   map[apipod.Kind][]*node // ready steps waiting for a slot
	limit   map[apipod.Kind]int     // slots per kind; 0 means only the total bounds it
	running map[apipod.Kind]int
	left    int // nodes neither started nor settled as skipped
	wake    chan struct{}
}

// newScheduler links the plan's steps into a graph. Upstream jobs outside
// the plan (not targeted) count as settled: the runner reads their recorded
// results from the lockfile.
func newScheduler(steps []*Step, results []*JobResult, limit map[apipod.Kind]int) *scheduler {
	s := &scheduler{wake: make(chan struct{}, 1), left: len(steps), limit: limit,
		queue: map[apipod.Kind][]*node{}, running: map[apipod.Kind]int{}, probed: map[string]int{}}
	nodes := make([]*node, len(steps))
	byID := make(map[string]*node, len(steps))
	for i, st := range steps {
		nodes[i] = &node{order: i, st: st, jr: results[i]}
		byID[st.Job.ID] = nodes[i]
	}
	for _, n := range nodes {
		for _, id := range n.st.Job.Needs {
			if up := byID[id]; up != nil {
				up.down = append(up.down, n)
				n.waiting++
			}
		}
	}
	for _, n := range nodes {
		if n.waiting == 0 {
			s.enqueue(n)
		}
	}
	return s
}

// enqueue makes n ready; s.mu is held (or s is not shared yet).
func (s *scheduler) enqueue(n *node) {
	if n.st.Action == Skip {
		s.free = append(s.free, n)
		return
	}
	if n.st.submits() && s.probed[n.st.Job.Model] < probeFirst {
		s.probed[n.st.Job.Model]++
		s.probe = append(s.probe, n)
		return
	}
	s.queue[n.st.spec.kind] = append(s.queue[n.st.spec.kind], n)
}

// next returns the next ready node that has a slot of its kind, or nil when
// every node has been handed out or settled, or ctx ends. The caller reports
// the end of a node it got with finished.
func (s *scheduler) next(ctx context.Context) *node {
	for {
		s.mu.Lock()
		if n := s.pop(); n != nil {
			s.left--
			s.mu.Unlock()
			return n
		}
		done := s.left == 0
		s.mu.Unlock()
		if done {
			return nil
		}
		select {
		case <-s.wake:
		case <-ctx.Done():
			return nil
		}
	}
}

// probeFirst is how many tasks of each model start before any other task:
// the poller places a model's first reads from its first tasks' durations
// (see minSpread; twice as many tasks, since some end before they are seen
// running), and with every model learned at the start, one trade of reads
// against lag holds for the whole run. Started after the videos, an image
// model would be learned only once the videos had spent the budget.
const probeFirst = 2 * minSpread

// pop takes the ready node to start next; s.mu is held. Each model's first
// tasks go first (see probeFirst), then videos before images: starting the
// longest tasks first keeps a few long ones from running alone at the end
// (longest-processing-time-first list scheduling). Within a kind, nodes
// start in plan order.
func (s *scheduler) pop() *node {
	if len(s.free) > 0 {
		n := s.free[0]
		s.free = s.free[1:]
		return n
	}
	for i, n := range s.probe {
		kind := n.st.spec.kind
		if s.limit[kind] > 0 && s.running[kind] >= s.limit[kind] {
			continue
		}
		s.probe = append(s.probe[:i], s.probe[i+1:]...)
		s.running[kind]++
		return n
	}
	var best apipod.Kind
	found := false
	for kind, q := range s.queue {
		if len(q) == 0 || (s.limit[kind] > 0 && s.running[kind] >= s.limit[kind]) {
			continue
		}
		if !found || kind == apipod.KindVideo {
			best, found = kind, true
		}
	}
	if !found {
		return nil
	}
	n := s.queue[best][0]
	s.queue[best] = s.queue[best][1:]
	s.running[best]++
	return n
}

// finished frees the slot of a node that got one.
func (s *scheduler) finished(n *node) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.running[n.st.spec.kind]--
	s.signal()
}

// resolved releases the dependents of a node whose results are known.
func (s *scheduler) resolved(n *node) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n.settled {
		return
	}
	n.settled = true
	for _, d := range n.down {
		d.waiting--
		if d.waiting == 0 && !d.settled {
			s.enqueue(d)
		}
	}
	s.signal()
}

// failed settles a node that will have no results, and with it every job
// downstream of it, which skip is told about (they send nothing).
func (s *scheduler) failed(n *node, skip func(*node, *node)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n.settled {
		return
	}
	n.settled = true
	var walk func(up, d *node)
	walk = func(up, d *node) {
		if d.settled {
			return
		}
		d.settled = true
		s.left--
		skip(d, up)
		for _, dd := range d.down {
			walk(up, dd)
		}
	}
	for _, d := range n.down {
		walk(n, d)
	}
	s.signal()
}

func (s *scheduler) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}
