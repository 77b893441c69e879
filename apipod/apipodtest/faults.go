package apipodtest

import "time"

// Faults are the failures a Server injects. Probabilities are between 0 and
// 1; each is rolled with the server's seeded random source.
type Faults struct {
	// RateLimit is the probability that an API request gets 429
	// rate_limit_exceeded with Retry-After.
	RateLimit float64
	// RetryAfter is the Retry-After value of 429s and of 409
	// idempotency_in_progress answers; default "1". Tests use fractional
	// seconds such as "0.02".
	RetryAfter string
	// ServerError is the probability that an API request gets a 500, 502,
	// 503 or 504 before anything else is done.
	ServerError float64
	// LostCreate is the probability that a create makes the task and stores
	// its idempotent answer, but the answer is lost: half the time as a 502,
	// half as a closed connection.
	LostCreate float64
	// TruncateDownload is the probability that a file download sends the
	// full Content-Length but only part of the body, then closes.
	TruncateDownload float64
	// FailTask is the probability that a new task ends failed instead of
	// completed.
	FailTask float64
	// FailFirst makes the first N tasks created end failed.
	FailFirst int
	// SlowAnswer is the probability that an API answer is delayed by
	// SlowDelay. A slow create makes its task at once but keeps its
	// Idempotency-Key in progress until the delay is over.
	SlowAnswer float64
	// SlowDelay is the delay of a slow answer.
	SlowDelay time.Duration
	// OutOfBalance makes every create that would make a new task answer
	// 402 insufficient_quota, as an account without balance gets; replays
	// of stored answers still succeed and status reads are unaffected.
	OutOfBalance bool
	// ForgetTask is the probability that a new task is forgotten by the
	// API: its status reads answer 404 task_not_found, as for a task of
	// another account or one purged upstream.
	ForgetTask float64
}

// SetFaults replaces the fault settings; it is safe for concurrent use.
func (s *Server) SetFaults(f Faults) {
	s.fmu.Lock()
	s.faults = f
	s.fmu.Unlock()
}

// faultSettings returns the current fault settings, with defaults filled in.
func (s *Server) faultSettings() Faults {
	s.fmu.Lock()
	f := s.faults
	s.fmu.Unlock()
	if f.RetryAfter == "" {
		f.RetryAfter = "1"
	}
	return f
}

// roll reports whether an event of probability p happens. It draws from the
// random source only when the outcome is in doubt, so settings of 0 and 1
// leave the sequence of the other faults unchanged.
func (s *Server) roll(p float64) bool {
	if p <= 0 {
		return false
	}
	if p >= 1 {
		return true
	}
	s.fmu.Lock()
	defer s.fmu.Unlock()
	return s.rng.Float64() < p
}

// pick returns one of choices at random.
func (s *Server) pick(choices []int) int {
	s.fmu.Lock()
	defer s.fmu.Unlock()
	return choices[s.rng.Intn(len(choices))]
}

// jitter scales d by a random factor in [0.75, 1.25).
func (s *Server) jitter(d time.Duration) time.Duration {
	s.fmu.Lock()
	defer s.fmu.Unlock()
	return time.Duration(float64(d) * (0.75 + s.rng.Float64()/2))
}
