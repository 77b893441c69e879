package main

import (
	"fmt"
	"io"
	"time"

	"github.com/mattn/go-runewidth"
	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"

	"github.com/apipod/apipod-batch/runner"
)

// Live progress layout: the bar, a line of counts, then the tasks running
// longest; redrawn at most ten times a second.
const (
	progressRefresh = 100 * time.Millisecond
	progressTasks   = 3
	progressBarCols = 40
)

// progressBars is the live progress display on a terminal: one bar with the
// counts and the ETA, and a line for each of the longest-running tasks with
// its progress. Failures and retries scroll above it as log lines. When the
// run ends the bars are removed, so nothing is left behind but those lines.
type progressBars struct {
	*lineLog // writes above the bars, through the mpb container
	out      io.Writer
	p        *mpb.Progress
	bar      *mpb.Bar
	st       style
	opts     []mpb.ContainerOption
}

var (
	_ runner.Observer = (*progressBars)(nil)
	_ display         = (*progressBars)(nil)
)

// newProgressBars draws on w, a terminal; opts are for tests.
func newProgressBars(w io.Writer, now func() time.Time, st style, opts ...mpb.ContainerOption) *progressBars {
	l := newLineLog(w, now)
	l.style = st
	return &progressBars{lineLog: l, out: w, st: st, opts: opts}
}

// begin draws the bar for a run of total jobs with work to do. Until then,
// (the plan, the confirmation) lines go straight to the terminal.
func (b *progressBars) begin(total int) {
	b.tally = newTally(total, b.now()) // the bars show the counts: no heartbeat
	opts := append([]mpb.ContainerOption{mpb.WithOutput(b.out), mpb.WithRefreshRate(progressRefresh)}, b.opts...)
	b.p = mpb.New(opts...)
	b.lineLog.mu.Lock()
	b.lineLog.w, b.lineLog.level = b.p, quiet // from now on only failures print, above the bars
	b.lineLog.mu.Unlock()
	fillers := []mpb.BarFiller{mpb.BarFillerFunc(b.countsLine)}
	for i := range progressTasks {
		fillers = append(fillers, mpb.BarFillerFunc(func(w io.Writer, st decor.Statistics) error { return b.taskLine(w, st, i) }))
	}
	b.bar = b.p.New(int64(max(total, 1)), mpb.BarStyle().Lbound("▕").Filler("█").Tip("█").Padding("░").Rbound("▏"),
		mpb.BarWidth(progressBarCols),
		mpb.BarRemoveOnComplete(),
		mpb.PrependDecorators(decor.Any(func(decor.Statistics) string {
			c := b.snapshot()
			return fmt.Sprintf("%s %d/%d", b.st.ok(symOK), c.done, c.total)
		}, decor.WCSyncSpaceR)),
		mpb.AppendDecorators(decor.Any(func(decor.Statistics) string {
			c := b.snapshot()
			s := hms(c.elapsed)
			if c.eta > 0 {
				s += "  ETA " + hms(c.eta)
			}
			return s
		})),
		mpb.BarBtmExtender(fillers...),
	)
}

func (b *progressBars) snapshot() counts { return b.tally.snapshot(b.now(), progressTasks) }

// countsLine is the line under the bar: the counts by state.
func (b *progressBars) countsLine(w io.Writer, st decor.Statistics) error {
	c := b.snapshot()
	line := fmt.Sprintf("  %d in flight · %d queued · %s · %s · %d backing off",
		c.inFlight, c.queued, b.st.fail(fmt.Sprintf("%s %d failed", symFail, c.failed)),
		b.st.warn(fmt.Sprintf("%s %d retries", symRetry, c.retries)), c.backingOff)
	_, err := fmt.Fprintln(w, fit(line, st.AvailableWidth))
	return err
}

// taskLine is the i-th longest-running task, or nothing.
func (b *progressBars) taskLine(w io.Writer, st decor.Statistics, i int) error {
	c := b.snapshot()
	if i >= len(c.longest) {
		return nil
	}
	t := c.longest[i]
	pct := ""
	if t.progress > 0 {
		pct = fmt.Sprintf("%3d%%", t.progress)
	}
	line := fmt.Sprintf("  %s %-32s %-11s %4s %s", symWait, runewidth.Truncate(t.job, 32, "…"), t.status, pct,
		b.st.dim(hms(b.now().Sub(t.since))))
	_, err := fmt.Fprintln(w, fit(line, st.AvailableWidth))
	return err
}

// Event updates the counts; the bar advances with every finished job.
func (b *progressBars) Event(e runner.Event) {
	b.lineLog.Event(e)
	if b.bar != nil && (e.Kind == runner.EventDownloaded || e.Kind == runner.EventFailed || e.Kind == runner.EventHeld) {
		b.bar.Increment()
	}
}

// end removes the bars and waits until they are gone from the screen.
func (b *progressBars) end() {
	if b.p == nil {
		return
	}
	b.bar.Abort(true)
	b.p.Wait()
	b.lineLog.mu.Lock()
	b.lineLog.w = b.out
	b.lineLog.mu.Unlock()
}

// fit truncates a line (which may hold colour codes) to width columns.
func fit(line string, width int) string {
	if width <= 0 || runewidth.StringWidth(stripANSI(line)) <= width {
		return line
	}
	return runewidth.Truncate(stripANSI(line), width, "…")
}

func stripANSI(s string) string {
	out := make([]rune, 0, len(s))
	in := false
	for _, r := range s {
		switch {
		case r == '\x1b':
			in = true
		case in && r == 'm':
			in = false
		case !in:
			out = append(out, r)
		}
	}
	return string(out)
}
