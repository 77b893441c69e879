package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/apipod/apipod-batch/apipod"
	"github.com/apipod/apipod-batch/apipod/apipodtest"
	"github.com/apipod/apipod-batch/lockfile"
	"github.com/apipod/apipod-batch/manifest"
	"github.com/apipod/apipod-batch/report"
	"github.com/apipod/apipod-batch/runner"
)

// applyOptions are the inputs of `apply`.
type applyOptions struct {
	global      *globalOptions
	manifest    string
	parallelism int
	sandbox     bool
	yes         bool
	maxCost     float64
	maxDownload string
	sel         selectFlags // --target and --replace (cmd_plan.go)
	ui          uiOptions   // progress, logs and reports (ui.go)

	streams *streams
	getenv  func(string) string
	// interactive says whether to ask before paid work: stdin and stderr are terminals.
	interactive bool
	now         func() time.Time
}

func newApplyCmd(g *globalOptions, s *streams) *cobra.Command {
	opts := &applyOptions{global: g, streams: s, getenv: os.Getenv, now: time.Now}
	cmd := &cobra.Command{
		Use:   "apply [MANIFEST]",
		Short: "Generate every job that is not done yet, then print a summary",
		Long: "apply submits the manifest's jobs that are new, changed or failed, resumes tasks left in\n" +
			"flight, downloads every output and records it all in the lockfile beside the manifest.\n" +
			"The API key is read from APIPOD_API_KEY; APIPOD_BASE_URL overrides the API's address.",
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.manifest = manifestArg(args)
			opts.interactive = isTerminal(s.in) && isTerminal(s.err)
			return runApply(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	f.IntVarP(&opts.parallelism, "parallelism", "p", 0, "tasks in flight at once (overrides settings.parallelism)")
	f.BoolVar(&opts.sandbox, "sandbox", false, "run against the built-in APIPod simulator: no key, no cost")
	f.BoolVarP(&opts.yes, "yes", "y", false, "do not ask for confirmation before paid work")
	f.Float64Var(&opts.maxCost, "max-cost", 0, "stop submitting new tasks once this run's cost would pass `AMOUNT` (USD); jobs left are pending")
	f.StringVar(&opts.maxDownload, "max-download", "", "fail a job whose result file is larger than `SIZE`, like 500MB or 2GiB (overrides settings.max_download; default 2GiB)")
	opts.sel.register(f)
	opts.ui.addFlags(f)
	return cmd
}

// sandboxKey is the key of the in-process simulator; it grants nothing real.
const sandboxKey = "sk-sandbox"

func runApply(ctx context.Context, opts *applyOptions) error {
	if opts.parallelism < 0 {
		return fmt.Errorf("--parallelism %d: want a positive number", opts.parallelism)
	}
	if opts.maxCost < 0 {
		return fmt.Errorf("--max-cost %g: want a positive amount", opts.maxCost)
	}
	reports, err := opts.ui.check()
	if err != nil {
		return err
	}
	var maxDownload int64
	if opts.maxDownload != "" {
		if maxDownload, err = manifest.ParseSize(opts.maxDownload); err != nil {
			return fmt.Errorf("--max-download: %w", err)
		}
	}
	m, err := loadManifest(opts.manifest, opts.global, opts.streams.err)
	if err != nil {
		return err
	}
	if maxDownload == 0 {
		maxDownload = m.Settings.MaxDownload
	}
	backend := backendOf(opts.sandbox)
	po, err := opts.sel.planOptions(m, backend, opts.now())
	if err != nil {
		return err
	}

	store, err := lockfile.Open(lockfile.Path(opts.manifest), lockfile.Options{})
	if err != nil {
		return err
	}
	defer store.Close()

	var plan *runner.Plan
	store.View(func(f *lockfile.File) {
		plan, err = runner.MakePlan(m, f, po)
	})
	if err != nil {
		return err
	}
	log := newDisplay(&opts.ui, opts.streams, opts.getenv, opts.now)
	if err := showPlan(plan, log, &opts.ui, opts.streams.err, opts.getenv); err != nil {
		return err
	}
	// With nothing to do, no client is made: the run sends nothing.
	var api runner.API
	if plan.Pending() {
		client, closeClient, err := opts.client()
		if err != nil {
			return err
		}
		defer closeClient()
		client.OnRetry = log.retry
		if maxDownload > 0 {
			client.MaxDownloadBytes = maxDownload
		}
		if rps := m.Settings.RateLimit; rps > 0 {
			client.Limiter = apipod.NewRateLimiter(rps)
		}
		api = client
	}
	// Only new tasks cost money: resuming and downloading ask nothing.
	if plan.Estimate().Tasks > 0 && opts.interactive && !opts.yes && !opts.sandbox {
		ok, err := confirm(ctx, opts.streams.in, opts.streams.err, "Submit paid generation tasks to APIPod?")
		if ctx.Err() != nil || (err == nil && !ok) {
			return errors.New("apply cancelled; nothing was sent")
		}
		if err != nil {
			return fmt.Errorf("read the answer: %w; nothing was sent", err)
		}
	}

	log.begin(workCount(plan))
	res, err := runner.Apply(ctx, runner.Config{
		Manifest: m, Store: store, API: api, Plan: plan, Backend: backend,
		Parallelism: opts.parallelism, Observer: log, Now: opts.now,
		MaxCost: opts.maxCost, Estimate: plan.Price,
	})
	log.end()
	if cerr := store.Close(); cerr != nil && err == nil {
		err = fmt.Errorf("write lockfile: %w", cerr)
	}
	if res != nil {
		var view report.View = &report.HumanView{W: opts.streams.out}
		if opts.global.json {
			view = &report.JSONView{W: opts.streams.out}
		}
		if verr := view.Summary(report.Summarize(res)); verr != nil && err == nil {
			err = verr
		}
		if rerr := writeReports(reports, m, res, opts.getenv, opts.now()); rerr != nil && err == nil {
			err = rerr
		}
	}
	switch {
	case ctx.Err() != nil:
		fmt.Fprintln(opts.streams.err, "apipod-batch: interrupted; tasks in flight are recorded in the lockfile and resume on the next apply")
		return &exitCodeError{exitInterrupted}
	case err != nil:
		return err
	case res.Failed():
		return &exitCodeError{exitError}
	}
	return nil
}

// client connects to the API, or to an in-process simulator with
// --sandbox; stop stops the simulator.
func (opts *applyOptions) client() (c *apipod.Client, stop func(), err error) {
	if opts.sandbox {
		srv := apipodtest.NewServer(sandboxOptions())
		return apipod.NewClient(srv.URL, sandboxKey), srv.Close, nil
	}
	key := opts.getenv("APIPOD_API_KEY")
	if key == "" {
		return nil, nil, &missingKeyError{}
	}
	base := opts.getenv("APIPOD_BASE_URL")
	if base == "" {
		base = apipod.DefaultBaseURL
	}
	return apipod.NewClient(base, key), func() {}, nil
}

// missingKeyError is apply without a key and without --sandbox.
type missingKeyError struct{}

func (*missingKeyError) Error() string { return "APIPOD_API_KEY is not set" }
func (*missingKeyError) Hint() string {
	return "export APIPOD_API_KEY=<your key> (from the APIPod console), or try the simulator with --sandbox"
}

// sandboxOptions make the in-process simulator quick enough to watch: images
// take one to three seconds, videos four to eight.
func sandboxOptions() apipodtest.Options {
	return apipodtest.Options{
		Duration: func(model string, kind apipod.Kind, body map[string]any) time.Duration {
			h := 0
			for _, c := range fmt.Sprint(body["prompt"]) {
				h = (h*31 + int(c)) & 0xffff
			}
			if kind == apipod.KindVideo {
				return 4*time.Second + time.Duration(h%4000)*time.Millisecond
			}
			return time.Second + time.Duration(h%2000)*time.Millisecond
		},
	}
}

// confirm asks a yes/no question on a terminal. Ctrl-C while it waits
// ends the wait (ctx is cancelled) with ctx's error: nothing is sent.
func confirm(ctx context.Context, in io.Reader, out io.Writer, question string) (bool, error) {
	fmt.Fprintf(out, "%s Only 'yes' is accepted: ", question)
	type answer struct {
		line string
		err  error
	}
	got := make(chan answer, 1)
	go func() {
		line, err := bufio.NewReader(in).ReadString('\n')
		got <- answer{line, err}
	}()
	select {
	case <-ctx.Done():
		fmt.Fprintln(out)
		return false, ctx.Err()
	case a := <-got:
		if a.err != nil && a.line == "" {
			return false, a.err
		}
		return strings.TrimSpace(a.line) == "yes", nil
	}
}
