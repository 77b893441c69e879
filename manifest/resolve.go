package manifest

import (
	"fmt"
	"strings"
)

// refString is a param string that holds a job reference, kept apart so that
// Resolve never mistakes a final string (say, one written with $${) for one.
type refString string

// plain returns v with every refString turned into a string.
func plain(v any) any {
	switch v := v.(type) {
	case refString:
		return string(v)
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = plain(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = plain(e)
		}
		return out
	}
	return v
}

// Resolve returns the prompt and params of j with every job reference
// replaced by outputs of the upstream job: results returns the output URLs of
// a job in Needs. ${jobs.ID.result[N]} is output N; ${jobs.ID.result} as a
// whole list element becomes all of them. A job without references gets its
// own Prompt and Params back.
func (j *Job) Resolve(results func(id string) []string) (string, map[string]any, error) {
	prompt, params := j.Prompt, j.Params
	var err error
	if j.promptRefs {
		if prompt, err = resolveString(prompt, results); err != nil {
			return "", nil, fmt.Errorf("prompt: %w", err)
		}
	}
	if j.tmpl != nil {
		v, err := resolveValue(j.tmpl, results)
		if err != nil {
			return "", nil, fmt.Errorf("params: %w", err)
		}
		params = v.(map[string]any)
	}
	return prompt, params, nil
}

func resolveValue(v any, results func(string) []string) (any, error) {
	switch v := v.(type) {
	case refString:
		return resolveString(string(v), results)
	case []any:
		out := make([]any, 0, len(v))
		for _, e := range v {
			if s, ok := e.(refString); ok {
				if id, index, ok := parseJobRef(strings.TrimSuffix(strings.TrimPrefix(string(s), "${"), "}")); ok && index < 0 {
					for _, u := range results(id) {
						out = append(out, u)
					}
					continue
				}
			}
			r, err := resolveValue(e, results)
			if err != nil {
				return nil, err
			}
			out = append(out, r)
		}
		return out, nil
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			r, err := resolveValue(e, results)
			if err != nil {
				return nil, err
			}
			out[k] = r
		}
		return out, nil
	}
	return v, nil
}

// resolveString replaces the ${jobs.ID.result[N]} references of s and
// unescapes its $${.
func resolveString(s string, results func(string) []string) (string, error) {
	toks, err := tokenize(s)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	for _, t := range toks {
		switch t.kind {
		case tokText:
			b.WriteString(t.text)
		case tokEscape:
			b.WriteString("${")
		case tokRef:
			id, index, ok := parseJobRef(t.text)
			if !ok || index < 0 {
				return "", fmt.Errorf("cannot resolve ${%s}", t.text)
			}
			urls := results(id)
			if index >= len(urls) {
				return "", fmt.Errorf("${%s}: job %q has %d outputs", t.text, id, len(urls))
			}
			b.WriteString(urls[index])
		}
	}
	return b.String(), nil
}
