package runner

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/apipod/apipod-batch/lockfile"
	"github.com/apipod/apipod-batch/manifest"
)

// renews reports whether the step gives its job new results.
func (s *Step) renews() bool { return s.submits() || s.Action == Resume }

// submits reports whether the step sends a new task.
func (s *Step) submits() bool {
	switch s.Action {
	case Create, Regenerate, Retry:
		return true
	}
	return false
}

// propagate regenerates the done jobs whose upstream jobs will have new
// results, upstream first, and tells a job's own spec change from one it
// only inherits through its upstream jobs' spec hashes.
func propagate(order []*Step, steps map[string]*Step, lock *lockfile.File, now time.Time) {
	seen := make(map[string]bool, len(steps))
	var visit func(st *Step)
	visit = func(st *Step) {
		if seen[st.Job.ID] {
			return
		}
		seen[st.Job.ID] = true
		var renewed []string
		inherited := false // an upstream spec hash differs from the recorded one
		for _, id := range st.Job.Needs {
			up := steps[id]
			if up == nil {
				continue
			}
			visit(up)
			if up.renews() {
				renewed = append(renewed, id)
			}
			if lj := lock.Jobs[id]; lj == nil || lj.SpecHash != up.spec.hash {
				inherited = true
			}
		}
		defer warnExpired(st, steps, lock, now)
		if len(renewed) == 0 && (st.Action == Skip || st.Action == Download) && staleInputs(st, lock) {
			st.Action, st.Reason = Regenerate, "made from older results of "+strings.Join(st.Job.Needs, ", ")
		}
		if len(renewed) == 0 {
			return
		}
		switch {
		case st.Action == Skip || st.Action == Download:
			st.Action, st.Reason, st.Upstream = Regenerate, upstreamReason(renewed), renewed
		case st.Action == Regenerate && st.specChanged:
			st.Upstream = renewed
			if len(st.Changes) == 0 && inherited {
				st.specChanged, st.Reason = false, upstreamReason(renewed)
			}
		}
	}
	for _, st := range order {
		visit(st)
	}
}

// staleInputs reports whether a done job was sent other upstream results
// than the lockfile now records, as after `apply --target up --replace up`
// left it out. A request recorded with its job references unresolved (by an
// older version) proves nothing and counts as current.
func staleInputs(st *Step, lock *lockfile.File) bool {
	lj := lock.Jobs[st.Job.ID]
	if len(st.Job.Needs) == 0 || lj == nil {
		return false
	}
	recorded, err := decodeRequest(lj.Request)
	if err != nil || recorded == nil {
		return false
	}
	current, err := decodeRequest(resolvedRequest(st.Job, lock))
	if err != nil || current == nil {
		return false
	}
	template, err := decodeRequest(st.spec.body)
	return err == nil && !reflect.DeepEqual(recorded, template) && !reflect.DeepEqual(recorded, current)
}

// warnExpired adds to the reason of a job that will submit when an upstream
// job it takes results from stays done but its result URLs have expired:
// apply cannot send them, only regenerating that job helps.
func warnExpired(st *Step, steps map[string]*Step, lock *lockfile.File, now time.Time) {
	if st.Action != Create && st.Action != Regenerate && st.Action != Retry {
		return
	}
	for _, id := range st.Job.Needs {
		up, lj := steps[id], lock.Jobs[id]
		if up != nil && up.Action == Skip && lj != nil && !lj.ExpiresAt.IsZero() && !now.Before(lj.ExpiresAt) {
			st.Reason += fmt.Sprintf("; the result URLs of upstream %s expired: add --replace %s", id, id)
		}
	}
}

func upstreamReason(ids []string) string {
	if len(ids) == 1 {
		return "upstream " + ids[0] + " regenerates"
	}
	return "upstream " + strings.Join(ids, ", ") + " regenerate"
}

// targeted returns the jobs target reports and, transitively, the upstream
// jobs they need; nil when there is no target.
func targeted(m *manifest.Manifest, target func(id string) bool) map[string]bool {
	if target == nil {
		return nil
	}
	keep := make(map[string]bool)
	var add func(id string)
	add = func(id string) {
		if keep[id] {
			return
		}
		keep[id] = true
		if j := m.Job(id); j != nil {
			for _, up := range j.Needs {
				add(up)
			}
		}
	}
	for _, j := range m.Jobs {
		if target(j.ID) {
			add(j.ID)
		}
	}
	return keep
}

// Orphans lists the lockfile's jobs that the manifest no longer has, by id.
func Orphans(m *manifest.Manifest, lock *lockfile.File) []Orphan {
	var out []Orphan
	for id, lj := range lock.Jobs {
		if m.Job(id) == nil {
			out = append(out, Orphan{ID: id, Model: lj.Model, Outputs: len(lj.Outputs)})
		}
	}
	slices.SortFunc(out, func(a, b Orphan) int { return strings.Compare(a.ID, b.ID) })
	return out
}
