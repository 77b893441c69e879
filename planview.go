package main

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/apipod/apipod-batch/runner"
)

// PlanView renders a plan: for people on a terminal or in a log, or as JSON.
type PlanView interface {
	Plan(p *runner.Plan) error
}

var (
	_ PlanView = (*humanPlanView)(nil)
	_ PlanView = (*jsonPlanView)(nil)
)

// humanPlanView prints one line per job with work, Terraform style, then the
// counts and the estimated spend.
type humanPlanView struct {
	w  io.Writer
	st style // colours only on a terminal with NO_COLOR unset
}

// planColors are the ANSI colours of the symbols.
var planColors = map[string]string{
	"+": "32", "~": "33", "-/+": "35", "↻": "36", "⟳": "34", "!": "31", "-": "31",
}

// actionSuffix says what apply does where the reason alone does not.
var actionSuffix = map[runner.Action]string{
	runner.Download: "; download again",
	runner.Resume:   "; poll again",
	runner.Retry:    "; new attempt",
}

// maxValueLen bounds the runes of a value shown in a change; longer values
// (prompts, mostly) are shortened with an ellipsis.
const maxValueLen = 48

// Plan prints the plan.
func (v *humanPlanView) Plan(p *runner.Plan) error {
	width := 0
	for _, s := range p.Steps {
		if s.Action != runner.Skip {
			width = max(width, len(s.Job.ID))
		}
	}
	for _, o := range p.Orphans {
		width = max(width, len(o.ID))
	}
	width = min(width, 40)
	var b strings.Builder
	for _, s := range p.Steps {
		if s.Action == runner.Skip {
			continue
		}
		suffix := actionSuffix[s.Action]
		if s.Resends() {
			suffix = "; send it again with the same key (no second charge)"
		}
		fmt.Fprintf(&b, "%s %-*s  %s%s\n", v.symbol(s.Symbol()), width, s.Job.ID, s.Reason, suffix)
		for _, c := range s.Changes {
			before, after := showChange(c)
			fmt.Fprintf(&b, "%*s%s: %s → %s\n", width+6, "", c.Field, before, after)
		}
	}
	for _, o := range p.Orphans {
		fmt.Fprintf(&b, "%s %-*s  in the lockfile but not in the manifest: kept; clean removes it\n", v.symbol("-"), width, o.ID)
	}
	if b.Len() > 0 {
		b.WriteString("\n")
	}
	b.WriteString(v.st.bold(planSentence(p)) + "\n")
	if line := estimateLine(p.Estimate()); line != "" {
		b.WriteString(line + "\n")
	}
	_, err := io.WriteString(v.w, b.String())
	return err
}

func (v *humanPlanView) symbol(sym string) string {
	return strings.Repeat(" ", 3-utf8.RuneCountInString(sym)) + v.st.paint(planColors[sym], sym)
}

// planSentence counts the plan's steps: "Plan: 12 to generate, 3 to
// regenerate, 1 to download, 2 to resume, 40 unchanged." It names only the
// actions that occur, and says so when there is nothing to do.
func planSentence(p *runner.Plan) string {
	c := p.Counts()
	if !p.Pending() {
		switch c[runner.Skip] {
		case 0:
			return "Nothing to do: the manifest has no jobs."
		case 1:
			return "Nothing to do: 1 job is up to date."
		}
		return fmt.Sprintf("Nothing to do: all %d jobs are up to date.", c[runner.Skip])
	}
	var parts []string
	for _, a := range []runner.Action{runner.Create, runner.Regenerate, runner.Retry, runner.Download, runner.Resume} {
		if c[a] > 0 {
			parts = append(parts, fmt.Sprintf("%d to %s", c[a], actionVerb[a]))
		}
	}
	if c[runner.Skip] > 0 {
		parts = append(parts, fmt.Sprintf("%d unchanged", c[runner.Skip]))
	}
	return "Plan: " + strings.Join(parts, ", ") + "."
}

