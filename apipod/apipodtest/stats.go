package apipodtest

import "maps"

// Stats counts what a Server has seen.
type Stats struct {
	// Requests counts API requests, whatever their outcome.
	Requests int
	// Creates counts create requests that got past authentication and the
	// request-level faults.
	Creates int
	// TasksCreated counts tasks made; each is one spend.
	TasksCreated int
	// Replays counts creates answered from an idempotency record.
	Replays int
	// StatusRequests counts status requests that got past authentication
	// and the request-level faults.
	StatusRequests int
	// Downloads counts result files served (truncated ones too).
	Downloads int
	// FaultsInjected counts injected faults by kind: "rate_limit",
	// "server_error", "lost_create_502", "lost_create_close", "truncate",
	// "fail_task", "slow", "out_of_balance", "forget_task" and "scripted".
	FaultsInjected map[string]int
	// FileRequestsWithAuth counts file requests that carried an
	// Authorization header; a correct client keeps it at 0.
	FileRequestsWithAuth int
	// Unauthorized counts API requests rejected with 401.
	Unauthorized int
}

// Stats returns a snapshot of the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.FaultsInjected = maps.Clone(s.stats.FaultsInjected)
	return st
}

// TasksPerBody reports how many tasks were created per canonical request
// body (the JSON re-marshalled with sorted keys), so tests can prove that no
// request was paid for twice.
func (s *Server) TasksPerBody() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.perBody)
}

func (s *Server) count(f func(*Stats)) {
	s.mu.Lock()
	f(&s.stats)
	s.mu.Unlock()
}

func (s *Server) fault(kind string) {
	s.mu.Lock()
	s.stats.FaultsInjected[kind]++
	s.mu.Unlock()
}
