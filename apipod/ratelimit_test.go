package apipod

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/time/rate"
)

func TestRateLimiterAIMD(t *testing.T) {
	l := NewRateLimiter(100)
	l.inflight = 11
	l.throttled()
	if got := l.Limit(); got != 50 {
		t.Fatalf("after a 429: %v, want 50", got)
	}
	// The 429s of requests already in flight do not cut again.
	for range 10 {
		l.throttled()
	}
	if got := l.Limit(); got != 50 {
		t.Fatalf("after in-flight 429s: %v, want 50", got)
	}
	for range 2000 {
		l.succeeded()
	}
	if got := l.Limit(); got != 100 {
		t.Fatalf("after successes: %v, want back to 100", got)
	}
	for range 40 {
		l.throttled()
	}
	if got := l.Limit(); got < 100.0/64 {
		t.Fatalf("rate fell to %v, below its floor", got)
	}
}

// TestRateLimitedAccountConverges sends bursts at an account that allows
// 300 requests per second from a client configured for ten times that: the
// client backs off and most requests get through instead of thrashing.
func TestRateLimitedAccountConverges(t *testing.T) {
	account := rate.NewLimiter(300, 10)
	var ok, limited atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !account.Allow() {
			limited.Add(1)
			w.Header().Set("Retry-After", "0.01")
			w.WriteHeader(http.StatusTooManyRequests)
			w.Write([]byte(`{"code":429,"message":"Rate limit exceeded","data":{"error_code":"rate_limit_exceeded"}}`))
			return
		}
		ok.Add(1)
		w.Write([]byte(`{"code":200,"message":"success","data":{"task_id":"t","status":"pending"}}`))
	}))
	defer srv.Close()
	c := NewClient(srv.URL, "k")
	c.Limiter = NewRateLimiter(3000)
	c.Retry = RetryPolicy{Attempts: 20, Initial: time.Millisecond, Max: 20 * time.Millisecond}
	var wg sync.WaitGroup
	var failures atomic.Int64
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 40 {
				if _, err := c.Status(context.Background(), KindImage, "t"); err != nil {
					var apiErr *APIError
					if !errors.As(err, &apiErr) {
						t.Error(err)
					}
					failures.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if failures.Load() != 0 {
		t.Fatalf("%d requests failed for good", failures.Load())
	}
	total := ok.Load() + limited.Load()
	if frac := float64(limited.Load()) / float64(total); frac > 0.5 {
		t.Fatalf("%d of %d requests were rate limited: the client thrashes", limited.Load(), total)
	}
	if c.Limiter.Limit() >= 3000 {
		t.Fatalf("limit stayed at %v", c.Limiter.Limit())
	}
	t.Logf("%d ok, %d limited, rate now %.0f/s", ok.Load(), limited.Load(), c.Limiter.Limit())
}
