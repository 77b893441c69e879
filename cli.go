package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/apipod/apipod-batch/manifest"
	"golang.org/x/term"
)

// Exit codes of DESIGN.md §2.
const (
	exitOK          = 0
	exitError       = 1
	exitInterrupted = 130
)

// streams are the process's standard files, injected so tests can use buffers.
type streams struct {
	in       io.Reader
	out, err io.Writer
}

// isTerminal reports whether w is a terminal (and not redirected).
func isTerminal(w any) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// exitCodeError ends the command with a code after its output is written.
type exitCodeError struct{ code int }

func (e *exitCodeError) Error() string { return fmt.Sprintf("exit %d", e.code) }

// hinter is an error that knows what the user should do about it.
type hinter interface{ Hint() string }

// globalOptions are the flags shared by every command.
type globalOptions struct {
	vars []string
	json bool
}

func (g *globalOptions) varMap() (map[string]string, error) {
	m := make(map[string]string, len(g.vars))
	for _, kv := range g.vars {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("--var %q: want NAME=VALUE", kv)
		}
		m[k] = v
	}
	return m, nil
}

func newRootCmd(ctx context.Context, s *streams) *cobra.Command {
	g := &globalOptions{}
	root := &cobra.Command{
		Use:   "apipod-batch",
		Short: "Declarative batch runner for APIPod image and video generation",
		Long: "apipod-batch applies a YAML manifest of APIPod generation jobs: it submits them under a\n" +
			"concurrency limit, polls each task, downloads every output and records the state in a\n" +
			"lockfile, so a rerun skips finished work, resumes tasks in flight and never pays twice.",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetContext(ctx)
	root.SetIn(s.in)
	root.SetOut(s.out)
	root.SetErr(s.err)
	root.PersistentFlags().StringArrayVar(&g.vars, "var", nil, "set a manifest variable, `NAME=VALUE` (repeatable)")
	root.PersistentFlags().BoolVar(&g.json, "json", false, "print results as JSON")
	root.AddCommand(withCompletions(g, newApplyCmd(g, s), newSandboxCmd(s), newVersionCmd(g, s), newValidateCmd(g, s), newModelsCmd(g, s), newInitCmd(s), newPlanCmd(g, s), newStatusCmd(g, s), newOutputsCmd(g, s), newCleanCmd(g, s))...)
	return root
}

// run executes the command line and turns its outcome into an exit code,
// printing errors with the tool's name and any hint.
func run(ctx context.Context, args []string, s *streams) int {
	root := newRootCmd(ctx, s)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	var code *exitCodeError
	if errors.As(err, &code) {
		return code.code
	}
	var problems manifest.Errors
	if errors.As(err, &problems) {
		// Each problem is a line of its own, file:line:col first, so editors
		// and CI annotate them.
		fmt.Fprintln(s.err, problems.Error())
		fmt.Fprintf(s.err, "apipod-batch: %d problem(s) in the manifest; nothing was sent\n", len(problems))
		return exitError
	}
	fmt.Fprintf(s.err, "apipod-batch: %v\n", err)
	var h hinter
	if errors.As(err, &h) && h.Hint() != "" {
		fmt.Fprintf(s.err, "hint: %s\n", h.Hint())
	}
	if ctx.Err() != nil {
		return exitInterrupted
	}
	return exitError
}

func manifestArg(args []string) string {
	if len(args) > 0 {
		return args[0]
	}
	return "jobs.yaml"
}
