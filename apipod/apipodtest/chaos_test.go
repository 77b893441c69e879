package apipodtest

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/apipod/apipod-batch/apipod"
)

// TestChaos runs many jobs at once through every fault with a naive retrying
// client, and checks that none was paid for twice and every file arrived
// intact.
func TestChaos(t *testing.T) {
	const jobs = 300
	s := newServer(t, Options{Seed: 7, Faults: Faults{
		RateLimit: 0.1, RetryAfter: "0.001", ServerError: 0.1, LostCreate: 0.1,
		TruncateDownload: 0.2, FailTask: 0.1, SlowAnswer: 0.05, SlowDelay: 20 * time.Millisecond,
	}})
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	defer client.CloseIdleConnections()
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		failed int
	)
	for i := range jobs {
		wg.Go(func() {
			kind, body := apipod.KindImage, imageBody(fmt.Sprint("job ", i))
			if i%5 == 0 {
				kind, body = apipod.KindVideo, map[string]any{"model": "veo3-1-fast", "prompt": fmt.Sprint("job ", i)}
			}
			id := retry(t, client, "POST", s.URL+kind.CreatePath(), body, fmt.Sprint("key-", i)).str("data", "task_id")
			if id == "" {
				return
			}
			var d map[string]any
			for d["status"] != "completed" && d["status"] != "failed" {
				time.Sleep(5 * time.Millisecond)
				if d = retry(t, client, "GET", s.URL+kind.StatusPath(id), nil, "").data(); d == nil {
					return
				}
			}
			if d["status"] == "failed" {
				mu.Lock()
				failed++
				mu.Unlock()
				return
			}
			for _, u := range d["result"].([]any) {
				download(t, client, s, u.(string))
			}
		})
	}
	wg.Wait()
	st := s.Stats()
	if st.TasksCreated != jobs {
		t.Errorf("TasksCreated %d, want %d", st.TasksCreated, jobs)
	}
	for body, n := range s.TasksPerBody() {
		if n != 1 {
			t.Errorf("%d tasks for %s", n, body)
		}
	}
	if failed != st.FaultsInjected["fail_task"] || st.FileRequestsWithAuth != 0 {
		t.Errorf("%d failed jobs; stats %+v", failed, st)
	}
	for _, f := range []string{"rate_limit", "server_error", "lost_create_502", "lost_create_close", "truncate", "fail_task", "slow"} {
		if st.FaultsInjected[f] == 0 {
			t.Errorf("fault %s never injected: %v", f, st.FaultsInjected)
		}
	}
}

// retry sends until it gets a 200, as a client with an Idempotency-Key may.
// It runs on job goroutines, so it reports failures with Errorf and returns
// an empty answer.
func retry(t *testing.T, c *http.Client, method, url string, body any, idemKey string) answer {
	t.Helper()
	hdr := map[string]string{}
	if idemKey != "" {
		hdr["Idempotency-Key"] = idemKey
	}
	for range 200 {
		a, err := sendWith(t, c, method, url, key, body, hdr)
		if err == nil && a.status == 200 {
			return a
		}
		if err == nil && a.status < 429 && a.status != 409 {
			t.Errorf("%s %s: %d %s", method, url, a.status, a.raw)
			return answer{}
		}
		time.Sleep(time.Millisecond)
	}
	t.Errorf("%s %s: no success after 200 tries", method, url)
	return answer{}
}

func download(t *testing.T, c *http.Client, s *Server, url string) {
	t.Helper()
	want, ok := s.Served(url)
	if !ok {
		t.Errorf("Served does not know %s", url)
		return
	}
	for range 100 {
		resp, err := c.Get(url)
		if err != nil {
			continue
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		sum := sha256.Sum256(b)
		if err == nil && resp.StatusCode == 200 {
			if got := hex.EncodeToString(sum[:]); got != want {
				t.Errorf("%s: sha256 %s, want %s", url, got, want)
			}
			return
		}
	}
	t.Errorf("%s: no intact download", url)
}

func TestCloseCutsSlowAnswers(t *testing.T) {
	s := NewServer(Options{Faults: Faults{SlowAnswer: 1, SlowDelay: time.Hour}})
	done := make(chan error, 1)
	go func() {
		_, err := send(t, "GET", s.URL+apipod.KindImage.StatusPath("img_x"), key, nil, nil)
		done <- err
	}()
	for s.Stats().FaultsInjected["slow"] == 0 {
		time.Sleep(time.Millisecond)
	}
	closed := make(chan struct{})
	go func() { s.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("Close waits for a slow answer")
	}
	<-done
	s.Close() // a second Close is harmless
}
