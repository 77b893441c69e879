package apipodtest

import "github.com/apipod/apipod-batch/apipod"

// maxIdempotencyKey is the longest Idempotency-Key APIPod accepts.
const maxIdempotencyKey = 255

// idemRecord is what an Idempotency-Key has bought: the canonical body of its
// first request and, once that request is done, the answer to replay.
type idemRecord struct {
	canon string
	done  bool
	body  []byte // the stored answer, set when done
	cost  string
}

// idemOutcome is how a create with an Idempotency-Key must proceed.
type idemOutcome int

const (
	idemNew        idemOutcome = iota // first use: go on and create
	idemReplay                        // answer with the stored record
	idemConflict                      // the key was used with another body
	idemInProgress                    // the first request is still running
)

// idemScope is the key of a record: APIPod scopes keys to the API key (the
// fake has one), the method and the route.
func idemScope(kind apipod.Kind, key string) string {
	return kind.CreatePath() + "\x00" + key
}

// idemBegin looks key up for a request with canonical body canon, and
// records it as in progress if it is new.
func (s *Server) idemBegin(scope, canon string) (idemOutcome, *idemRecord) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, ok := s.idem[scope]
	switch {
	case !ok:
		s.idem[scope] = &idemRecord{canon: canon}
		return idemNew, nil
	case rec.canon != canon:
		return idemConflict, nil
	case !rec.done:
		return idemInProgress, nil
	}
	s.stats.Replays++
	return idemReplay, rec
}

// idemFinish stores the answer of a successful create under its key.
func (s *Server) idemFinish(scope string, body []byte, cost string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec := s.idem[scope]
	rec.body, rec.cost, rec.done = body, cost, true
}

// idemAbandon forgets a key whose first request was rejected, so it can be
// used again.
func (s *Server) idemAbandon(scope string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.idem, scope)
}
