package main

import (
	"bytes"
	"io"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/apipod/apipod-batch/apipod/apipodtest"
)

// redraw is the sequence the progress bars move up and clear with.
var redraw = regexp.MustCompile(`\x1b\[\d+A\x1b\[J`)

func slowServer(t *testing.T) *apipodtest.Server {
	srv := apipodtest.NewServer(apipodtest.Options{APIKey: fakeTestKey, Seed: 1,
		Duration: apipodtest.Fixed(300 * time.Millisecond)})
	t.Cleanup(srv.Close)
	return srv
}

// TestProgressOnTerminal runs apply in a pseudo-terminal: the bars redraw
// in place several times, stay within 80 columns, and are cleared at the end.
func TestProgressOnTerminal(t *testing.T) {
	srv := slowServer(t)
	cmd := child(t, srv, writeManifest(t, 6), "apply", "--yes", "jobs.yaml")
	cmd.Env = append(cmd.Env, "CI=", "TERM=xterm", "NO_COLOR=")
	tty, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 40, Cols: 80})
	if err != nil {
		t.Skipf("no pseudo-terminal here: %v", err)
	}
	defer tty.Close()
	out, _ := io.ReadAll(tty) // ends with EIO once the child has exited
	if err := cmd.Wait(); err != nil {
		t.Fatalf("apply: %v\n%q", err, out)
	}
	s := string(out)
	if n := len(redraw.FindAllString(s, -1)); n < 3 {
		t.Errorf("%d redraws, want the bars redrawn in place several times:\n%q", n, s)
	}
	for _, want := range []string{"▕", "in flight", "queued", "Total: 6 jobs, 6 done"} {
		if !strings.Contains(s, want) {
			t.Errorf("terminal output lacks %q:\n%q", want, s)
		}
	}
	if strings.Contains(s, "submitted") {
		t.Error("plain log lines on a terminal; want only the live bars")
	}
	// Nothing left behind: after the last frame of the bars comes a clear.
	last := strings.LastIndex(s, "▕")
	if last < 0 || !redraw.MatchString(s[last:]) {
		t.Errorf("the bars were not cleared at the end:\n%q", s[max(0, last-200):])
	}
	for _, line := range strings.Split(stripANSI(redraw.ReplaceAllString(s[:last], "\n")), "\n") {
		if !strings.Contains(line, "in flight") && !strings.Contains(line, "▕") && !strings.HasPrefix(line, "  …") {
			continue // not the bars
		}
		if w := len([]rune(strings.TrimRight(line, "\r"))); w > 80 {
			t.Errorf("a %d-column line: %q", w, line)
		}
	}
}

// TestProgressPlainLines: without a terminal, or with CI set, apply writes
// one timestamped line per state change and no escape sequences.
func TestProgressPlainLines(t *testing.T) {
	srv := slowServer(t)
	t.Run("pipe", func(t *testing.T) {
		cmd := child(t, srv, writeManifest(t, 3), "apply", "jobs.yaml")
		cmd.Env = append(cmd.Env, "CI=")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("apply: %v\n%s", err, stderr.Bytes())
		}
		checkPlain(t, stderr.String())
	})
	t.Run("CI on a terminal", func(t *testing.T) {
		cmd := child(t, srv, writeManifest(t, 3), "apply", "--yes", "jobs.yaml")
		cmd.Env = append(cmd.Env, "CI=true", "TERM=xterm")
		tty, err := pty.Start(cmd)
		if err != nil {
			t.Skipf("no pseudo-terminal here: %v", err)
		}
		defer tty.Close()
		out, _ := io.ReadAll(tty)
		if err := cmd.Wait(); err != nil {
			t.Fatalf("apply: %v\n%q", err, out)
		}
		checkPlain(t, string(out))
	})
}

func checkPlain(t *testing.T, s string) {
	t.Helper()
	if redraw.MatchString(s) || strings.Contains(s, "▕") {
		t.Errorf("live progress without a terminal:\n%q", s)
	}
	s = stripANSI(s) // colour is fine on a terminal with CI set
	for _, re := range []string{`(?m)^\d\d:\d\d:\d\d → j000 +submitted`,
		`(?m)^\d\d:\d\d:\d\d ✓ j002 +done +1 output`} {
		if !regexp.MustCompile(re).MatchString(s) {
			t.Errorf("no line matching %s in:\n%s", re, s)
		}
	}
}
