package runner

import (
	"context"
	"sync"
)

// node is a step in the job graph: it may start once every upstream job it
// references has results.
type node struct {
	st      *Step
	jr      *JobResult
	waiting int     // upstream nodes without results yet
	down    []*node // nodes that reference this one
	settled bool    // its results are known, or it will never have any
}

// scheduler hands out ready nodes in manifest order as their upstream jobs
// finish, so a job starts the moment its inputs exist — not in waves — while
// the caller's errgroup bounds how many run at once. Finishing jobs never
// block on it: the queue is unbounded.
type scheduler struct {
	mu    sync.Mutex
	queue []*node
	left  int // nodes neither started nor settled as skipped
	wake  chan struct{}
}

// newScheduler links the plan's steps into a graph. Upstream jobs outside
// the plan (not targeted) count as settled: the runner reads their recorded
// results from the lockfile.
func newScheduler(steps []*Step, results []*JobResult) (*scheduler, []*node) {
	s := &scheduler{wake: make(chan struct{}, 1), left: len(steps)}
	nodes := make([]*node, len(steps))
	byID := make(map[string]*node, len(steps))
	for i, st := range steps {
		nodes[i] = &node{st: st, jr: results[i]}
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
			s.queue = append(s.queue, n)
		}
	}
	return s, nodes
}

// next returns the next ready node, or nil when every node has been handed
// out or settled, or ctx ends.
func (s *scheduler) next(ctx context.Context) *node {
	for {
		s.mu.Lock()
		if len(s.queue) > 0 {
			n := s.queue[0]
			s.queue = s.queue[1:]
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
			s.queue = append(s.queue, d)
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
