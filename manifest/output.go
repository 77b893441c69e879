package manifest

import (
	"fmt"
	"path"
	"path/filepath"
	"strconv"
	"strings"
)

// placeholders lists the output template placeholders for messages.
const placeholders = "{job}, {n}, {ext}, {model} or {matrix.KEY}"

// OutputPath returns the file of output n (0-based) with extension ext (such
// as "png", without the dot), relative to the manifest's OutputDir. Matrix
// values are made file-safe as in job ids: {matrix.ratio} of "16:9" is "16x9".
func (j *Job) OutputPath(n int, ext string) string {
	s, _ := j.renderOutput(strconv.Itoa(n), ext)
	return filepath.FromSlash(path.Clean(s))
}

// renderOutput fills the output template with the values of j and the given
// values for {n} and {ext}.
func (j *Job) renderOutput(n, ext string) (string, error) {
	var b strings.Builder
	s := j.Output
	for s != "" {
		open, close := strings.IndexByte(s, '{'), strings.IndexByte(s, '}')
		switch {
		case open < 0 && close < 0:
			b.WriteString(s)
			s = ""
			continue
		case open < 0 || close < open:
			return "", fmt.Errorf("unmatched } in %q", j.Output)
		case close < 0:
			return "", fmt.Errorf("unmatched { in %q", j.Output)
		}
		b.WriteString(s[:open])
		name := s[open+1 : close]
		s = s[close+1:]
		key, isMatrix := strings.CutPrefix(name, "matrix.")
		switch {
		case name == "job":
			b.WriteString(j.ID)
		case name == "n":
			b.WriteString(n)
		case name == "ext":
			b.WriteString(ext)
		case name == "model":
			b.WriteString(j.Model)
		case isMatrix && j.Matrix == nil:
			return "", fmt.Errorf("{%s} is used, but job %q has no matrix", name, j.name)
		case isMatrix:
			v, ok := j.Matrix[key]
			if !ok {
				return "", fmt.Errorf("{%s}: %s", name, unknownName("matrix key", key, keys(j.Matrix)))
			}
			b.WriteString(fileSafe(v))
		default:
			return "", fmt.Errorf("unknown placeholder {%s}; use %s", name, placeholders)
		}
	}
	return b.String(), nil
}

// checkOutputs reports output templates that are malformed, leave the output
// folder, or name the same files as another job's.
func (p *parser) checkOutputs(m *Manifest) {
	owner := make(map[string]*Job, len(m.Jobs))
	for _, j := range m.Jobs {
		key, err := j.renderOutput("{n}", "{ext}")
		if err != nil {
			p.add(j.OutputPos, j.name, "output: %s", err)
			continue
		}
		sample, _ := j.renderOutput("0", "png")
		clean := path.Clean(sample)
		if path.IsAbs(sample) || filepath.IsAbs(sample) || strings.Contains(sample, `\`) ||
			clean == "." || clean == ".." || strings.HasPrefix(clean, "../") {
			p.add(j.OutputPos, j.name, "output: %q must be a relative path inside output_dir (for job %q it gives %q)", j.Output, j.ID, sample)
			continue
		}
		key = path.Clean(key)
		// Paths that differ only in case are one file on macOS and Windows.
		if other := owner[strings.ToLower(key)]; other != nil {
			p.add(j.OutputPos, j.name, "output: job %q writes the same files as job %q (%s); add {job} or {matrix.KEY} to the template", j.ID, other.ID, key)
			continue
		}
		owner[strings.ToLower(key)] = j
	}
}
