package main

import (
	"context"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/apipod/apipod-batch/lockfile"
	"github.com/apipod/apipod-batch/manifest"
	"github.com/apipod/apipod-batch/runner"
)

// exitPending is `plan --detailed-exitcode` when there is work to do.
const exitPending = 2

// selectFlags are --target and --replace, shared by plan and apply.
type selectFlags struct {
	targets []string
	replace []string
}

func (f *selectFlags) register(fs *pflag.FlagSet) {
	fs.StringArrayVar(&f.targets, "target", nil, "only the jobs `SEL` picks and the jobs they need: an id, a glob such as 'banner.*', or tag:NAME (repeatable)")
	fs.StringArrayVar(&f.replace, "replace", nil, "regenerate the jobs `SEL` picks even if they are done, and the jobs that use their results (repeatable)")
}

// planOptions turns the selectors into plan options for m.
func (f *selectFlags) planOptions(m *manifest.Manifest, backend string, now time.Time) (runner.PlanOptions, error) {
	target, err := runner.Select(m, f.targets)
	if err != nil {
		return runner.PlanOptions{}, err
	}
	replace, err := runner.Select(m, f.replace)
	if err != nil {
		return runner.PlanOptions{}, err
	}
	return runner.PlanOptions{Backend: backend, Target: target, Replace: replace, Now: now}, nil
}

// planCmdOptions are the inputs of `plan`.
type planCmdOptions struct {
	global           *globalOptions
	sel              selectFlags
	manifest         string
	sandbox          bool
	detailedExitcode bool

	streams *streams
	style   style // colours of the human plan
	now     func() time.Time
}

func newPlanCmd(g *globalOptions, s *streams) *cobra.Command {
	opts := &planCmdOptions{global: g, streams: s, now: time.Now}
	cmd := &cobra.Command{
		Use:   "plan [MANIFEST]",
		Short: "Show what apply would do, without sending anything",
		Long: "plan compares the manifest with the lockfile and the files on disk and prints one line per\n" +
			"job with work: + new, ~ spec changed (with the changed fields), -/+ regenerate (an upstream\n" +
			"job regenerates, --replace, or outputs lost after their URLs expired), ↻ download again,\n" +
			"⟳ resume polling, ! retry after a failure, - in the lockfile only (clean removes it).\n" +
			"It never contacts the API and never takes the lockfile's lock.\n\n" +
			"With --json it prints one object (version 1):\n" +
			"  {\"version\": 1, \"pending\": bool,\n" +
			"   \"jobs\": [{\"id\", \"model\", \"action\", \"symbol\", \"reason\", \"spec_hash\",\n" +
			"             \"changes\": [{\"field\", \"old\", \"new\"}], \"upstream\": [ids]}],\n" +
			"   \"orphans\": [{\"id\", \"model\", \"outputs\"}],\n" +
			"   \"counts\": {\"create\", \"regenerate\", \"retry\", \"download\", \"resume\", \"skip\", \"orphaned\"},\n" +
			"   \"estimate\": {\"cost\", \"tasks\", \"unpriced\": {model: tasks}}}\n" +
			"where action is create, regenerate, retry, download, resume or skip.",
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.manifest = manifestArg(args)
			opts.style = newStyle(s.out, os.Getenv)
			return runPlan(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	opts.sel.register(f)
	f.BoolVar(&opts.sandbox, "sandbox", false, "plan as apply --sandbox would: work done by the API is regenerated")
	f.BoolVar(&opts.detailedExitcode, "detailed-exitcode", false, "exit 0 when there is nothing to do, 2 when there is work, 1 on error")
	return cmd
}

func runPlan(_ context.Context, opts *planCmdOptions) error {
	m, err := loadManifest(opts.manifest, opts.global, opts.streams.err)
	if err != nil {
		return err
	}
	lock, err := lockfile.Load(lockfile.Path(opts.manifest))
	if err != nil {
		return err
	}
	po, err := opts.sel.planOptions(m, backendOf(opts.sandbox), opts.now())
	if err != nil {
		return err
	}
	plan, err := runner.MakePlan(m, lock, po)
	if err != nil {
		return err
	}
	var view PlanView = &humanPlanView{w: opts.streams.out, st: opts.style}
	if opts.global.json {
		view = &jsonPlanView{w: opts.streams.out}
	}
	if err := view.Plan(plan); err != nil {
		return err
	}
	if opts.detailedExitcode && plan.Pending() {
		return &exitCodeError{exitPending}
	}
	return nil
}

// showPlan prints the plan apply is about to carry out, on w (stderr): in
// full for people, or through the display as one line with --quiet or JSON
// logs.
func showPlan(p *runner.Plan, d display, ui *uiOptions, w io.Writer, getenv func(string) string) error {
	if ui.quiet || ui.logFormat == "json" {
		d.plan(p)
		return nil
	}
	return (&humanPlanView{w: w, st: newStyle(w, getenv)}).Plan(p)
}

// backendOf is the lockfile's backend name for apply --sandbox or not.
func backendOf(sandbox bool) string {
	if sandbox {
		return "sandbox"
	}
	return ""
}
