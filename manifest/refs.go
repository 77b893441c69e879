package manifest

import (
	"fmt"
	"slices"
	"strings"
)

// checkRefs checks the job references of every job, fills Needs and reports
// dependency cycles.
func (p *parser) checkRefs(m *Manifest) {
	ids := make([]string, len(m.Jobs))
	var names []string // candidates for suggestions: ids and matrix job names
	for i, j := range m.Jobs {
		ids[i] = j.ID
		if j.name != j.ID && (len(names) == 0 || names[len(names)-1] != j.name) {
			names = append(names, j.name)
		}
	}
	names = append(names, ids...)
	for _, j := range m.Jobs {
		for _, r := range j.refs {
			switch {
			case r.id == j.ID:
				p.add(r.pos, j.name, "%s: job %q cannot use its own results", r.text, j.ID)
			case m.byID[r.id] == nil:
				p.add(r.pos, j.name, "%s: %s", r.text, unknownJob(r.id, ids, names))
			case !slices.Contains(j.Needs, r.id):
				j.Needs = append(j.Needs, r.id)
			}
		}
		slices.Sort(j.Needs)
	}
	p.checkCycles(m)
}

// unknownJob describes a reference to a job id that is not among the sorted
// ids; names are the candidates for a suggestion.
func unknownJob(id string, ids, names []string) string {
	i, _ := slices.BinarySearch(ids, id+".")
	if i < len(ids) && strings.HasPrefix(ids[i], id+".") {
		return fmt.Sprintf("job %q is a matrix job; refer to one of its jobs, such as %q", id, ids[i])
	}
	return fmt.Sprintf("unknown job %q%s", id, didYouMean(id, names))
}

// checkCycles reports each dependency cycle once, at the reference that closes it.
func (p *parser) checkCycles(m *Manifest) {
	const (
		unseen = iota
		onPath
		done
	)
	state := make(map[*Job]int, len(m.Jobs))
	var path []*Job
	var visit func(j *Job)
	visit = func(j *Job) {
		state[j] = onPath
		path = append(path, j)
		for _, id := range j.Needs {
			up := m.byID[id]
			switch state[up] {
			case unseen:
				visit(up)
			case onPath:
				p.reportCycle(j, path[slices.Index(path, up):], up)
			}
		}
		path = path[:len(path)-1]
		state[j] = done
	}
	for _, j := range m.Jobs {
		if state[j] == unseen {
			visit(j)
		}
	}
}

// reportCycle reports the cycle through the jobs of cycle, closed by the
// reference of last to first.
func (p *parser) reportCycle(last *Job, cycle []*Job, first *Job) {
	names := make([]string, 0, len(cycle)+1)
	for _, j := range cycle {
		names = append(names, j.ID)
	}
	names = append(names, first.ID)
	at := last.Pos
	for _, r := range last.refs {
		if r.id == first.ID {
			at = r.pos
			break
		}
	}
	p.add(at, last.name, "dependency cycle: %s", strings.Join(names, " -> "))
}
