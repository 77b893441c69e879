package manifest

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

var (
	jobKeys     = []string{"model", "prompt", "params", "output", "tags", "matrix"}
	defaultKeys = []string{"model", "prompt", "params", "output", "tags"}
	jobID       = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]*$`)
)

// maxIDLen is the longest job id allowed, before matrix expansion.
const maxIDLen = 64

// field is the value of a job field, checked for its type.
type field struct {
	val       *yaml.Node
	ok        bool // false when the value had the wrong type (already reported)
	inherited bool // from defaults
}

// param is one entry of params.
type param struct {
	name      string
	val       *yaml.Node
	inherited bool
}

// spec is a job as written, merged with the defaults, before expansion.
type spec struct {
	id     string
	key    *yaml.Node
	fields map[string]field // model, prompt, output, tags
	params []param
	matrix *matrix // nil for a plain job
}

// jobFields reads the fields of a job or of the defaults (prefix "defaults.").
func (p *parser) jobFields(n *yaml.Node, prefix, job string) (map[string]field, []param, *matrix) {
	fields := make(map[string]field)
	var params []param
	var mx *matrix
	where, known := "job", jobKeys
	if prefix != "" {
		where, known = "defaults", defaultKeys
	}
	for _, e := range p.entries(n, where, job) {
		name := prefix + e.name
		switch e.name {
		case "model", "prompt", "output":
			_, ok := p.str(e.val, name, job)
			fields[e.name] = field{val: e.val, ok: ok}
		case "tags":
			fields[e.name] = field{val: e.val, ok: p.tags(e.val, name, job)}
		case "params":
			fields[e.name] = field{val: e.val}
			params = p.params(e.val, name, job)
		case "matrix":
			if prefix != "" {
				p.add(p.pos(e.key), job, "defaults: matrix cannot be a default; set it on each job")
				continue
			}
			fields[e.name] = field{val: e.val}
			mx = p.matrix(e.val, job)
		default:
			p.unknownKey(e.key, where, job, known)
		}
	}
	return fields, params, mx
}

// tags checks that n is a list of non-empty strings.
func (p *parser) tags(n *yaml.Node, name, job string) bool {
	if n.Kind != yaml.SequenceNode {
		p.add(p.pos(n), job, "%s: want a list of strings, got %s", name, describe(n))
		return false
	}
	ok := true
	for i, t := range n.Content {
		field := fmt.Sprintf("%s[%d]", name, i)
		if v, good := p.str(t, field, job); !good {
			ok = false
		} else if v == "" {
			p.add(p.pos(t), job, "%s: must not be empty", field)
			ok = false
		}
	}
	return ok
}

// params reads the entries of a params mapping; values are converted per job.
func (p *parser) params(n *yaml.Node, name, job string) []param {
	if isNull(n) || !p.isMapping(n, name, job) {
		return nil
	}
	var out []param
	for _, e := range p.entries(n, name, job) {
		if e.name == "model" || e.name == "prompt" {
			p.add(p.pos(e.key), job, "%s.%s: %s is a job field, not a param; move it up one level", name, e.name, e.name)
			continue
		}
		out = append(out, param{name: e.name, val: e.val})
	}
	return out
}

// jobs reads the defaults and the jobs, expands and builds every job, and runs
// the checks across jobs.
func (p *parser) jobs(m *Manifest, defaults, jobs, root *yaml.Node) {
	var defFields map[string]field
	var defParams []param
	if !isNull(defaults) && p.isMapping(defaults, "defaults", "") {
		defFields, defParams, _ = p.jobFields(defaults, "defaults.", "")
	}
	if jobs == nil {
		p.add(p.pos(root), "", "jobs is missing; add a jobs mapping of job id -> job")
		return
	}
	if isNull(jobs) || !p.isMapping(jobs, "jobs", "") {
		return
	}
	var specs []*spec
	for _, e := range p.entries(jobs, "jobs", "") {
		if !p.checkID(e.key) {
			continue
		}
		if e.val.Kind != yaml.MappingNode {
			p.add(p.pos(e.val), e.name, "want a mapping of job fields (%s), got %s", strings.Join(jobKeys, ", "), describe(e.val))
			continue
		}
		fields, params, mx := p.jobFields(e.val, "", e.name)
		specs = append(specs, merge(e, defFields, defParams, fields, params, mx))
	}
	p.expand(m, specs)
}

// checkID reports whether the key k is a valid job id, reporting it if not.
func (p *parser) checkID(k *yaml.Node) bool {
	switch {
	case !jobID.MatchString(k.Value):
		p.add(p.pos(k), "", "invalid job id %q; use letters, digits, _ and -, starting with a letter or digit", k.Value)
	case len(k.Value) > maxIDLen:
		p.add(p.pos(k), "", "job id %q is %d characters long; the limit is %d", k.Value[:20]+"...", len(k.Value), maxIDLen)
	default:
		return true
	}
	return false
}

// merge builds the spec of a job from its own fields over the defaults.
func merge(e entry, defFields map[string]field, defParams []param, fields map[string]field, params []param, mx *matrix) *spec {
	s := &spec{id: e.name, key: e.key, fields: make(map[string]field), matrix: mx}
	for name, f := range defFields {
		f.inherited = true
		s.fields[name] = f
	}
	for name, f := range fields {
		s.fields[name] = f
	}
	for _, dp := range defParams {
		if !slices.ContainsFunc(params, func(jp param) bool { return jp.name == dp.name }) {
			dp.inherited = true
			s.params = append(s.params, dp)
		}
	}
	s.params = append(s.params, params...)
	return s
}
