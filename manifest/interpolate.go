package manifest

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// refMode says which job references a string may hold.
type refMode int

const (
	noRefs   refMode = iota // none: model, output, tags, settings
	someRefs                // ${jobs.ID.result[N]}: prompt and params
	listRefs                // also ${jobs.ID.result}, as a whole list element in params
)

// forms lists the reference forms for messages about bad ones.
const forms = "${var.NAME}, ${matrix.KEY}, ${jobs.ID.result[N]} or ${jobs.ID.result}"

// ref is a reference from a job to the results of another.
type ref struct {
	id    string
	index int    // N of result[N]; -1 for the whole list
	text  string // the reference as written, for messages
	pos   Pos
}

// token is a piece of an interpolated string: literal text, a $${ escape, or
// the body of a ${...} reference.
type token struct {
	kind tokenKind
	text string
}

type tokenKind int

const (
	tokText tokenKind = iota
	tokEscape
	tokRef
)

// tokenize splits s into literal text, $${ escapes and ${...} references.
func tokenize(s string) ([]token, error) {
	var toks []token
	for s != "" {
		i := strings.IndexByte(s, '$')
		switch {
		case i < 0:
			return append(toks, token{tokText, s}), nil
		case strings.HasPrefix(s[i:], "$${"):
			toks = append(toks, token{tokText, s[:i]}, token{tokEscape, "$${"})
			s = s[i+3:]
		case strings.HasPrefix(s[i:], "${"):
			end := strings.IndexByte(s[i:], '}')
			if end < 0 {
				return nil, fmt.Errorf("unterminated ${ in %q (write $${ for a literal ${)", s[i:])
			}
			toks = append(toks, token{tokText, s[:i]}, token{tokRef, s[i+2 : i+end]})
			s = s[i+end+1:]
		default:
			toks = append(toks, token{tokText, s[:i+1]})
			s = s[i+1:]
		}
	}
	return toks, nil
}

// parseJobRef splits the body "jobs.ID.result[N]" or "jobs.ID.result" of a
// reference into the job id and the output index, -1 for the whole list.
func parseJobRef(body string) (id string, index int, ok bool) {
	rest, ok := strings.CutPrefix(body, "jobs.")
	if !ok {
		return "", 0, false
	}
	if id, ok := strings.CutSuffix(rest, ".result"); ok && id != "" {
		return id, -1, true
	}
	head, idx, ok := strings.Cut(rest, ".result[")
	if !ok || head == "" || !strings.HasSuffix(idx, "]") {
		return "", 0, false
	}
	digits := strings.TrimSuffix(idx, "]")
	n, err := strconv.Atoi(digits)
	if err != nil || n < 0 || strconv.Itoa(n) != digits {
		return "", 0, false
	}
	return head, n, true
}

// interp resolves the references in the strings of one job.
type interp struct {
	vars   map[string]string
	matrix map[string]string // nil outside matrix jobs
	job    string            // the job's id as written, for messages
	refs   []ref             // job references found so far
}

// expand returns s with ${var.NAME} and ${matrix.KEY} substituted and $${
// unescaped, and whether s holds a job reference. Job references are recorded
// and kept verbatim; a string that holds one keeps its $${ escapes too, for
// Job.Resolve. Each problem is returned as a message.
func (in *interp) expand(s string, at Pos, mode refMode) (string, bool, []string) {
	toks, err := tokenize(s)
	if err != nil {
		return s, false, []string{err.Error()}
	}
	hasRef := slices.ContainsFunc(toks, func(t token) bool {
		return t.kind == tokRef && strings.HasPrefix(t.text, "jobs.")
	})
	var b strings.Builder
	var problems []string
	for _, t := range toks {
		switch t.kind {
		case tokText:
			b.WriteString(t.text)
		case tokEscape:
			if hasRef {
				b.WriteString("$${")
			} else {
				b.WriteString("${")
			}
		case tokRef:
			v, msg := in.resolve(t.text, s, at, mode)
			if msg != "" {
				problems = append(problems, msg)
			}
			if hasRef && !strings.HasPrefix(t.text, "jobs.") {
				v = strings.ReplaceAll(v, "${", "$${") // keep substituted text literal for Job.Resolve
			}
			b.WriteString(v)
		}
	}
	return b.String(), hasRef, problems
}

// resolve returns the text that replaces the reference ${body} in s, or a
// problem.
func (in *interp) resolve(body, s string, at Pos, mode refMode) (string, string) {
	verbatim := "${" + body + "}"
	ns, name, _ := strings.Cut(body, ".")
	switch ns {
	case "var":
		if v, ok := in.vars[name]; ok {
			return v, ""
		}
		return verbatim, unknownName("variable", name, keys(in.vars))
	case "matrix":
		if in.matrix == nil {
			return verbatim, fmt.Sprintf("%s is used, but job %q has no matrix", verbatim, in.job)
		}
		if v, ok := in.matrix[name]; ok {
			return v, ""
		}
		return verbatim, unknownName("matrix key", name, keys(in.matrix))
	case "jobs":
		id, index, ok := parseJobRef(body)
		switch {
		case !ok:
			return verbatim, fmt.Sprintf("malformed job reference %s; write ${jobs.ID.result[N]} or ${jobs.ID.result}", verbatim)
		case mode == noRefs:
			return verbatim, fmt.Sprintf("job reference %s is only allowed in prompt and params", verbatim)
		case index < 0 && (mode != listRefs || s != verbatim):
			return verbatim, fmt.Sprintf("%s is a list of outputs: use it as a whole list element, or pick one with ${jobs.%s.result[0]}", verbatim, id)
		}
		in.refs = append(in.refs, ref{id: id, index: index, text: verbatim, pos: at})
		return verbatim, ""
	}
	return verbatim, fmt.Sprintf("unknown reference %s; use %s (write $${ for a literal ${)", verbatim, forms)
}

// unknownName describes a name that is not among known.
func unknownName(what, name string, known []string) string {
	msg := fmt.Sprintf("unknown %s %q%s", what, name, didYouMean(name, known))
	if len(known) == 0 {
		return msg + fmt.Sprintf(" (no %ss are defined)", what)
	}
	return msg + " (known: " + strings.Join(known, ", ") + ")"
}

// keys returns the sorted keys of m.
func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
