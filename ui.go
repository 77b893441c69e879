package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/apipod/apipod-batch/lockfile"
	"github.com/apipod/apipod-batch/manifest"
	"github.com/apipod/apipod-batch/report"
	"github.com/apipod/apipod-batch/runner"
)

// display shows a run as it happens, on stderr: live bars on a terminal,
// log lines otherwise.
type display interface {
	runner.Observer
	plan(p *runner.Plan)                            // what apply is about to do
	begin(total int)                                // the run starts: total jobs have work to do
	retry(op string, err error, wait time.Duration) // a request waits before it is tried again
	end()                                           // the run is over: clear what is live
}

// uiOptions are apply's flags for progress, logs and reports.
type uiOptions struct {
	reports   []string // KIND=PATH
	quiet     bool
	verbose   bool
	logFormat string
}

func (u *uiOptions) addFlags(f *pflag.FlagSet) {
	f.StringArrayVar(&u.reports, "report", nil, "write a report, `KIND=PATH` with KIND "+strings.Join(report.Kinds, ", ")+" (repeatable)")
	f.BoolVarP(&u.quiet, "quiet", "q", false, "print no progress, only failures and the summary")
	f.BoolVarP(&u.verbose, "verbose", "v", false, "log every change as a line, progress percentages included")
	f.StringVar(&u.logFormat, "log-format", "text", "format of log lines: text or json (structured, via log/slog)")
}

// reportSpec is one --report.
type reportSpec struct{ kind, path string }

// check validates the flags before any work starts and parses the reports.
func (u *uiOptions) check() ([]reportSpec, error) {
	if u.quiet && u.verbose {
		return nil, errors.New("--quiet and --verbose: choose one")
	}
	if u.logFormat != "text" && u.logFormat != "json" {
		return nil, fmt.Errorf("--log-format %q: want text or json", u.logFormat)
	}
	var specs []reportSpec
	for _, r := range u.reports {
		kind, path, ok := strings.Cut(r, "=")
		if !ok || path == "" || !report.ValidKind(kind) {
			return nil, fmt.Errorf("--report %q: want KIND=PATH with KIND one of %s", r, strings.Join(report.Kinds, ", "))
		}
		specs = append(specs, reportSpec{kind, path})
	}
	return specs, nil
}

// newDisplay picks how apply shows progress: live bars when stderr is a
// terminal and CI is not set, log lines otherwise (text or JSON), at the
// verbosity the flags ask for.
func newDisplay(u *uiOptions, s *streams, getenv func(string) string, now func() time.Time) display {
	st := newStyle(s.err, getenv)
	live := isTerminal(s.err) && getenv("CI") == "" && !u.quiet && !u.verbose && u.logFormat == "text"
	if live {
		return newProgressBars(s.err, now, st)
	}
	l := newLineLog(s.err, now)
	l.style = st
	switch {
	case u.quiet:
		l.level = quiet
	case u.verbose:
		l.level = verbose
	}
	if u.logFormat == "json" {
		l.withJSON()
	}
	return l
}

// workCount is the number of jobs in a plan that have something to do.
func workCount(p *runner.Plan) int {
	n := 0
	for _, a := range []runner.Action{runner.Create, runner.Regenerate, runner.Retry, runner.Resume, runner.Download} {
		n += p.Counts()[a]
	}
	return n
}

// writeReports writes every --report from the lockfile as saved after the
// run, and appends the markdown summary to $GITHUB_STEP_SUMMARY when that is
// set (as on GitHub Actions).
func writeReports(specs []reportSpec, m *manifest.Manifest, res *runner.Result, getenv func(string) string, now time.Time) error {
	summary := getenv("GITHUB_STEP_SUMMARY")
	if len(specs) == 0 && summary == "" {
		return nil
	}
	lock, err := lockfile.Load(lockfile.Path(m.Path))
	if err != nil {
		return fmt.Errorf("reports: %w", err)
	}
	run := report.NewRun(m, lock, res, now)
	var errs []error
	for _, s := range specs {
		errs = append(errs, report.WriteFile(s.kind, s.path, run))
	}
	if summary != "" {
		errs = append(errs, appendStepSummary(summary, run))
	}
	return errors.Join(errs...)
}

func appendStepSummary(path string, run *report.Run) error {
	f, err := os.OpenFile(filepath.Clean(path), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("GITHUB_STEP_SUMMARY: %w", err)
	}
	if err := report.WriteMarkdown(f, run); err != nil {
		f.Close()
		return fmt.Errorf("GITHUB_STEP_SUMMARY: %w", err)
	}
	return f.Close()
}
