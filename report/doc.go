// Package report renders the outcome of a run: the summary table printed
// after apply and its JSON form, and the reports of `apply --report`: the
// versioned JSON record of every job (Run), JUnit XML, Markdown and a
// self-contained HTML contact sheet.
package report
