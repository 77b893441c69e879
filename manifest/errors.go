package manifest

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Pos is a place in a manifest file. Line and Col are 1-based; 0 means unknown.
type Pos struct {
	File      string
	Line, Col int
}

// String returns "file:line:col", leaving out the parts that are unknown.
func (p Pos) String() string {
	switch {
	case p.Line == 0:
		return p.File
	case p.Col == 0:
		return fmt.Sprintf("%s:%d", p.File, p.Line)
	}
	return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col)
}

// Error is one problem at a place in a manifest. Job is the id of the job it
// concerns, as written in the manifest, or "" outside a job.
type Error struct {
	Pos Pos
	Job string
	Msg string
}

// Error returns `file:line:col: job "ID": message`.
func (e *Error) Error() string {
	if e.Job == "" {
		return e.Pos.String() + ": " + e.Msg
	}
	return fmt.Sprintf("%s: job %q: %s", e.Pos, e.Job, e.Msg)
}

// Errors is every problem found in a manifest, sorted by position.
type Errors []*Error

// Error returns the problems one per line.
func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// sortErrors orders errors by file, line, column, job and message.
func sortErrors(es Errors) {
	slices.SortStableFunc(es, func(a, b *Error) int {
		return cmp.Or(
			cmp.Compare(a.Pos.File, b.Pos.File),
			cmp.Compare(a.Pos.Line, b.Pos.Line),
			cmp.Compare(a.Pos.Col, b.Pos.Col),
			cmp.Compare(a.Job, b.Job),
			cmp.Compare(a.Msg, b.Msg),
		)
	})
}

// collector gathers problems, dropping exact repeats (a template shared by the
// expansions of a matrix job would otherwise report one problem many times).
type collector struct {
	errs Errors
	seen map[Error]bool
}

func (c *collector) add(pos Pos, job, format string, args ...any) {
	e := Error{Pos: pos, Job: job, Msg: fmt.Sprintf(format, args...)}
	if c.seen[e] {
		return
	}
	if c.seen == nil {
		c.seen = make(map[Error]bool)
	}
	c.seen[e] = true
	c.errs = append(c.errs, &e)
}

// err returns the sorted problems, or nil when there are none.
func (c *collector) err() error {
	if len(c.errs) == 0 {
		return nil
	}
	sortErrors(c.errs)
	return c.errs
}
