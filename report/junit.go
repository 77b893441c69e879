package report

import (
	"cmp"
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"time"
)

// junitSuites is the root of a JUnit XML report.
type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name      string      `xml:"name,attr"`
	Tests     int         `xml:"tests,attr"`
	Failures  int         `xml:"failures,attr"`
	Errors    int         `xml:"errors,attr"`
	Skipped   int         `xml:"skipped,attr"`
	Time      string      `xml:"time,attr"`
	Timestamp string      `xml:"timestamp,attr"`
	Cases     []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitProblem `xml:"failure,omitempty"`
	Error     *junitProblem `xml:"error,omitempty"`
	Skipped   *junitProblem `xml:"skipped,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitProblem struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr,omitempty"`
	Text    string `xml:",chardata"`
}

// WriteJUnit writes the run as JUnit XML: one testsuite named after the
// manifest, one testcase per job (classname: the model). A failed job is a
// <failure> with its error, a job left pending an <error>, a job that was
// already up to date <skipped>.
func WriteJUnit(w io.Writer, r *Run) error {
	suite := junitSuite{Name: "apipod-batch " + r.Manifest, Time: seconds(r.Elapsed()),
		Timestamp: r.GeneratedAt.Add(-r.Elapsed()).Format("2006-01-02T15:04:05"), Cases: []junitCase{}}
	for _, j := range r.Jobs {
		c := junitCase{Name: j.ID, Classname: j.Model, Time: seconds(time.Duration(j.DurationMS) * time.Millisecond)}
		switch j.State {
		case "failed":
			suite.Failures++
			c.Failure = &junitProblem{Message: firstLine(j.Error), Type: lastErrorCode(j), Text: problemDetail(j)}
		case "pending":
			suite.Errors++
			c.Error = &junitProblem{Message: firstLine(cmp.Or(j.Error, "not finished")), Type: "pending", Text: problemDetail(j)}
		case "skipped":
			suite.Skipped++
			c.Skipped = &junitProblem{Message: "up to date; nothing sent"}
		}
		if len(j.Outputs) > 0 {
			var paths []string
			for _, o := range j.Outputs {
				paths = append(paths, o.Path)
			}
			c.SystemOut = strings.Join(paths, "\n")
		}
		suite.Tests++
		suite.Cases = append(suite.Cases, c)
	}
	root := junitSuites{Name: "apipod-batch", Tests: suite.Tests, Failures: suite.Failures, Errors: suite.Errors,
		Skipped: suite.Skipped, Time: suite.Time, Suites: []junitSuite{suite}}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(root); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// problemDetail lists a job's attempts for the body of a failure.
func problemDetail(j JobRun) string {
	var b strings.Builder
	fmt.Fprintf(&b, "job %s (%s): %s\n", j.ID, j.Model, cmp.Or(j.Error, j.State))
	for _, a := range j.Attempts {
		fmt.Fprintf(&b, "attempt %d: task %s %s", a.N, cmp.Or(a.TaskID, "-"), a.Status)
		if a.ErrorCode != "" || a.ErrorMessage != "" {
			fmt.Fprintf(&b, " [%s] %s", a.ErrorCode, a.ErrorMessage)
		}
		if a.RequestID != "" {
			fmt.Fprintf(&b, " (request %s)", a.RequestID)
		}
		b.WriteByte('\n')
	}
	return b.String()
}

func lastErrorCode(j JobRun) string {
	for i := len(j.Attempts) - 1; i >= 0; i-- {
		if c := j.Attempts[i].ErrorCode; c != "" {
			return c
		}
	}
	return ""
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

func seconds(d time.Duration) string { return fmt.Sprintf("%.3f", d.Seconds()) }
