package apipodtest

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/apipod/apipod-batch/apipod"
	"github.com/apipod/apipod-batch/internal/clock"
)

// completed creates an image task and returns its first result URL.
func completed(t *testing.T, s *Server, clk *clock.Manual) string {
	t.Helper()
	id := create(t, s, apipod.KindImage, imageBody("p"), "").str("data", "task_id")
	clk.Add(time.Second)
	result, _ := status(t, s, apipod.KindImage, id).data()["result"].([]any)
	if len(result) == 0 {
		t.Fatal("task did not complete")
	}
	return result[0].(string)
}

func TestTruncatedDownload(t *testing.T) {
	clk := newClock()
	s := newServer(t, Options{Now: clk.Now, Duration: Fixed(time.Second), Faults: Faults{TruncateDownload: 1}})
	url := completed(t, s, clk)
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	if !errors.Is(err, io.ErrUnexpectedEOF) || int64(len(got)) >= resp.ContentLength || len(got) == 0 {
		t.Fatalf("read %d of %d bytes, err %v", len(got), resp.ContentLength, err)
	}
	if n := s.Stats().FaultsInjected["truncate"]; n != 1 {
		t.Fatalf("truncate faults %d", n)
	}
	s.SetFaults(Faults{})
	if f := must(t, "GET", url, "", nil, nil); int64(len(f.raw)) != resp.ContentLength {
		t.Fatalf("full download %d bytes, want %d", len(f.raw), resp.ContentLength)
	}
}

func TestFileAvailability(t *testing.T) {
	clk := newClock()
	s := newServer(t, Options{Now: clk.Now, Duration: Fixed(time.Second), ResultTTL: time.Hour})
	url := completed(t, s, clk)
	pending := create(t, s, apipod.KindImage, imageBody("q"), "").str("data", "task_id")
	tests := []struct {
		name   string
		after  time.Duration
		url    string
		status int
	}{
		{"fresh", 0, url, 200},
		{"not yet completed", 0, s.FilesURL + "/files/" + pending + "/0.png", 404},
		{"other index", 0, strings.Replace(url, "/0.png", "/1.png", 1), 404},
		{"unknown task", 0, s.FilesURL + "/files/img_nope/0.png", 404},
		{"just before expiry", time.Hour - time.Nanosecond, url, 200},
		{"expired", time.Nanosecond, url, 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk.Add(tt.after)
			if f := must(t, "GET", tt.url, "", nil, nil); f.status != tt.status {
				t.Fatalf("got %d, want %d", f.status, tt.status)
			}
		})
	}
	if _, ok := s.Served(url); !ok {
		t.Error("Served forgets expired files")
	}
}

func TestFileRequestsWithAuth(t *testing.T) {
	clk := newClock()
	s := newServer(t, Options{Now: clk.Now, Duration: Fixed(time.Second)})
	url := completed(t, s, clk)
	must(t, "GET", url, "", nil, nil)
	if n := s.Stats().FileRequestsWithAuth; n != 0 {
		t.Fatalf("FileRequestsWithAuth %d", n)
	}
	must(t, "GET", url, key, nil, nil)
	if n := s.Stats().FileRequestsWithAuth; n != 1 {
		t.Fatalf("FileRequestsWithAuth %d, want 1", n)
	}
	// The files host is not the API host.
	if a := must(t, "GET", s.FilesURL+apipod.KindImage.StatusPath("img_x"), key, nil, nil); a.status != 404 {
		t.Fatalf("API route on the files host: %d", a.status)
	}
}

func TestServed(t *testing.T) {
	clk := newClock()
	s := newServer(t, Options{Now: clk.Now, Duration: Fixed(time.Second)})
	url := completed(t, s, clk)
	tests := []struct {
		name string
		url  string
		ok   bool
	}{
		{"result", url, true},
		{"other host", strings.Replace(url, s.FilesURL, "http://example.com", 1), false},
		{"API host", strings.Replace(url, s.FilesURL, s.URL, 1), false},
		{"unknown file", strings.Replace(url, "/0.png", "/0.jpg", 1), false},
		{"not a URL", "files/x", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sum, ok := s.Served(tt.url)
			if ok != tt.ok || ok && len(sum) != 64 {
				t.Fatalf("Served = %q, %v; want ok %v", sum, ok, tt.ok)
			}
		})
	}
}

func TestSingleHost(t *testing.T) {
	clk := newClock()
	opts := Options{Now: clk.Now, Duration: Fixed(time.Second)}
	listening := NewServer(Options{Now: clk.Now, Duration: Fixed(time.Second), SingleHost: true})
	t.Cleanup(listening.Close)
	bare := New(opts)
	t.Cleanup(bare.Close)
	mounted := httptest.NewServer(bare.Handler())
	t.Cleanup(mounted.Close)
	bare.URL = mounted.URL // what a caller of Handler would know; FilesURL stays empty

	tests := []struct {
		name string
		s    *Server
	}{
		{"NewServer SingleHost", listening},
		{"New + Handler", bare},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			url := completed(t, tt.s, clk)
			if !strings.HasPrefix(url, tt.s.URL+"/files/") {
				t.Fatalf("result %s not on %s", url, tt.s.URL)
			}
			f := must(t, "GET", url, "", nil, nil)
			if f.status != 200 {
				t.Fatalf("download: %d", f.status)
			}
			checkFile(t, apipod.KindImage, f)
			if _, ok := tt.s.Served(url); !ok {
				t.Fatal("Served does not know the result")
			}
		})
	}
}
