// Command apipod-batch is a declarative batch runner for the APIPod image and
// video generation API: it applies a YAML manifest of generation jobs under a
// concurrency limit, polls and downloads every task, and records the state in
// a lockfile so reruns skip finished work and never pay twice.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	os.Exit(mainExit())
}

// mainExit runs the command line and returns the exit code; testscript calls
// it directly.
func mainExit() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		// After the first signal, a second one kills the process at once.
		<-ctx.Done()
		stop()
	}()
	defer stop()
	return run(ctx, os.Args[1:], &streams{in: os.Stdin, out: os.Stdout, err: os.Stderr})
}
