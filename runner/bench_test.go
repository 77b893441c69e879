package runner_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apipod/apipod-batch/apipod"
	"github.com/apipod/apipod-batch/lockfile"
	"github.com/apipod/apipod-batch/manifest"
	"github.com/apipod/apipod-batch/runner"
)

// registry adapts the model registry to the manifest's checker, as main does.
type registry struct{}

func (registry) CheckJob(model, prompt string, params map[string]any) []manifest.Problem {
	var out []manifest.Problem
	for _, e := range apipod.CheckRequest(model, prompt, params) {
		out = append(out, manifest.Problem{Field: e.Field, Message: e.Message})
	}
	return out
}

// campaign10k writes a 10,000-job manifest (a 1,000-job matrix of images
// and 9,000 plain jobs over three models) and a lockfile in which every job
// is done with its output on disk: the worst case for a plan that must
// check every output.
func campaign10k(b *testing.B) string {
	b.Helper()
	dir := b.TempDir()
	var y strings.Builder
	y.WriteString("version: 1\nsettings: {parallelism: 64}\njobs:\n")
	y.WriteString("  banner:\n    model: nano-banana-2\n    prompt: \"banner ${matrix.p} in ${matrix.l}\"\n")
	y.WriteString("    matrix:\n      p: [")
	for i := range 100 {
		fmt.Fprintf(&y, "p%d,", i)
	}
	y.WriteString("]\n      l: [en, de, fr, es, it, nl, pl, pt, sv, fi]\n    params: {aspect_ratio: \"1:1\"}\n")
	models := []string{"nano-banana-2", "seedream-v4.5", "veo3-1-fast"}
	for i := range 9000 {
		fmt.Fprintf(&y, "  job-%04d: {model: %s, prompt: \"product shot %d\"}\n", i, models[i%3], i)
	}
	path := filepath.Join(dir, "jobs.yaml")
	if err := os.WriteFile(path, []byte(y.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	m, err := manifest.Load(path, nil)
	if err != nil {
		b.Fatal(err)
	}
	f := &lockfile.File{Version: lockfile.Version, Salt: "bench", Jobs: map[string]*lockfile.Job{}}
	plan, err := runner.MakePlan(m, f, runner.PlanOptions{Now: time.Now()})
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now().UTC()
	for _, st := range plan.Steps {
		rel := filepath.ToSlash(filepath.Join("out", st.Job.ID, "0.png"))
		full := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(full, []byte("png"), 0o644); err != nil {
			b.Fatal(err)
		}
		fi, _ := os.Stat(full)
		f.Jobs[st.Job.ID] = &lockfile.Job{SpecHash: st.SpecHash(), Model: st.Job.Model,
			Attempts:  []*lockfile.Attempt{{N: 1, Status: "completed", TaskID: "t", SubmittedAt: now}},
			Results:   []string{"https://cdn.example/" + st.Job.ID + ".png"},
			ExpiresAt: now.Add(24 * time.Hour),
			Outputs:   []lockfile.Output{{Path: rel, SHA256: "x", Bytes: 3, ModTime: fi.ModTime()}}}
	}
	store, err := lockfile.Open(lockfile.Path(path), lockfile.Options{})
	if err != nil {
		b.Fatal(err)
	}
	store.Update(func(lf *lockfile.File) { lf.Jobs = f.Jobs })
	if err := store.Close(); err != nil {
		b.Fatal(err)
	}
	return path
}

// BenchmarkPlan10k is `apipod-batch plan` on 10,000 done jobs: load and
// expand the manifest, check every job against the registry, read the
// lockfile and check every output on disk.
func BenchmarkPlan10k(b *testing.B) {
	path := campaign10k(b)
	for b.Loop() {
		m := loadChecked(b, path)
		lock, err := lockfile.Load(lockfile.Path(path))
		if err != nil {
			b.Fatal(err)
		}
		plan, err := runner.MakePlan(m, lock, runner.PlanOptions{Now: time.Now()})
		if err != nil {
			b.Fatal(err)
		}
		if plan.Pending() {
			b.Fatalf("plan has work: %v", plan.Counts())
		}
	}
}

// BenchmarkValidate10k is `apipod-batch validate` on the same manifest.
func BenchmarkValidate10k(b *testing.B) {
	path := campaign10k(b)
	for b.Loop() {
		loadChecked(b, path)
	}
}

// loadChecked loads a manifest and checks it against the registry, as every
// command does first.
func loadChecked(b *testing.B, path string) *manifest.Manifest {
	m, err := manifest.Load(path, nil)
	if err != nil {
		b.Fatal(err)
	}
	if err := m.Check(registry{}); err != nil {
		b.Fatal(err)
	}
	return m
}
