package main

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"
)

// outputsOptions are the inputs of `outputs`.
type outputsOptions struct {
	global   *globalOptions
	manifest string
	targets  []string
	streams  *streams
}

func newOutputsCmd(g *globalOptions, s *streams) *cobra.Command {
	opts := &outputsOptions{global: g, streams: s}
	cmd := &cobra.Command{
		Use:   "outputs [MANIFEST]",
		Short: "List the files the jobs produced, one per line",
		Long: "outputs prints every output file recorded in the lockfile, one path per line, relative to\n" +
			"the current folder: jobs in manifest order, then jobs no longer in the manifest. It reads\n" +
			"only local files.\n\n" +
			"With --json it prints {\"version\": 1, \"outputs\": [{\"job\", \"path\", \"sha256\", \"bytes\"}]}.",
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.manifest = manifestArg(args)
			return runOutputs(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringArrayVar(&opts.targets, "target", nil, "only the outputs of the jobs `SEL` picks: an id, a glob, or tag:NAME (repeatable)")
	return cmd
}

// outputsVersion is the version of outputs's JSON format.
const outputsVersion = 1

func runOutputs(_ context.Context, opts *outputsOptions) error {
	jobs, err := recordedJobs(opts.manifest, opts.global, opts.targets, opts.streams.err, false)
	if err != nil {
		return err
	}
	all := []outputJSON{}
	for _, j := range jobs {
		for _, o := range j.Outputs {
			o.Job = j.ID
			all = append(all, o)
		}
	}
	if opts.global.json {
		enc := json.NewEncoder(opts.streams.out)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			Version int          `json:"version"`
			Outputs []outputJSON `json:"outputs"`
		}{outputsVersion, all})
	}
	for _, o := range all {
		if _, err := fmt.Fprintln(opts.streams.out, o.Path); err != nil {
			return err
		}
	}
	return nil
}
