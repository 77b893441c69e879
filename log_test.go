package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apipod/apipod-batch/internal/clock"
	"github.com/apipod/apipod-batch/runner"
)

// syncBuffer is a bytes.Buffer safe for the heartbeat goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestLineLogHeartbeat(t *testing.T) {
	var out syncBuffer
	clk := clock.NewManual(time.Date(2026, 1, 2, 10, 0, 0, 0, time.UTC))
	ticks := make(chan time.Time)
	var asked time.Duration
	l := newLineLog(&out, clk.Now)
	l.tick = func(d time.Duration) (<-chan time.Time, func()) { asked = d; return ticks, func() {} }
	l.begin(4)
	if asked != 30*time.Second {
		t.Errorf("heartbeat every %s, want 30s", asked)
	}
	at := clk.Now()
	for i, job := range []string{"a", "b", "c"} {
		l.Event(runner.Event{Time: at, Kind: runner.EventSubmitted, Job: job, TaskID: "t" + job, Attempt: 1})
		if i == 0 {
			l.Event(runner.Event{Time: at, Kind: runner.EventDownloaded, Job: job, Outputs: 1})
		}
	}
	l.Event(runner.Event{Time: at, Kind: runner.EventRetrying, Job: "b", Err: errors.New("boom")})
	l.retry("status", errors.New("503"), 2*time.Minute)
	clk.Add(90 * time.Second)
	ticks <- clk.Now()
	ticks <- clk.Now() // the second send waits until the first heartbeat is written
	l.end()
	want := "10:01:30 … 1/4 done, 2 in flight, 1 queued, 0 failed, 1 retries, 1 backing off, elapsed 1:30, ETA 4:30"
	if !strings.Contains(out.String(), want) {
		t.Errorf("no heartbeat %q in:\n%s", want, out.String())
	}
	if !strings.Contains(out.String(), "10:00:00 ↻                          status again in 2m0s: 503") {
		t.Errorf("no retry line in:\n%s", out.String())
	}
}

func TestLineLogVerbosity(t *testing.T) {
	events := []runner.Event{
		{Kind: runner.EventSkipped, Job: "old"},
		{Kind: runner.EventSubmitted, Job: "a", TaskID: "t1", Attempt: 1},
		{Kind: runner.EventStatus, Job: "a", TaskID: "t1", Status: "processing", Progress: 10},
		{Kind: runner.EventStatus, Job: "a", TaskID: "t1", Status: "processing", Progress: 50},
		{Kind: runner.EventFailed, Job: "a", TaskID: "t1", Err: errors.New("content_policy")},
	}
	clk := clock.NewManual(time.Date(2026, 1, 2, 10, 0, 0, 0, time.UTC))
	for _, tt := range []struct {
		level verbosity
		lines int
	}{{quiet, 1}, {normal, 3}, {verbose, 5}} {
		var out bytes.Buffer
		l := newLineLog(&out, clk.Now)
		l.level = tt.level
		for _, e := range events {
			l.Event(e)
		}
		if n := strings.Count(out.String(), "\n"); n != tt.lines {
			t.Errorf("verbosity %d: %d lines, want %d:\n%s", tt.level, n, tt.lines, out.String())
		}
	}
}

func TestLineLogJSON(t *testing.T) {
	var out bytes.Buffer
	clk := clock.NewManual(time.Date(2026, 1, 2, 10, 0, 0, 0, time.UTC))
	l := newLineLog(&out, clk.Now).withJSON()
	l.Event(runner.Event{Kind: runner.EventSubmitted, Job: "a", Model: "nano-banana-2", TaskID: "t1", Attempt: 1})
	l.Event(runner.Event{Kind: runner.EventFailed, Job: "a", Model: "nano-banana-2", Err: errors.New("no")})
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d records, want 2:\n%s", len(lines), out.String())
	}
	var rec map[string]any
	if err := json.Unmarshal([]byte(lines[1]), &rec); err != nil {
		t.Fatal(err)
	}
	if rec["time"] != "2026-01-02T10:00:00Z" || rec["level"] != "ERROR" || rec["msg"] != "failed" || rec["job"] != "a" || rec["error"] != "no" {
		t.Errorf("record %v", rec)
	}
}

func TestNoColor(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	if newStyle(&bytes.Buffer{}, env(nil)).color {
		t.Error("colour on a buffer")
	}
	if s := (style{}).fail("x"); s != "x" {
		t.Errorf("style without colour painted %q", s)
	}
	if s := (style{color: true}).ok("x"); s != "\x1b[32mx\x1b[0m" {
		t.Errorf("ok = %q", s)
	}
}
