package main

import (
	"bytes"
	"os"
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
			cfg := config{jobs: 40, scale: 0.02, parallelism: 8, videoShare: 0.2, seed: 1, spread: spread, sigma: 0.2}
			if err := run(cfg, &out); err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{"adaptive", "fixed-3s/8s/20s", "reads/task", "lock written/final", "finished but unseen"} {
				if !strings.Contains(out.String(), want) {
					t.Fatalf("report lacks %q:\n%s", want, out.String())
				}
			}
			t.Log("\n" + out.String())
		})
	}
}
