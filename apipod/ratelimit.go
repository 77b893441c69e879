package apipod

import (
	"context"
	"sync"

	"golang.org/x/time/rate"
)

// RateLimiter spaces API requests to a rate the account allows, and adapts
// it AIMD-style: a 429 halves the rate (once for all the requests already in
// flight), and each second of successes adds back a twentieth of the
// configured rate. A rate-limited account so converges on what it may do
// instead of thrashing.
type RateLimiter struct {
	lim *rate.Limiter
	max rate.Limit

	mu       sync.Mutex
	inflight int // requests sent and not yet answered
	cut      int // answers still due from before the last cut
}

// NewRateLimiter allows perSecond requests per second, in bursts of at most
// a twentieth of a second's worth.
func NewRateLimiter(perSecond float64) *RateLimiter {
	r := rate.Limit(perSecond)
	return &RateLimiter{lim: rate.NewLimiter(r, 1+int(perSecond/20)), max: r}
}

// Wait blocks until a request may be sent; every successful Wait must be
// followed by throttled or succeeded (or done) once the answer is in.
func (l *RateLimiter) Wait(ctx context.Context) error {
	if err := l.lim.Wait(ctx); err != nil {
		return err
	}
	l.mu.Lock()
	l.inflight++
	l.mu.Unlock()
	return nil
}

// Limit is the current allowed rate in requests per second.
func (l *RateLimiter) Limit() float64 { return float64(l.lim.Limit()) }

// answered accounts for one answer; l.mu is held. It reports whether the
// request was sent before the last cut.
func (l *RateLimiter) answered() bool {
	l.inflight = max(0, l.inflight-1)
	if l.cut > 0 {
		l.cut--
		return true
	}
	return false
}

// throttled halves the rate after a 429. Requests sent before the cut may
// still come back 429; they do not cut again.
func (l *RateLimiter) throttled() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.answered() {
		return
	}
	l.lim.SetLimit(max(l.lim.Limit()/2, l.max/64))
	l.cut = l.inflight
}

// done accounts for a request that ended without telling anything about
// the rate (a transport error, another status).
func (l *RateLimiter) done() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.answered()
}

// succeeded raises the rate back towards the configured one: a second of
// successes adds a twentieth of it.
func (l *RateLimiter) succeeded() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.answered()
	if cur := l.lim.Limit(); cur < l.max {
		l.lim.SetLimit(min(l.max, cur+l.max/20/cur))
	}
}
