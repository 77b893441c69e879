package runner

import (
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/apipod/apipod-batch/manifest"
)

// Select turns --target or --replace selectors into a set of jobs. A
// selector is a job id, a glob as path.Match reads it ("banner.*"), or
// "tag:NAME"; the name of a matrix job ("banner") picks every job it
// expands into. Select returns nil for no selectors, and an error naming
// the first selector that picks no job or is not a valid glob.
func Select(m *manifest.Manifest, selectors []string) (func(id string) bool, error) {
	if len(selectors) == 0 {
		return nil, nil
	}
	picked := make(map[string]bool)
	for _, sel := range selectors {
		n := 0
		for _, j := range m.Jobs {
			ok, err := matches(sel, j)
			if err != nil {
				return nil, fmt.Errorf("selector %q: %w", sel, err)
			}
			if ok {
				picked[j.ID] = true
				n++
			}
		}
		if n == 0 {
			return nil, fmt.Errorf("selector %q matches no job in %s", sel, m.Path)
		}
	}
	return func(id string) bool { return picked[id] }, nil
}

func matches(sel string, j *manifest.Job) (bool, error) {
	if tag, ok := strings.CutPrefix(sel, "tag:"); ok {
		return slices.Contains(j.Tags, tag), nil
	}
	if sel == j.ID || strings.HasPrefix(j.ID, sel+".") && j.Matrix != nil {
		return true, nil
	}
	return path.Match(sel, j.ID)
}
