package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/apipod/apipod-batch/apipod"
	"github.com/apipod/apipod-batch/manifest"
)

// validateOptions are the inputs of `validate`.
type validateOptions struct {
	global   *globalOptions
	manifest string
	streams  *streams
}

func newValidateCmd(g *globalOptions, s *streams) *cobra.Command {
	opts := &validateOptions{global: g, streams: s}
	return &cobra.Command{
		Use:   "validate [MANIFEST]",
		Short: "Check a manifest offline and report every problem at once",
		Long: "validate reads the manifest and checks every job against the model registry without\n" +
			"sending anything: each problem is printed as file:line:col: job \"ID\": message and the\n" +
			"exit code is 1 when there is any. plan and apply run the same checks first.\n\n" +
			"With --json it prints one object instead:\n" +
			"  {\"version\": 1, \"valid\": true|false, \"jobs\": N,\n" +
			"   \"problems\": [{\"file\", \"line\", \"col\", \"job\", \"message\"}, ...]}\n" +
			"where jobs counts the jobs after matrix expansion (0 when the manifest has problems),\n" +
			"line and col are 1-based (0 when unknown) and job is \"\" outside a job.",
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.manifest = manifestArg(args)
			return runValidate(cmd.Context(), opts)
		},
	}
}

// validateVersion is the version of validate's JSON format.
const validateVersion = 1

// validateReport is the JSON form of validate's answer.
type validateReport struct {
	Version  int               `json:"version"`
	Valid    bool              `json:"valid"`
	Jobs     int               `json:"jobs"`
	Problems []validateProblem `json:"problems"`
}

// validateProblem is one manifest problem in validate's JSON.
type validateProblem struct {
	File    string `json:"file"`
	Line    int    `json:"line"`
	Col     int    `json:"col"`
	Job     string `json:"job"`
	Message string `json:"message"`
}

// runValidate loads and checks the manifest, prints the problems (or a
// summary) and ends with exit code 1 when there are problems. Errors other
// than problems in the manifest, such as a missing file, are returned.
func runValidate(_ context.Context, opts *validateOptions) error {
	m, err := loadManifest(opts.manifest, opts.global, opts.streams.err)
	var problems manifest.Errors
	if err != nil && !errors.As(err, &problems) {
		return err
	}
	if opts.global.json {
		if err := writeValidateJSON(opts, m, problems); err != nil {
			return err
		}
	} else if len(problems) > 0 {
		fmt.Fprintln(opts.streams.err, problems.Error())
		fmt.Fprintf(opts.streams.err, "apipod-batch: %s in %s\n", plural(len(problems), "problem"), opts.manifest)
	} else {
		fmt.Fprintln(opts.streams.out, validSummary(opts.manifest, m))
	}
	if len(problems) > 0 {
		return &exitCodeError{exitError}
	}
	return nil
}

func writeValidateJSON(opts *validateOptions, m *manifest.Manifest, problems manifest.Errors) error {
	r := validateReport{Version: validateVersion, Valid: len(problems) == 0, Problems: []validateProblem{}}
	if m != nil {
		r.Jobs = len(m.Jobs)
	}
	for _, p := range problems {
		r.Problems = append(r.Problems, validateProblem{File: p.Pos.File, Line: p.Pos.Line, Col: p.Pos.Col, Job: p.Job, Message: p.Msg})
	}
	return writeJSON(opts.streams.out, r)
}

// validSummary is the one line validate prints for a valid manifest, such
// as "jobs.yaml: 10 jobs over 3 models, all valid."
func validSummary(path string, m *manifest.Manifest) string {
	models := make(map[string]bool)
	unchecked := 0
	for _, j := range m.Jobs {
		models[j.Model] = true
		if _, ok := apipod.LookupModel(j.Model); !ok {
			unchecked++
		}
	}
	s := fmt.Sprintf("%s: %s over %s, all valid", path, plural(len(m.Jobs), "job"), plural(len(models), "model"))
	if unchecked > 0 {
		s += fmt.Sprintf(" (%s with a model unknown to this release not checked)", plural(unchecked, "job"))
	}
	return s + "."
}

// plural returns "1 job", "2 jobs".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
