package apipodtest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/apipod/apipod-batch/apipod"
)

// maxBody bounds a create request body.
const maxBody = 1 << 20

// The message and code of a task that fails, as the reference shows them.
const (
	failCode    = "UPSTREAM_CAPACITY_EXHAUSTED"
	failMessage = "Upstream request failed. Please retry later."
)

// task is one generation. It never changes after it is stored: its state is
// computed from the clock.
type task struct {
	id      string
	model   string
	kind    apipod.Kind
	created time.Time
	dur     time.Duration
	failed  bool
	lost    bool    // forgotten by the API: status reads answer 404
	files   []*file // the results; nil when the task fails
}

// end is when the task reaches its terminal state.
func (t *task) end() time.Time { return t.created.Add(t.dur) }

// state returns the status of the task at now and its progress, or -1 when
// the status has none. A task is pending for the first fifth of its
// duration, then processing with rising progress.
func (t *task) state(now time.Time) (string, int) {
	elapsed := now.Sub(t.created)
	queued := t.dur / 5
	switch {
	case elapsed >= t.dur && t.failed:
		return "failed", -1
	case elapsed >= t.dur:
		return "completed", 100
	case elapsed < queued:
		return "pending", 0
	}
	return "processing", int(100 * (elapsed - queued) / (t.dur - queued))
}

// statusData is the data of a status answer, per query-*-task.yaml.
type statusData struct {
	TaskID       string   `json:"task_id"`
	Status       string   `json:"status"`
	Progress     *int     `json:"progress,omitempty"`
	Result       []string `json:"result,omitempty"`
	CompletedAt  int64    `json:"completed_at,omitempty"`
	ErrorCode    string   `json:"error_code,omitempty"`    // images
	ErrorMessage string   `json:"error_message,omitempty"` // images
	Error        string   `json:"error,omitempty"`         // videos
}

// report is the status answer of t at now, with result URLs under base.
func (t *task) report(now time.Time, base string) statusData {
	status, progress := t.state(now)
	d := statusData{TaskID: t.id, Status: status}
	if progress >= 0 {
		d.Progress = &progress
	}
	switch status {
	case "completed":
		d.CompletedAt = t.end().Unix()
		for _, f := range t.files {
			d.Result = append(d.Result, base+f.path)
		}
	case "failed":
		d.CompletedAt = t.end().Unix()
		if t.kind == apipod.KindImage {
			d.ErrorCode, d.ErrorMessage = failCode, failMessage
		} else {
			d.Error = failMessage
		}
	}
	return d
}

// apiError is a rejected request.
type apiError struct {
	status  int
	code    string
	message string
}

func invalid(format string, args ...any) *apiError {
	return &apiError{http.StatusBadRequest, "invalid_request", fmt.Sprintf(format, args...)}
}

// create handles POST /v1/{images,videos}/generations.
func (s *Server) create(kind apipod.Kind) func(*call) {
	return func(c *call) {
		s.count(func(st *Stats) { st.Creates++ })
		key := c.r.Header.Get("Idempotency-Key")
		if len(key) > maxIdempotencyKey {
			c.fail(http.StatusBadRequest, "invalid_idempotency_key",
				fmt.Sprintf("Idempotency-Key is %d characters; at most %d are allowed", len(key), maxIdempotencyKey))
			return
		}
		body, canon, err := readBody(c)
		if err != nil {
			c.fail(err.status, err.code, err.message)
			return
		}
		var scope string
		if key != "" {
			scope = idemScope(kind, key)
			out, rec := s.idemBegin(scope, canon)
			switch out {
			case idemConflict:
				c.fail(http.StatusConflict, "idempotency_conflict", "Idempotency-Key was already used with a different request body")
				return
			case idemInProgress:
				c.w.Header().Set("Retry-After", c.retry)
				c.fail(http.StatusConflict, "idempotency_in_progress", "a request with this Idempotency-Key is still being processed")
				return
			case idemReplay:
				c.w.Header().Set("X-Idempotent-Replay", "true")
				if rec.cost != "" {
					c.w.Header().Set("X-Request-Cost", rec.cost)
				}
				c.write(http.StatusOK, rec.body)
				return
			}
		}
		m, err := admit(kind, body)
		if err == nil && s.faultSettings().OutOfBalance {
			s.fault("out_of_balance")
			err = &apiError{http.StatusPaymentRequired, "insufficient_quota", "Insufficient quota: add balance to continue"}
		}
		if err != nil {
			if scope != "" {
				s.idemAbandon(scope)
			}
			c.fail(err.status, err.code, err.message)
			return
		}
		t := s.newTask(m, body, canon)
		answer, _ := json.Marshal(envelope{Code: http.StatusOK, Message: "success", Data: map[string]string{"task_id": t.id}})
		cost := s.opts.Cost(m.ID)
		c.stall() // a slow create keeps its key in progress
		if scope != "" {
			s.idemFinish(scope, answer, cost)
		}
		if s.roll(s.faultSettings().LostCreate) {
			c.lose()
			return
		}
		if cost != "" {
			c.w.Header().Set("X-Request-Cost", cost)
		}
		c.write(http.StatusOK, answer)
	}
}

