package runner_test

import (
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/apipod/apipod-batch/apipod"
	"github.com/apipod/apipod-batch/apipod/apipodtest"
	"github.com/apipod/apipod-batch/runner"
)

// slowTransport holds every request for delay before sending it.
type slowTransport struct {
	delay time.Duration
	next  http.RoundTripper
}

func (s slowTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	time.Sleep(s.delay)
	return s.next.RoundTrip(r)
}

// recordingPoller reads every 60 ms and records, at each wait that follows
// a progress reading, how long ago that reading is dated.
type recordingPoller struct {
	mu  sync.Mutex
	ago []time.Duration
}

func (p *recordingPoller) Wait(s runner.PollState) time.Duration {
	if n := len(s.Progress); n > 0 {
		p.mu.Lock()
		p.ago = append(p.ago, s.Elapsed-s.Progress[n-1].At)
		p.mu.Unlock()
	}
	return 60 * time.Millisecond
}

// TestReadingsDatedWhenSent: a progress reading is dated when its request
// left, not when the answer came back, so that a read aimed at the end it
// predicts reaches the server at that end. With 40 ms between sending and
// the answer, a reading is at least that old when the poller next waits.
func TestReadingsDatedWhenSent(t *testing.T) {
	const delay = 40 * time.Millisecond
	e := newEnv(t, imagesAndVideos("  poll: {initial: 60ms, max: 100ms}\n", 1, 0),
		apipodtest.Options{Duration: apipodtest.Fixed(600 * time.Millisecond)})
	e.tune = func(c *apipod.Client) {
		c.HTTP.Transport = slowTransport{delay: delay, next: http.DefaultTransport}
	}
	p := &recordingPoller{}
	if _, _, err := e.applyOpts(runner.PlanOptions{}, runner.Config{Poller: p}); err != nil {
		t.Fatal(err)
	}
	if len(p.ago) == 0 {
		t.Fatal("no progress reading was seen")
	}
	for _, ago := range p.ago {
		if ago < delay {
			t.Fatalf("reading dated %s before the next wait, want at least the %s the answer took: %v", ago, delay, p.ago)
		}
	}
}
