package manifest

import (
	"fmt"
	"math"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// parser turns the YAML nodes of one manifest into values, collecting problems.
type parser struct {
	collector
	file     string
	vars     map[string]string // the manifest's vars, once read
	declared []string          // the names under vars:, before --var overrides
}

func (p *parser) pos(n *yaml.Node) Pos {
	return Pos{File: p.file, Line: n.Line, Col: n.Column}
}

// entry is one key/value pair of a mapping.
type entry struct {
	name     string
	key, val *yaml.Node
}

// entries returns the pairs of mapping n, reporting keys that are not scalars
// and keys given twice (the first one is kept). where names the mapping.
func (p *parser) entries(n *yaml.Node, where, job string) []entry {
	var out []entry
	first := make(map[string]*yaml.Node)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			p.add(p.pos(k), job, "%s: keys must be plain strings, got %s", where, describe(k))
			continue
		}
		if f, dup := first[k.Value]; dup {
			p.add(p.pos(k), job, "%s: duplicate key %q (first at line %d)", where, k.Value, f.Line)
			continue
		}
		first[k.Value] = k
		out = append(out, entry{name: k.Value, key: k, val: v})
	}
	return out
}

// unknownKey reports a key that is not one of known.
func (p *parser) unknownKey(k *yaml.Node, where, job string, known []string) {
	if s := didYouMean(k.Value, known); s != "" {
		p.add(p.pos(k), job, "unknown key %q in %s%s", k.Value, where, s)
		return
	}
	p.add(p.pos(k), job, "unknown key %q in %s; known keys: %s", k.Value, where, strings.Join(known, ", "))
}

// isNull reports whether n is absent or an explicit null.
func isNull(n *yaml.Node) bool {
	return n == nil || n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// isString reports whether n is a scalar that YAML reads as text. Dates are
// text here: they are never converted to time values.
func isString(n *yaml.Node) bool {
	if n.Kind != yaml.ScalarNode {
		return false
	}
	tag := n.ShortTag()
	return tag == "!!str" || tag == "!!timestamp"
}

// describe names the kind and value of n for "want X, got Y" messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		if len(n.Content) == 0 {
			return "an empty list"
		}
		return "a list"
	case yaml.ScalarNode:
		v := n.Value
		if len(v) > 40 {
			v = v[:37] + "..."
		}
		switch n.ShortTag() {
		case "!!str", "!!timestamp":
			return fmt.Sprintf("string %q", v)
		case "!!int":
			return "integer " + v
		case "!!float":
			return "number " + v
		case "!!bool":
			return "boolean " + v
		case "!!null":
			return "null"
		}
		return fmt.Sprintf("%s %q", n.ShortTag(), v)
	}
	return "an alias"
}

// quoteHint suggests quoting a scalar that YAML did not read as a string.
func quoteHint(n *yaml.Node) string {
	if n.Kind == yaml.ScalarNode && n.ShortTag() != "!!null" {
		return fmt.Sprintf(" (write %q to make it a string)", n.Value)
	}
	return ""
}

func (p *parser) str(n *yaml.Node, field, job string) (string, bool) {
	if !isString(n) {
		p.add(p.pos(n), job, "%s: want a string, got %s%s", field, describe(n), quoteHint(n))
		return "", false
	}
	return n.Value, true
}

func (p *parser) integer(n *yaml.Node, field, job string) (int, bool) {
	var i int
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" {
		p.add(p.pos(n), job, "%s: want an integer, got %s", field, describe(n))
		return 0, false
	}
	if err := n.Decode(&i); err != nil {
		p.add(p.pos(n), job, "%s: integer %s is out of range", field, n.Value)
		return 0, false
	}
	return i, true
}

func (p *parser) boolean(n *yaml.Node, field, job string) (bool, bool) {
	var b bool
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" || n.Decode(&b) != nil {
		p.add(p.pos(n), job, "%s: want true or false, got %s", field, describe(n))
		return false, false
	}
	return b, true
}

func (p *parser) float(n *yaml.Node, field, job string) (float64, bool) {
	var f float64
	if err := n.Decode(&f); err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		p.add(p.pos(n), job, "%s: want a finite number, got %s", field, describe(n))
		return 0, false
	}
	return f, true
}

// duration reads a positive duration such as 90s or 20m.
func (p *parser) duration(n *yaml.Node, field, job string) (time.Duration, bool) {
	if isString(n) {
		d, err := time.ParseDuration(n.Value)
		if err == nil && d > 0 {
			return d, true
		}
		if err == nil {
			p.add(p.pos(n), job, "%s: must be positive, got %s", field, n.Value)
			return 0, false
		}
	}
	p.add(p.pos(n), job, "%s: want a duration such as 90s or 20m, got %s", field, describe(n))
	return 0, false
}
