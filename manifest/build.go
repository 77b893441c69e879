package manifest

import (
	"fmt"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// maxJobs is the most jobs a manifest may hold after matrix expansion.
const maxJobs = 100000

// defaultOutput is the output template of a job that sets none.
const defaultOutput = "{job}/{n}.{ext}"

// expand builds the jobs of every spec into m, then runs the checks across jobs.
func (p *parser) expand(m *Manifest, specs []*spec) {
	for _, s := range specs {
		if _, isMatrix := s.fields["matrix"]; isMatrix && s.matrix == nil {
			continue // the matrix was reported as unusable
		}
		if s.matrix == nil {
			p.addJob(m, p.build(s, m.Vars, nil, s.id))
			continue
		}
		combos := s.matrix.combinations()
		if len(m.Jobs)+len(combos) > maxJobs {
			p.add(p.pos(s.matrix.node), s.id, "matrix: the manifest would hold more than %d jobs", maxJobs)
			return
		}
		tooLong := false
		for _, c := range combos {
			id := s.matrix.expandedID(s.id, c)
			// The limit on ids holds after expansion too: an id names the
			// job's output folder, and a long matrix value would otherwise
			// fail only at download time, after the task was paid for.
			// Only the first such id is reported: one long value would
			// otherwise give a problem per combination.
			if len(id) > maxIDLen {
				if !tooLong {
					p.add(p.pos(s.matrix.node), s.id, "matrix: %s gives job id %q, %d characters long; the limit is %d", s.matrix.describeCombo(c), id, len(id), maxIDLen)
				}
				tooLong = true
				continue
			}
			if m.byID[id] != nil {
				p.add(p.pos(s.matrix.node), s.id, "matrix: %s gives job id %q again (values that differ only in characters outside [A-Za-z0-9_-] collide)", s.matrix.describeCombo(c), id)
				continue
			}
			p.addJob(m, p.build(s, m.Vars, c, id))
		}
	}
	slices.SortFunc(m.Jobs, func(a, b *Job) int { return strings.Compare(a.ID, b.ID) })
	p.checkRefs(m)
	p.checkOutputs(m)
}

func (p *parser) addJob(m *Manifest, j *Job) {
	m.Jobs = append(m.Jobs, j)
	m.byID[j.ID] = j
}

// build makes the job id from spec s with the matrix values mx (nil for a
// plain job).
func (p *parser) build(s *spec, vars, mx map[string]string, id string) *Job {
	j := &Job{
		ID:       id,
		name:     s.id,
		Pos:      p.pos(s.key),
		Matrix:   mx,
		Params:   make(map[string]any),
		ParamPos: make(map[string]Pos),
		Output:   defaultOutput,
	}
	j.OutputPos = j.Pos
	in := &interp{vars: vars, matrix: mx, job: s.id}
	b := builder{p: p, in: in, spec: s}
	j.Model, j.ModelPos, _ = b.text("model", noRefs, true)
	j.Prompt, j.PromptPos, _ = b.text("prompt", someRefs, true)
	j.promptRefs = b.hasRef
	if out, pos, ok := b.text("output", noRefs, false); ok {
		j.Output, j.OutputPos = out, pos
	}
	j.Tags = b.tags()
	tmpl := make(map[string]any)
	b.hasRef = false
	for _, prm := range s.params {
		if isNull(prm.val) {
			continue // a null param removes the default one
		}
		if v, ok := b.value(prm.val, fieldName("params."+prm.name, prm.inherited), prm.inherited, someRefs); ok {
			tmpl[prm.name] = v
			j.Params[prm.name] = plain(v)
			j.ParamPos[prm.name] = p.pos(prm.val)
			if prm.val.Kind == yaml.SequenceNode {
				for i, item := range prm.val.Content {
					j.ParamPos[fmt.Sprintf("%s[%d]", prm.name, i)] = p.pos(item)
				}
			}
		}
	}
	if b.hasRef {
		j.tmpl = tmpl
	}
	j.refs = in.refs
	return j
}

// builder converts the fields of one spec for one expansion.
type builder struct {
	p      *parser
	in     *interp
	spec   *spec
	hasRef bool // whether a string expanded so far holds a job reference
}

// job is the job to name in a problem with a field of the spec: none for a
// field inherited from the defaults, since it is reported for every job.
func (b *builder) job(inherited bool) string {
	if inherited {
		return ""
	}
	return b.spec.id
}

func (b *builder) report(n *yaml.Node, inherited bool, format string, args ...any) {
	b.p.add(b.p.pos(n), b.job(inherited), format, args...)
}

// fieldName returns the name of a field for messages: one inherited from the
// defaults is named as written there.
func fieldName(name string, inherited bool) string {
	if inherited {
		return "defaults." + name
	}
	return name
}

// text returns the interpolated value of a string field, its position, and
// whether it is set and free of problems.
func (b *builder) text(name string, mode refMode, required bool) (string, Pos, bool) {
	f, ok := b.spec.fields[name]
	switch {
	case !ok && required:
		b.p.add(b.p.pos(b.spec.key), b.spec.id, "%s is missing; set it on the job or in defaults", name)
		return "", Pos{}, false
	case !ok || !f.ok:
		return "", Pos{}, false
	}
	field := fieldName(name, f.inherited)
	s, ok := b.expand(f.val, field, f.inherited, mode)
	if s == "" {
		b.report(f.val, f.inherited, "%s: must not be empty", field)
		ok = false
	}
	return s, b.p.pos(f.val), ok
}

// expand interpolates the string value of n and reports whether it had no
// problem.
func (b *builder) expand(n *yaml.Node, field string, inherited bool, mode refMode) (string, bool) {
	s, hasRef, problems := b.in.expand(n.Value, b.p.pos(n), mode)
	for _, msg := range problems {
		b.report(n, inherited, "%s: %s", field, msg)
	}
	b.hasRef = b.hasRef || hasRef
	return s, len(problems) == 0
}

func (b *builder) tags() []string {
	f, ok := b.spec.fields["tags"]
	if !ok || !f.ok {
		return nil
	}
	tags := make([]string, 0, len(f.val.Content))
	for i, t := range f.val.Content {
		tag, _ := b.expand(t, fieldName(fmt.Sprintf("tags[%d]", i), f.inherited), f.inherited, noRefs)
		tags = append(tags, tag)
	}
	return tags
}

// value converts n into a Go value, interpolating strings; a string that holds
// a job reference becomes a refString.
func (b *builder) value(n *yaml.Node, field string, inherited bool, mode refMode) (any, bool) {
	switch n.Kind {
	case yaml.SequenceNode:
		list := make([]any, 0, len(n.Content))
		ok := true
		for i, c := range n.Content {
			elemMode := mode
			if mode != noRefs {
				elemMode = listRefs
			}
			v, good := b.value(c, fmt.Sprintf("%s[%d]", field, i), inherited, elemMode)
			list = append(list, v)
			ok = ok && good
		}
		return list, ok
	case yaml.MappingNode:
		inner := mode
		if inner == listRefs {
			inner = someRefs
		}
		m := make(map[string]any, len(n.Content)/2)
		ok := true
		for _, e := range b.p.entries(n, field, b.job(inherited)) {
			v, good := b.value(e.val, field+"."+e.name, inherited, inner)
			m[e.name] = v
			ok = ok && good
		}
		return m, ok
	}
	switch n.ShortTag() {
	case "!!str", "!!timestamp":
		had := b.hasRef
		b.hasRef = false
		s, ok := b.expand(n, field, inherited, mode)
		if b.hasRef {
			return refString(s), ok
		}
		b.hasRef = had
		return s, ok
	case "!!int":
		return b.p.integer(n, field, b.job(inherited))
	case "!!float":
		return b.p.float(n, field, b.job(inherited))
	case "!!bool":
		return b.p.boolean(n, field, b.job(inherited))
	case "!!null":
		b.report(n, inherited, "%s: null is not allowed here", field)
	default:
		b.report(n, inherited, "%s: unsupported YAML tag %s", field, n.Tag)
	}
	return nil, false
}
