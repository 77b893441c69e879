package main

import (
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/apipod/apipod-batch/apipod"
	"github.com/apipod/apipod-batch/manifest"
)

// withCompletions adds shell completion to commands (cobra's `completion`
// command serves bash, zsh and fish): a MANIFEST argument completes YAML
// files, --target and --replace complete the manifest's job ids and tags,
// and `models` completes model ids.
func withCompletions(g *globalOptions, cmds ...*cobra.Command) []*cobra.Command {
	for _, c := range cmds {
		if c.ValidArgsFunction == nil {
			switch {
			case c.Name() == "models":
				c.ValidArgsFunction = completeModels
			case strings.Contains(c.Use, "[MANIFEST]"):
				c.ValidArgsFunction = completeManifest
			}
		}
		for _, name := range []string{"target", "replace"} {
			if c.Flags().Lookup(name) != nil {
				_ = c.RegisterFlagCompletionFunc(name, completeJobs(g))
			}
		}
	}
	return cmds
}

func completeManifest(_ *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	return []cobra.Completion{"yaml", "yml"}, cobra.ShellCompDirectiveFilterFileExt
}

func completeModels(_ *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var out []cobra.Completion
	for _, m := range apipod.Models() {
		out = append(out, cobra.CompletionWithDesc(m.ID, string(m.Kind)))
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

// completeJobs completes the job ids and tag:NAME selectors of the manifest
// named by the command's argument (jobs.yaml by default). The manifest is
// parsed but not checked against the model registry, so jobs with a bad
// parameter still complete; a manifest that does not parse completes
// nothing.
func completeJobs(g *globalOptions) cobra.CompletionFunc {
	return func(_ *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
		vars, _ := g.varMap()
		m, err := manifest.Load(manifestArg(args), vars)
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveError
		}
		var out, tags []cobra.Completion
		for _, j := range m.Jobs {
			out = append(out, cobra.CompletionWithDesc(j.ID, j.Model))
			for _, t := range j.Tags {
				tags = append(tags, "tag:"+t)
			}
		}
		slices.Sort(tags)
		return append(out, slices.Compact(tags)...), cobra.ShellCompDirectiveNoFileComp
	}
}
