// Package report renders the outcome of a run: the summary table printed
// after apply, and its machine-readable JSON form.
package report
