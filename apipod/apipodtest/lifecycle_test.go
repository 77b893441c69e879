package apipodtest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"image/png"
	"strings"
	"testing"
	"time"

	"github.com/apipod/apipod-batch/apipod"
)

func TestLifecycleAndDownload(t *testing.T) {
	tests := []struct {
		name    string
		kind    apipod.Kind
		body    map[string]any
		prefix  string
		cost    string
		results int
		ext     string
	}{
		{"image", apipod.KindImage, imageBody("a mug"), "img_", "0.0400", 1, ".png"},
		{"wan n=3", apipod.KindImage, map[string]any{"model": "wan2.7-image", "prompt": "a mug", "n": 3}, "img_", "0.0400", 3, ".png"},
		{"video", apipod.KindVideo, map[string]any{"model": "veo3-1-fast", "prompt": "a clip"}, "vid_", "0.4000", 1, ".mp4"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newClock()
			s := newServer(t, Options{Now: clk.Now, Duration: Fixed(10 * time.Second)})
			start := clk.Now()
			a := create(t, s, tt.kind, tt.body, "")
			id := a.str("data", "task_id")
			if a.status != 200 || a.body["code"] != 200.0 || a.str("message") != "success" || !strings.HasPrefix(id, tt.prefix) {
				t.Fatalf("create: %d %s", a.status, a.raw)
			}
			if got := a.header.Get("X-Request-Cost"); got != tt.cost {
				t.Errorf("X-Request-Cost %q, want %q", got, tt.cost)
			}

			steps := []struct {
				after    time.Duration
				status   string
				progress float64
			}{
				{0, "pending", 0},
				{time.Second, "pending", 0},
				{4 * time.Second, "processing", 37}, // 3s of the 8s after queueing
				{3 * time.Second, "processing", 75},
				{2 * time.Second, "completed", 100},
			}
			var st answer
			for _, step := range steps {
				clk.Add(step.after)
				st = status(t, s, tt.kind, id)
				d := st.data()
				if st.status != 200 || d["task_id"] != id || d["status"] != step.status || d["progress"] != step.progress {
					t.Fatalf("after %v: %s, want %s at %v%%", clk.Now().Sub(start), st.raw, step.status, step.progress)
				}
			}
			d := st.data()
			if d["completed_at"] != float64(start.Add(10*time.Second).Unix()) {
				t.Errorf("completed_at %v", d["completed_at"])
			}
			result, _ := d["result"].([]any)
			if len(result) != tt.results {
				t.Fatalf("%d results, want %d: %s", len(result), tt.results, st.raw)
			}
			sums := map[string]bool{}
			for _, r := range result {
				url := r.(string)
				if !strings.HasPrefix(url, s.FilesURL+"/files/") || !strings.HasSuffix(url, tt.ext) || strings.HasPrefix(url, s.URL+"/") {
					t.Fatalf("result URL %q not on the files host %s", url, s.FilesURL)
				}
				f := must(t, "GET", url, "", nil, nil)
				sum := sha256.Sum256(f.raw)
				got := hex.EncodeToString(sum[:])
				want, ok := s.Served(url)
				if f.status != 200 || !ok || got != want || sums[got] {
					t.Fatalf("download %s: %d, sha %s, served %s %v, seen %v", url, f.status, got, want, ok, sums[got])
				}
				sums[got] = true
				checkFile(t, tt.kind, f)
			}
			if st := s.Stats(); st.Downloads != tt.results || st.TasksCreated != 1 || st.FileRequestsWithAuth != 0 {
				t.Fatalf("stats %+v", st)
			}
		})
	}
}

func checkFile(t *testing.T, kind apipod.Kind, f answer) {
	t.Helper()
	if f.header.Get("Content-Length") == "" {
		t.Error("no Content-Length")
	}
	switch kind {
	case apipod.KindImage:
		if ct := f.header.Get("Content-Type"); ct != "image/png" {
			t.Errorf("Content-Type %q", ct)
		}
		img, err := png.Decode(bytes.NewReader(f.raw))
		if err != nil || img.Bounds().Dx() != 64 {
			t.Errorf("not a 64×64 PNG: %v", err)
		}
	case apipod.KindVideo:
		if ct := f.header.Get("Content-Type"); ct != "video/mp4" {
			t.Errorf("Content-Type %q", ct)
		}
		if len(f.raw) < 4096 || string(f.raw[4:8]) != "ftyp" || string(f.raw[32:36]) != "mdat" {
			t.Errorf("not an MP4: %d bytes, % x", len(f.raw), f.raw[:min(len(f.raw), 40)])
		}
	}
}

func TestFailFirst(t *testing.T) {
	clk := newClock()
	s := newServer(t, Options{Now: clk.Now, Duration: Fixed(time.Second), Faults: Faults{FailFirst: 2}})
	tests := []struct {
		name   string
		kind   apipod.Kind
		body   map[string]any
		status string
		fields map[string]any
	}{
		{"first image fails", apipod.KindImage, imageBody("1"), "failed",
			map[string]any{"error_code": "UPSTREAM_CAPACITY_EXHAUSTED", "error_message": "Upstream request failed. Please retry later."}},
		{"second, a video, fails", apipod.KindVideo, map[string]any{"model": "veo3-1-fast", "prompt": "2"}, "failed",
			map[string]any{"error": "Upstream request failed. Please retry later."}},
		{"third completes", apipod.KindImage, imageBody("3"), "completed", nil},
	}
	ids := make([]string, len(tests))
	for i, tt := range tests {
		ids[i] = create(t, s, tt.kind, tt.body, "").str("data", "task_id")
	}
	clk.Add(time.Second)
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := status(t, s, tt.kind, ids[i]).data()
			if d["status"] != tt.status {
				t.Fatalf("status %v, want %s", d, tt.status)
			}
			for k, v := range tt.fields {
				if d[k] != v {
					t.Errorf("%s = %v, want %v", k, d[k], v)
				}
			}
			if tt.status == "failed" && (d["result"] != nil || d["progress"] != nil) {
				t.Errorf("failed task has result or progress: %v", d)
			}
		})
	}
	if n := s.Stats().FaultsInjected["fail_task"]; n != 2 {
		t.Fatalf("fail_task %d, want 2", n)
	}
}
