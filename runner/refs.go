package runner

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/apipod/apipod-batch/lockfile"
)

// UpstreamExpiredError is a job that needs the results of a done upstream
// job whose URLs have expired: only regenerating the upstream job helps.
type UpstreamExpiredError struct {
	Job, Upstream string
}

func (e *UpstreamExpiredError) Error() string {
	return fmt.Sprintf("the result URLs of upstream job %q have expired", e.Upstream)
}

// Hint says how to get fresh URLs.
func (e *UpstreamExpiredError) Hint() string {
	return fmt.Sprintf("regenerate it: apipod-batch apply --replace %s", e.Upstream)
}

// requestBody is the create request of a job with every job reference
// replaced by the recorded results of the upstream job.
func (r *run) requestBody(st *Step) ([]byte, error) {
	if len(st.Job.Needs) == 0 {
		return st.spec.body, nil
	}
	now := r.cfg.Now()
	var expired string
	results := map[string][]string{}
	r.cfg.Store.View(func(f *lockfile.File) {
		for _, id := range st.Job.Needs {
			up := f.Jobs[id]
			if up == nil || len(up.Results) == 0 {
				continue
			}
			if !up.ExpiresAt.IsZero() && !now.Before(up.ExpiresAt) && expired == "" {
				expired = id
			}
			results[id] = append([]string(nil), up.Results...)
		}
	})
	if expired != "" {
		return nil, &UpstreamExpiredError{Job: st.Job.ID, Upstream: expired}
	}
	prompt, params, err := st.Job.Resolve(func(id string) []string { return results[id] })
	if err != nil {
		return nil, fmt.Errorf("resolve job references: %w", err)
	}
	req := make(map[string]any, len(params)+2)
	for k, v := range params {
		req[k] = v
	}
	req["model"] = st.Job.Model
	req["prompt"] = prompt
	return json.Marshal(req)
}

// recordedRequest is the create body the lockfile records for a job with
// job references, as it was sent (compact), or nil when there is nothing
// to resend: no references (the body follows from the spec hash), no
// record, or one an older version wrote with its references unresolved.
func (r *run) recordedRequest(st *Step) []byte {
	if len(st.Job.Needs) == 0 {
		return nil
	}
	var rec []byte
	r.cfg.Store.View(func(f *lockfile.File) { rec = append(rec, f.Jobs[st.Job.ID].Request...) })
	var buf bytes.Buffer
	if len(rec) == 0 || json.Compact(&buf, rec) != nil || bytes.Equal(buf.Bytes(), st.spec.body) {
		return nil
	}
	return buf.Bytes()
}

// skipDownstream records that a job will not run because an upstream job
// ended without results: blocked after a failure, pending when the upstream
// job was itself held back or interrupted.
func (r *run) skipDownstream(d, up *node) {
	if up.jr.State == StateFailed || up.jr.State == StateBlocked {
		d.jr.State = StateBlocked
		d.jr.Err = fmt.Errorf("skipped: upstream job %q failed", up.jr.ID)
	} else {
		d.jr.State = StatePending
		d.jr.Err = fmt.Errorf("not started: upstream job %q did not finish", up.jr.ID)
	}
	r.emit(Event{Kind: EventBlocked, Job: d.jr.ID, Model: d.jr.Model, Err: d.jr.Err})
}