var actionVerb = map[runner.Action]string{
	runner.Create: "generate", runner.Regenerate: "regenerate", runner.Retry: "retry",
	runner.Download: "download", runner.Resume: "resume",
}

// estimateLine prices the tasks to submit, or is empty when there are none.
func estimateLine(e runner.Estimate) string {
	if e.Tasks == 0 {
		return ""
	}
	unpriced := 0
	var missing []string
	for _, m := range slices.Sorted(maps.Keys(e.Unpriced)) {
		unpriced += e.Unpriced[m]
		missing = append(missing, fmt.Sprintf("%s (%s)", m, countOf(e.Unpriced[m], "task")))
	}
	priced := e.Tasks - unpriced
	line := "Estimated cost: "
	if priced > 0 {
		line += fmt.Sprintf("%s for %s at the lockfile's average prices", dollars(e.Cost), countOf(priced, "task"))
	} else {
		line += "unknown"
	}
	if len(missing) > 0 {
		line += "; no recorded price for " + strings.Join(missing, ", ")
	}
	return wrap(line+".", 80)
}

// wrap breaks text at spaces into lines of at most width columns, the
// continuation lines indented, so that plans stay readable at 80 columns.
func wrap(text string, width int) string {
	var b strings.Builder
	col := 0
	for i, word := range strings.Fields(text) {
		n := utf8.RuneCountInString(word)
		switch {
		case i == 0:
		case col+1+n > width:
			b.WriteString("\n  ")
			col = 2
		default:
			b.WriteByte(' ')
			col++
		}
		b.WriteString(word)
		col += n
	}
	return b.String()
}