// readBody decodes a create body and returns it with its canonical form.
func readBody(c *call) (map[string]any, string, *apiError) {
	raw, err := io.ReadAll(http.MaxBytesReader(c.w, c.r.Body, maxBody))
	if err != nil {
		return nil, "", invalid("request body could not be read: %v", err)
	}
	var body map[string]any
	if err := json.Unmarshal(raw, &body); err != nil || body == nil {
		return nil, "", invalid("request body must be a JSON object")
	}
	canon, err := json.Marshal(body) // map keys come out sorted
	if err != nil {
		return nil, "", invalid("request body: %v", err)
	}
	return body, string(canon), nil
}

// admit checks a create body for the route of kind, as APIPod does.
func admit(kind apipod.Kind, body map[string]any) (*apipod.Model, *apiError) {
	id, _ := body["model"].(string)
	if id == "" {
		return nil, invalid("model is required")
	}
	m, ok := apipod.LookupModel(id)
	if !ok {
		return nil, &apiError{http.StatusNotFound, "model_not_available", fmt.Sprintf("model %q is not available", id)}
	}
	if m.Kind != kind {
		return nil, invalid("model %s makes %ss; use POST %s", m.ID, m.Kind, m.Kind.CreatePath())
	}
	var reasons []string
	for _, e := range apipod.ValidateBody(body) {
		reasons = append(reasons, e.Error())
	}
	for name, v := range body {
		if list, ok := v.([]any); ok {
			for _, item := range list {
				if s, _ := item.(string); strings.Contains(s, "${") {
					reasons = append(reasons, fmt.Sprintf("%s: %q is an unresolved reference, not a URL", name, s))
				}
			}
		}
	}
	if len(reasons) > 0 {
		return nil, invalid("%s", strings.Join(reasons, "; "))
	}
	return m, nil
}

// newTask makes and stores a task for a valid body.
func (s *Server) newTask(m *apipod.Model, body map[string]any, canon string) *task {
	f := s.faultSettings()
	s.mu.Lock()
	seq := s.taskSeq
	s.taskSeq++
	s.mu.Unlock()

	prefix := "img_"
	if m.Kind == apipod.KindVideo {
		prefix = "vid_"
	}
	t := &task{
		id:      fmt.Sprintf("%s%s%06x", prefix, s.token, seq),
		model:   m.ID,
		kind:    m.Kind,
		created: s.now(),
		dur:     s.duration(m, body),
		failed:  seq < f.FailFirst || s.roll(f.FailTask),
		lost:    s.roll(f.ForgetTask),
	}
	if t.lost {
		s.fault("forget_task")
	}
	if t.failed {
		s.fault("fail_task")
	} else {
		t.files = makeFiles(t.id, m.Kind, resultCount(m, body))
	}

	s.mu.Lock()
	s.tasks[t.id] = t
	s.perBody[canon]++
	s.stats.TasksCreated++
	s.mu.Unlock()
	return t
}

// duration is how long a new task takes.
func (s *Server) duration(m *apipod.Model, body map[string]any) time.Duration {
	if s.opts.Duration != nil {
		return s.opts.Duration(m.ID, m.Kind, body)
	}
	if m.Kind == apipod.KindVideo {
		return s.jitter(120 * time.Millisecond)
	}
	return s.jitter(40 * time.Millisecond)
}

// resultCount is how many files a task yields: n for models that take it.
func resultCount(m *apipod.Model, body map[string]any) int {
	if n, ok := body["n"].(float64); ok && m.Param("n") != nil && n >= 1 {
		return int(n)
	}
	return 1
}

// status handles GET /v1/{images,videos}/status/{task_id}.
func (s *Server) status(kind apipod.Kind) func(*call) {
	return func(c *call) {
		s.count(func(st *Stats) { st.StatusRequests++ })
		now := s.now()
		s.mu.Lock()
		t := s.tasks[c.r.PathValue("task_id")]
		if t != nil && t.kind == kind {
			s.observe(t, now)
		}
		s.mu.Unlock()
		if t == nil || t.kind != kind || t.lost {
			c.fail(http.StatusNotFound, "task_not_found", "task not found")
			return
		}
		c.ok(t.report(now, s.filesBase(c.r)))
	}
}

// lose drops the answer of a create that was done: half the time as a 502,
// half as a connection closed without an answer.
func (c *call) lose() {
	if c.s.roll(0.5) {
		c.s.fault("lost_create_502")
		c.serverError(http.StatusBadGateway)
		return
	}
	c.s.fault("lost_create_close")
	if conn, _, err := http.NewResponseController(c.w).Hijack(); err == nil {
		_ = conn.Close()
		return
	}
	panic(http.ErrAbortHandler)
}
