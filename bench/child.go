package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"runtime/pprof"
	"strconv"
	"time"

	"github.com/apipod/apipod-batch/apipod"
	"github.com/apipod/apipod-batch/lockfile"
	"github.com/apipod/apipod-batch/manifest"
	"github.com/apipod/apipod-batch/runner"
)

// childReport is what one apply measured of itself.
type childReport struct {
	Wall        time.Duration
	User, Sys   time.Duration // CPU time; Sys is mostly the file system's work for each output
	MaxRSSKB    int64
	Done        int
	LockWritten int64
	LockFinal   int64
}

// runChild loads the manifest, plans and applies it as `apipod-batch apply`
// does, with the poller the parent chose, and prints a childReport.
func runChild() int {
	if err := child(); err != nil {
		fmt.Fprintln(os.Stderr, "bench child:", err)
		return 1
	}
	return 0
}

func child() error {
	path := os.Getenv("BENCH_MANIFEST")
	scale, _ := strconv.ParseFloat(os.Getenv("BENCH_SCALE"), 64)
	par, _ := strconv.Atoi(os.Getenv("BENCH_PARALLELISM"))
	m, err := manifest.Load(path, nil)
	if err != nil {
		return err
	}
	store, err := lockfile.Open(lockfile.Path(path), lockfile.Options{})
	if err != nil {
		return err
	}
	var plan *runner.Plan
	store.View(func(f *lockfile.File) { plan, err = runner.MakePlan(m, f, runner.PlanOptions{Now: time.Now()}) })
	if err != nil {
		return err
	}
	client := apipod.NewClient(os.Getenv("BENCH_URL"), "sk-bench")
	client.HTTP.Transport = benchTransport(par)
	client.Files.Transport = benchTransport(par)
	var poller runner.Poller
	if os.Getenv("BENCH_STRATEGY") != "adaptive" {
		poller = runner.FixedCadence(scale)
	}
	if path := os.Getenv("BENCH_CPUPROFILE"); path != "" {
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	start := time.Now()
	res, err := runner.Apply(context.Background(), runner.Config{Manifest: m, Store: store, API: client, Plan: plan, Poller: poller, Parallelism: par})
	wall := time.Since(start)
	if err != nil {
		return err
	}
	if err := store.Close(); err != nil {
		return err
	}
	fi, err := os.Stat(lockfile.Path(path))
	if err != nil {
		return err
	}
	rep := childReport{Wall: wall, LockWritten: store.BytesWritten(), LockFinal: fi.Size()}
	for _, j := range res.Jobs {
		if j.State == runner.StateDone {
			rep.Done++
		}
	}
	rep.User, rep.Sys, rep.MaxRSSKB = rusage()
	return json.NewEncoder(os.Stdout).Encode(rep)
}