// countOf is "1 task" or "3 tasks".
func countOf(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

// dollars shows a cost with two to four decimals: $0.12, $0.0035.
func dollars(c float64) string {
	s := strconv.FormatFloat(c, 'f', 4, 64)
	s = strings.TrimRight(s, "0")
	if i := strings.IndexByte(s, '.'); len(s)-i < 3 {
		s += strings.Repeat("0", 3-(len(s)-i))
	}
	return "$" + s
}

// showChange renders a change's old and new values. Two long strings are
// cut around where they differ, so that the change itself stays in view.
func showChange(c runner.Change) (before, after string) {
	var o, n string
	if c.Old == nil || c.New == nil || json.Unmarshal(c.Old, &o) != nil || json.Unmarshal(c.New, &n) != nil {
		return showValue(c.Old), showValue(c.New)
	}
	o, n = aroundDifference([]rune(o), []rune(n))
	return strconv.Quote(o), strconv.Quote(n)
}

// aroundDifference shortens two strings to the part where they differ, with
// a little context and an ellipsis where text is left out.
func aroundDifference(a, b []rune) (string, string) {
	if len(a) <= maxValueLen && len(b) <= maxValueLen {
		return string(a), string(b)
	}
	const context = 12
	pre := 0
	for pre < len(a) && pre < len(b) && a[pre] == b[pre] {
		pre++
	}
	suf := 0
	for suf < len(a)-pre && suf < len(b)-pre && a[len(a)-1-suf] == b[len(b)-1-suf] {
		suf++
	}
	start := max(0, pre-context)
	cut := func(r []rune) string {
		end := min(len(r)-suf+context, len(r), start+maxValueLen)
		s := string(r[start:end])
		if start > 0 {
			s = "…" + s
		}
		if end < len(r) {
			s += "…"
		}
		return s
	}
	return cut(a), cut(b)
}

// showValue renders a changed value: "(none)" for an absent one, long
// strings shortened.
func showValue(raw json.RawMessage) string {
	if raw == nil {
		return "(none)"
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		if utf8.RuneCountInString(s) > maxValueLen {
			s = string([]rune(s)[:maxValueLen-1]) + "…"
		}
		return strconv.Quote(s)
	}
	out := string(raw)
	if utf8.RuneCountInString(out) > maxValueLen {
		out = string([]rune(out)[:maxValueLen-1]) + "…"
	}
	return out
}

// jsonPlanView writes the plan as one versioned JSON object; see planJSON.
type jsonPlanView struct{ w io.Writer }

// planVersion is the version of the JSON plan's format. Fields are only
// ever added within a version.
const planVersion = 1

// planJSON is the JSON plan:
//
//	{"version": 1, "pending": true,
//	 "jobs": [{"id", "model", "action", "symbol", "reason", "spec_hash",
//	           "changes": [{"field", "old", "new"}], "upstream": [ids]}],
//	 "orphans": [{"id", "model", "outputs"}],
//	 "counts": {"create", "regenerate", "retry", "download", "resume", "skip", "orphaned"},
//	 "estimate": {"cost", "tasks", "unpriced": {model: tasks}}}
//
// Every job of the plan is listed, "skip" ones too, in manifest order.
// action is one of create, regenerate, retry, download, resume, skip; old
// and new are JSON values, absent when the field is absent.
type planJSON struct {
	Version  int              `json:"version"`
	Pending  bool             `json:"pending"`
	Jobs     []planJobJSON    `json:"jobs"`
	Orphans  []planOrphanJSON `json:"orphans"`
	Counts   map[string]int   `json:"counts"`
	Estimate planEstimateJSON `json:"estimate"`
}

type planJobJSON struct {
	ID       string           `json:"id"`
	Model    string           `json:"model"`
	Action   string           `json:"action"`
	Symbol   string           `json:"symbol"`
	Reason   string           `json:"reason"`
	SpecHash string           `json:"spec_hash"`
	Changes  []planChangeJSON `json:"changes,omitempty"`
	Upstream []string         `json:"upstream,omitempty"`
}

type planChangeJSON struct {
	Field string          `json:"field"`
	Old   json.RawMessage `json:"old,omitempty"`
	New   json.RawMessage `json:"new,omitempty"`
}

type planOrphanJSON struct {
	ID      string `json:"id"`
	Model   string `json:"model"`
	Outputs int    `json:"outputs"`
}

type planEstimateJSON struct {
	Cost     float64        `json:"cost"`
	Tasks    int            `json:"tasks"`
	Unpriced map[string]int `json:"unpriced"`
}

// Plan writes the plan as JSON.
func (v *jsonPlanView) Plan(p *runner.Plan) error {
	out := planJSON{Version: planVersion, Pending: p.Pending(), Jobs: []planJobJSON{}, Orphans: []planOrphanJSON{},
		Counts: map[string]int{"orphaned": len(p.Orphans)}}
	for _, a := range []runner.Action{runner.Create, runner.Regenerate, runner.Retry, runner.Download, runner.Resume, runner.Skip} {
		out.Counts[a.String()] = 0
	}
	for _, s := range p.Steps {
		out.Counts[s.Action.String()]++
		j := planJobJSON{ID: s.Job.ID, Model: s.Job.Model, Action: s.Action.String(), Symbol: strings.TrimSpace(s.Symbol()),
			Reason: s.Reason, SpecHash: s.SpecHash(), Upstream: s.Upstream}
		for _, c := range s.Changes {
			j.Changes = append(j.Changes, planChangeJSON{Field: c.Field, Old: c.Old, New: c.New})
		}
		out.Jobs = append(out.Jobs, j)
	}
	for _, o := range p.Orphans {
		out.Orphans = append(out.Orphans, planOrphanJSON{ID: o.ID, Model: o.Model, Outputs: o.Outputs})
	}
	e := p.Estimate()
	out.Estimate = planEstimateJSON{Cost: roundCost(e.Cost), Tasks: e.Tasks, Unpriced: e.Unpriced}
	enc := json.NewEncoder(v.w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// roundCost drops the float noise of a sum of prices.
func roundCost(c float64) float64 {
	f, _ := strconv.ParseFloat(strconv.FormatFloat(c, 'f', 6, 64), 64)
	return f
}
