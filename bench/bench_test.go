package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		os.Exit(runChild())
	}
	os.Exit(m.Run())
}

// TestBenchSmall runs the whole harness once at a small size, so CI keeps
// it working; the figures of record come from `go run ./bench`.
func TestBenchSmall(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	for _, spread := range []string{"model", "uniform"} {
		t.Run(spread, func(t *testing.T) {
			var out bytes.Buffer
			prefix := filepath.Join(t.TempDir(), "timings")
			cfg := config{jobs: 40, scale: 0.02, parallelism: 8, videoShare: 0.2, seed: 1, spread: spread, sigma: 0.2, baseline: true, timings: prefix}
			if err := run(cfg, &out); err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{"adaptive", "fixed-3s/8s/20s", "reads/task", "lock written/final", "finished but unseen"} {
				if !strings.Contains(out.String(), want) {
					t.Fatalf("report lacks %q:\n%s", want, out.String())
				}
			}
			for _, strategy := range []string{"adaptive", "fixed"} {
				raw, err := os.ReadFile(prefix + "." + strategy + ".jsonl")
				if err != nil {
					t.Fatal(err)
				}
				if n := bytes.Count(raw, []byte("\n")); n != cfg.jobs {
					t.Fatalf("%s timings: %d lines, want one per job (%d)", strategy, n, cfg.jobs)
				}
			}
			t.Log("\n" + out.String())
		})
	}
}
