package report

import (
	"cmp"
	"fmt"
	"io"
	"sort"
	"strings"
)

// WriteMarkdown writes the run as GitHub-flavoured Markdown: a headline, a
// table per model and a table of the jobs that failed or are pending. It is
// what apply appends to $GITHUB_STEP_SUMMARY.
func WriteMarkdown(w io.Writer, r *Run) error {
	var b strings.Builder
	t := r.Summary
	icon := "✅"
	if t.Failed+t.Pending > 0 {
		icon = "❌"
	}
	fmt.Fprintf(&b, "## %s apipod-batch apply `%s`\n\n", icon, r.Manifest)
	fmt.Fprintf(&b, "**%d jobs**: %d done, %d skipped, %d failed", t.Jobs, t.Done, t.Skipped, t.Failed)
	if t.Pending > 0 {
		fmt.Fprintf(&b, ", %d pending", t.Pending)
	}
	fmt.Fprintf(&b, "; %d outputs; cost %s; in %s.\n\n", t.Outputs, money(t.RunCost), dur(r.Elapsed()))
	if r.Halted != "" {
		fmt.Fprintf(&b, "> **Stopped early:** %s\n\n", mdCell(r.Halted))
	}
	if r.Interrupted {
		b.WriteString("> **Interrupted:** tasks in flight are recorded; apply again to resume them.\n\n")
	}
	b.WriteString("| Model | Jobs | Done | Skipped | Failed | Outputs | Cost |\n")
	b.WriteString("|---|--:|--:|--:|--:|--:|--:|\n")
	for _, row := range r.byModel() {
		fmt.Fprintf(&b, "| %s | %d | %d | %d | %d | %d | %s |\n", mdCell(row.Model), row.Jobs, row.Done, row.Skipped,
			row.Failed+row.Pending, row.Outputs, money(row.Cost))
	}
	if bad := r.Unfinished(); len(bad) > 0 {
		b.WriteString("\n### Failures\n\n| Job | Model | State | Error |\n|---|---|---|---|\n")
		for _, j := range bad {
			fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", j.ID, mdCell(j.Model), j.State, mdCell(cmp.Or(j.Error, "not finished")))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// byModel aggregates the run's jobs per model, sorted by model id.
func (r *Run) byModel() []ModelRow {
	rows := map[string]*ModelRow{}
	for _, j := range r.Jobs {
		row := rows[j.Model]
		if row == nil {
			row = &ModelRow{Model: j.Model}
			rows[j.Model] = row
		}
		row.Jobs++
		row.Outputs += len(j.Outputs)
		row.Cost += j.RunCost
		switch j.State {
		case "done":
			row.Done++
		case "skipped":
			row.Skipped++
		case "failed":
			row.Failed++
		case "pending":
			row.Pending++
		}
	}
	out := make([]ModelRow, 0, len(rows))
	for _, row := range rows {
		out = append(out, *row)
	}
	sort.Slice(out, func(a, b int) bool { return out[a].Model < out[b].Model })
	return out
}

// mdCell makes text safe inside a Markdown table cell. GitHub renders inline
// HTML there, so &, < and > are escaped too: an HTML error page from a
// gateway, or a "<!--", would otherwise hide the rest of the summary.
func mdCell(s string) string {
	s = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
	s = strings.ReplaceAll(s, "|", `\|`)
	s = strings.ReplaceAll(s, "\r", "")
	return strings.ReplaceAll(s, "\n", "<br>")
}
