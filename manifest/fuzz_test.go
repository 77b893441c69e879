package manifest

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*/*.yaml")
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("version: 1\njobs: {a: {model: m, prompt: '${jobs.a.result[0]}'}}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Parse("fuzz.yaml", data, map[string]string{"v": "x"})
		if err != nil {
			var errs Errors
			if m != nil || !errors.As(err, &errs) || len(errs) == 0 {
				t.Fatalf("Parse = %v, %T %v", m, err, err)
			}
			return
		}
		if !slices.IsSortedFunc(m.Jobs, func(a, b *Job) int { return strings.Compare(a.ID, b.ID) }) {
			t.Fatal("jobs not sorted")
		}
		for _, j := range m.Jobs {
			if m.Job(j.ID) != j {
				t.Fatalf("Job(%q) is not the job", j.ID)
			}
			_ = j.OutputPath(0, "png")
			if _, _, err := j.Resolve(func(string) []string { return []string{"u"} }); err != nil && len(j.Needs) == 0 {
				t.Fatalf("Resolve of job %q without references: %v", j.ID, err)
			}
		}
	})
}
