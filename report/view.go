package report

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/tw"
)

// View renders a run's summary. Human and JSON are its implementations.
type View interface {
	Summary(s *Summary) error
}

var (
	_ View = (*HumanView)(nil)
	_ View = (*JSONView)(nil)
)

// HumanView prints the summary as a table for people.
type HumanView struct{ W io.Writer }

// Summary prints one row per model, one row per failed job and a totals line.
func (v *HumanView) Summary(s *Summary) error {
	t := tablewriter.NewTable(v.W,
		tablewriter.WithHeaderAutoFormat(tw.Off),
		tablewriter.WithAlignment(tw.Alignment{tw.AlignLeft, tw.AlignRight, tw.AlignRight, tw.AlignRight,
			tw.AlignRight, tw.AlignRight, tw.AlignRight, tw.AlignRight}),
	)
	t.Header("MODEL", "JOBS", "DONE", "SKIPPED", "FAILED", "OUTPUTS", "COST", "MEDIAN")
	for _, r := range s.Models {
		if err := t.Append(r.Model, itoa(r.Jobs), itoa(r.Done), itoa(r.Skipped), itoa(r.Failed),
			itoa(r.Outputs), money(r.Cost), dur(r.Median)); err != nil {
			return err
		}
	}
	if err := t.Render(); err != nil {
		return err
	}
	if len(s.Failures) > 0 {
		ft := tablewriter.NewTable(v.W, tablewriter.WithHeaderAutoFormat(tw.Off), tablewriter.WithRowAutoWrap(tw.WrapNormal),
			tablewriter.WithRowMaxWidth(72))
		ft.Header("FAILED JOB", "MODEL", "ERROR")
		for _, f := range s.Failures {
			msg := f.Error
			if f.State != "failed" {
				msg = f.State + ": " + msg
			}
			if err := ft.Append(f.Job, f.Model, msg); err != nil {
				return err
			}
		}
		if err := ft.Render(); err != nil {
			return err
		}
	}
	tot := s.Total
	parts := []string{fmt.Sprintf("%d jobs", tot.Jobs), fmt.Sprintf("%d done", tot.Done),
		fmt.Sprintf("%d skipped", tot.Skipped), fmt.Sprintf("%d failed", tot.Failed)}
	if tot.Pending > 0 {
		parts = append(parts, fmt.Sprintf("%d pending", tot.Pending))
	}
	parts = append(parts, fmt.Sprintf("%d outputs", tot.Outputs), "cost "+money(tot.Cost), "in "+dur(s.Elapsed))
	_, err := fmt.Fprintf(v.W, "Total: %s.\n", strings.Join(parts, ", "))
	if err == nil && s.Halted != "" {
		_, err = fmt.Fprintf(v.W, "Stopped early: %s\n", s.Halted)
	}
	if err == nil && s.Interrupted {
		_, err = fmt.Fprintln(v.W, "Interrupted: tasks in flight are recorded; apply again to resume them.")
	}
	return err
}

// JSONView prints the summary as one versioned JSON object.
type JSONView struct{ W io.Writer }

// SummaryVersion is the version of the JSON summary's format.
const SummaryVersion = 1

// Summary writes {"version":1, "models":[…], "failures":[…], "total":{…}, …}.
func (v *JSONView) Summary(s *Summary) error {
	enc := json.NewEncoder(v.W)
	enc.SetIndent("", "  ")
	return enc.Encode(struct {
		Version int `json:"version"`
		*Summary
	}{SummaryVersion, s})
}

func itoa(n int) string { return strconv.Itoa(n) }

func money(c float64) string {
	if c == 0 {
		return "-"
	}
	return fmt.Sprintf("$%.2f", c)
}

func dur(d time.Duration) string {
	switch {
	case d <= 0:
		return "-"
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	case d < time.Minute:
		return d.Round(100 * time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}
