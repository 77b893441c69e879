package manifest

import (
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

// maxExpansion is the most jobs one matrix may expand into.
const maxExpansion = 10000

// matrix is the matrix of a job: axes in the order they are written.
type matrix struct {
	node *yaml.Node
	axes []axis
}

// axis is one matrix key and its values.
type axis struct {
	name   string
	values []string
}

// matrix reads a matrix mapping of key -> list of scalars; string values may
// use ${var.NAME}. It returns nil if the matrix is unusable.
func (p *parser) matrix(n *yaml.Node, job string) *matrix {
	if !p.isMapping(n, "matrix", job) {
		return nil
	}
	mx := &matrix{node: n}
	ok := true
	for _, e := range p.entries(n, "matrix", job) {
		field := "matrix." + e.name
		if !varName.MatchString(e.name) {
			p.add(p.pos(e.key), job, "matrix: invalid key %q; use letters, digits, _ and -, starting with a letter or _", e.name)
			ok = false
			continue
		}
		if e.val.Kind != yaml.SequenceNode || len(e.val.Content) == 0 {
			p.add(p.pos(e.val), job, "%s: want a non-empty list of values, got %s", field, describe(e.val))
			ok = false
			continue
		}
		a := axis{name: e.name}
		for i, v := range e.val.Content {
			if v.Kind != yaml.ScalarNode || isNull(v) || v.Value == "" {
				p.add(p.pos(v), job, "%s[%d]: want a non-empty string, number or boolean, got %s", field, i, describe(v))
				ok = false
				continue
			}
			value := v.Value
			if isString(v) && strings.Contains(v.Value, "${matrix.") {
				p.add(p.pos(v), job, "%s[%d]: matrix values cannot use ${matrix.KEY}", field, i)
				ok = false
				continue
			}
			if isString(v) {
				in := interp{vars: p.vars, job: job}
				var problems []string
				value, _, problems = in.expand(v.Value, p.pos(v), noRefs)
				for _, msg := range problems {
					p.add(p.pos(v), job, "%s[%d]: %s", field, i, msg)
				}
			}
			a.values = append(a.values, value)
		}
		mx.axes = append(mx.axes, a)
	}
	if len(mx.axes) == 0 && ok {
		p.add(p.pos(n), job, "matrix: want at least one key with a list of values")
		return nil
	}
	if !ok {
		return nil
	}
	total := 1
	for _, a := range mx.axes {
		total *= len(a.values)
		if total > maxExpansion {
			p.add(p.pos(n), job, "matrix: expands into more than %d jobs", maxExpansion)
			return nil
		}
	}
	return mx
}

// combinations returns every combination of the matrix values, the first key
// varying slowest, as maps of key -> value.
func (mx *matrix) combinations() []map[string]string {
	combos := []map[string]string{{}}
	for _, a := range mx.axes {
		next := make([]map[string]string, 0, len(combos)*len(a.values))
		for _, c := range combos {
			for _, v := range a.values {
				m := make(map[string]string, len(c)+1)
				for k, x := range c {
					m[k] = x
				}
				m[a.name] = v
				next = append(next, m)
			}
		}
		combos = next
	}
	return combos
}

// expandedID returns the id of the expansion of job id with the values of c.
func (mx *matrix) expandedID(id string, c map[string]string) string {
	var b strings.Builder
	b.WriteString(id)
	for _, a := range mx.axes {
		b.WriteByte('.')
		b.WriteString(fileSafe(c[a.name]))
	}
	return b.String()
}

// fileSafe maps a matrix value into an id part: ':' becomes 'x' and any other
// character outside [A-Za-z0-9_-] becomes '-'.
func fileSafe(v string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == ':':
			return 'x'
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_', r == '-':
			return r
		}
		return '-'
	}, v)
}

// describeCombo returns "lang=en, ratio=1:1" for messages.
func (mx *matrix) describeCombo(c map[string]string) string {
	parts := make([]string, len(mx.axes))
	for i, a := range mx.axes {
		parts[i] = fmt.Sprintf("%s=%s", a.name, c[a.name])
	}
	return strings.Join(parts, ", ")
}
