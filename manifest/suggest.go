package manifest

import (
	"fmt"
	"strings"

	"github.com/apipod/apipod-batch/internal/editdist"
)

// suggest returns the candidate closest to name by edit distance, or "" when
// none is close enough to be a likely typo.
func suggest(name string, candidates []string) string {
	best, bestDist := "", max(1, len(name)/3)+1
	for _, c := range candidates {
		if d := editdist.Distance(strings.ToLower(name), strings.ToLower(c)); d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
}

// didYouMean returns "; did you mean "x"?" for the closest candidate, or "".
func didYouMean(name string, candidates []string) string {
	if s := suggest(name, candidates); s != "" {
		return fmt.Sprintf("; did you mean %q?", s)
	}
	return ""
}
