package apipod_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apipod/apipod-batch/apipod"
	"github.com/apipod/apipod-batch/apipod/apipodtest"
	"github.com/apipod/apipod-batch/internal/clock"
)

// testKey is distinctive so that a leak into any error text is easy to spot.
const testKey = "sk-test-LEAKCANARY-7f3a9c2e51d04b68"

// testPolicy keeps retries short; the injected Sleep makes them free anyway.
var testPolicy = apipod.RetryPolicy{Attempts: 4, Initial: time.Millisecond, Max: 4 * time.Millisecond}

// waits records what the client asked Sleep to wait, without sleeping.
type waits struct {
	mu sync.Mutex
	d  []time.Duration
}

func (w *waits) Sleep(ctx context.Context, d time.Duration) error {
	w.mu.Lock()
	w.d = append(w.d, d)
	w.mu.Unlock()
	return ctx.Err()
}

func (w *waits) all() []time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]time.Duration(nil), w.d...)
}

// newClient returns a client for base with testKey, the short test retry
// policy and a recording Sleep.
func newClient(base string) (*apipod.Client, *waits) {
	c := apipod.NewClient(base, testKey)
	c.Retry = testPolicy
	c.RequestTimeout = 10 * time.Second
	w := &waits{}
	c.Sleep = w.Sleep
	return c, w
}

func newClock() *clock.Manual { return clock.NewManual(time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)) }

// newFake starts an apipodtest server that accepts testKey, on clk when
// clk is not nil.
func newFake(t *testing.T, clk *clock.Manual, opts apipodtest.Options) *apipodtest.Server {
	t.Helper()
	opts.APIKey = testKey
	if clk != nil {
		opts.Now = clk.Now
		if opts.Duration == nil {
			opts.Duration = apipodtest.Fixed(10 * time.Second)
		}
	}
	s := apipodtest.NewServer(opts)
	t.Cleanup(s.Close)
	return s
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// checkNoKey fails when err's text is empty or holds the API key.
func checkNoKey(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	msg := err.Error()
	if strings.TrimSpace(msg) == "" {
		t.Errorf("error %#v has no message", err)
	}
	if strings.Contains(msg, testKey) || strings.Contains(msg, testKey[10:]) {
		t.Errorf("error text holds the API key: %s", msg)
	}
}

func TestLifecycle(t *testing.T) {
	tests := []struct {
		name      string
		kind      apipod.Kind
		body      map[string]any
		failFirst int
		cost      string
		results   int
		errCode   string
		errMsg    bool
	}{
		{name: "image", kind: apipod.KindImage, body: map[string]any{"model": "nano-banana-2", "prompt": "a red mug"},
			cost: "0.0400", results: 1},
		{name: "image n=3", kind: apipod.KindImage, body: map[string]any{"model": "wan2.7-image", "prompt": "a red mug", "n": 3},
			cost: "0.0400", results: 3},
		{name: "video", kind: apipod.KindVideo, body: map[string]any{"model": "veo3-1-fast", "prompt": "a clip"},
			cost: "0.4000", results: 1},
		{name: "video from image", kind: apipod.KindVideo, body: map[string]any{"model": "seedance-2.0-fast-i2v", "prompt": "a clip",
			"image_urls": []string{"https://example.com/in.png"}, "duration": 4}, cost: "0.4000", results: 1},
		{name: "image fails", kind: apipod.KindImage, body: map[string]any{"model": "seedream-v4.5", "prompt": "a red mug"},
			failFirst: 1, cost: "0.0400", errCode: "UPSTREAM_CAPACITY_EXHAUSTED", errMsg: true},
		{name: "video fails", kind: apipod.KindVideo, body: map[string]any{"model": "seedance-2.0-t2v", "prompt": "a clip"},
			failFirst: 1, cost: "0.4000", errMsg: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newClock()
			srv := newFake(t, clk, apipodtest.Options{Faults: apipodtest.Faults{FailFirst: tt.failFirst}})
			c, w := newClient(srv.URL)
			ctx := context.Background()
			start := clk.Now()

			created, err := c.Create(ctx, tt.kind, mustJSON(t, tt.body), "key-"+tt.name)
			if err != nil {
				t.Fatalf("Create: %v", err)
			}
			if created.TaskID == "" || created.RequestID == "" || created.Replayed {
				t.Errorf("Create = %+v, want a task id, a request id and no replay", created)
			}
			if created.Cost != tt.cost {
				t.Errorf("Cost = %q, want %q (X-Request-Cost)", created.Cost, tt.cost)
			}

			steps := []struct {
				after  time.Duration
				status string
			}{
				{0, apipod.StatusPending},
				{5 * time.Second, apipod.StatusProcessing},
				{5 * time.Second, apipod.StatusCompleted},
			}
			var task *apipod.Task
			for _, step := range steps {
				clk.Add(step.after)
				task, err = c.Status(ctx, tt.kind, created.TaskID)
				if err != nil {
					t.Fatalf("Status after %v: %v", clk.Now().Sub(start), err)
				}
				want := step.status
				if want == apipod.StatusCompleted && tt.failFirst > 0 {
					want = apipod.StatusFailed
				}
				if task.Status != want || task.ID != created.TaskID || task.RequestID == "" {
					t.Fatalf("after %v: %+v, want %s", clk.Now().Sub(start), task, want)
				}
				if done := want == apipod.StatusCompleted || want == apipod.StatusFailed; task.Done() != done {
					t.Errorf("%s: Done() = %v", want, task.Done())
				}
				if want == apipod.StatusProcessing && (task.Progress <= 0 || task.Progress >= 100) {
					t.Errorf("processing progress = %d", task.Progress)
				}
			}
			if len(task.Result) != tt.results {
				t.Errorf("Result = %v, want %d URLs", task.Result, tt.results)
			}
			for _, u := range task.Result {
				if _, ok := srv.Served(u); !ok {
					t.Errorf("result %s is not a file of the fake", u)
				}
			}
			if !task.CompletedAt.Equal(start.Add(10 * time.Second)) {
				t.Errorf("CompletedAt = %v, want %v", task.CompletedAt, start.Add(10*time.Second))
			}
			if task.ErrorCode != tt.errCode || (task.ErrorMessage != "") != tt.errMsg {
				t.Errorf("error code %q message %q, want code %q and a message: %v", task.ErrorCode, task.ErrorMessage, tt.errCode, tt.errMsg)
			}
			st := srv.Stats()
			if st.Unauthorized != 0 || st.TasksCreated != 1 || st.Requests != 4 {
				t.Errorf("stats = %+v, want 4 authorised requests and 1 task", st)
			}
			if got := w.all(); len(got) != 0 {
				t.Errorf("waited %v without a failure", got)
			}
		})
	}
}

func TestWrongKeyIsFatal(t *testing.T) {
	srv := newFake(t, nil, apipodtest.Options{})
	c := apipod.NewClient(srv.URL, "sk-wrong-"+testKey) // a key the fake rejects, containing the canary
	c.Retry = testPolicy
	w := &waits{}
	c.Sleep = w.Sleep
	_, err := c.Create(context.Background(), apipod.KindImage, []byte(`{"model":"nano-banana-2","prompt":"p"}`), "k")
	var apiErr *apipod.APIError
	if !errors.As(err, &apiErr) || !apiErr.Fatal() || apiErr.Code != "invalid_api_key" || apiErr.RequestID == "" {
		t.Fatalf("Create with a wrong key = %v, want a fatal invalid_api_key APIError", err)
	}
	checkNoKey(t, err)
	if st := srv.Stats(); st.Requests != 1 || st.Unauthorized != 1 {
		t.Errorf("stats = %+v, want one rejected request", st)
	}
}

func TestRequestHeaders(t *testing.T) {
	type seen struct {
		method, path, auth, idem, ctype, accept, ua, body string
		hasIdem                                           bool
	}
	var mu sync.Mutex
	var got []seen
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		_, hasIdem := r.Header["Idempotency-Key"]
		mu.Lock()
		got = append(got, seen{r.Method, r.URL.EscapedPath(), r.Header.Get("Authorization"), r.Header.Get("Idempotency-Key"),
			r.Header.Get("Content-Type"), r.Header.Get("Accept"), r.Header.Get("User-Agent"), string(b), hasIdem})
		mu.Unlock()
		fmt.Fprint(w, `{"code":200,"message":"success","data":{"task_id":"t1","status":"pending"}}`)
	}))
	defer srv.Close()
	c, _ := newClient(srv.URL + "/") // a trailing slash is trimmed
	c.UserAgent = "apipod-batch/test"
	ctx := context.Background()
	body := `{"model":"veo3-1-fast","prompt":"p"}`
	if _, err := c.Create(ctx, apipod.KindVideo, []byte(body), "idem-123"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Create(ctx, apipod.KindImage, []byte(body), ""); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Status(ctx, apipod.KindVideo, "vid_1"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Status(ctx, apipod.KindImage, "../x/y?z#w"); err != nil {
		t.Fatal(err)
	}
	want := []seen{
		{"POST", "/v1/videos/generations", "Bearer " + testKey, "idem-123", "application/json", "application/json", "apipod-batch/test", body, true},
		{"POST", "/v1/images/generations", "Bearer " + testKey, "", "application/json", "application/json", "apipod-batch/test", body, false},
		{"GET", "/v1/videos/status/vid_1", "Bearer " + testKey, "", "", "application/json", "apipod-batch/test", "", false},
		{"GET", "/v1/images/status/..%2Fx%2Fy%3Fz%23w", "Bearer " + testKey, "", "", "application/json", "apipod-batch/test", "", false},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d requests, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("request %d:\n got %+v\nwant %+v", i, got[i], want[i])
		}
	}
}

func TestIdempotentReplay(t *testing.T) {
	clk := newClock()
	srv := newFake(t, clk, apipodtest.Options{})
	c, _ := newClient(srv.URL)
	ctx := context.Background()
	body := mustJSON(t, map[string]any{"model": "seedream-v4.5", "prompt": "a lamp", "quality": "4K"})

	first, err := c.Create(ctx, apipod.KindImage, body, "job-lamp-attempt-1")
	if err != nil {
		t.Fatal(err)
	}
	again, err := c.Create(ctx, apipod.KindImage, body, "job-lamp-attempt-1")
	if err != nil {
		t.Fatal(err)
	}
	if again.TaskID != first.TaskID || !again.Replayed || first.Replayed {
		t.Errorf("replay = %+v after %+v, want the same task, replayed", again, first)
	}
	if again.Cost != first.Cost || again.RequestID == "" || again.RequestID == first.RequestID {
		t.Errorf("replay cost %q request %q; first cost %q request %q", again.Cost, again.RequestID, first.Cost, first.RequestID)
	}
	perBody := srv.TasksPerBody()
	if len(perBody) != 1 {
		t.Fatalf("TasksPerBody = %v, want one body", perBody)
	}
	for b, n := range perBody {
		if n != 1 {
			t.Errorf("body %s made %d tasks, want 1", b, n)
		}
	}
	if st := srv.Stats(); st.TasksCreated != 1 || st.Replays != 1 {
		t.Errorf("stats = %+v, want 1 task and 1 replay", st)
	}

	// The same key with another body is a conflict, and is not retried.
	before := srv.Stats().Requests
	other := mustJSON(t, map[string]any{"model": "seedream-v4.5", "prompt": "a lamp", "quality": "2K"})
	_, err = c.Create(ctx, apipod.KindImage, other, "job-lamp-attempt-1")
	var apiErr *apipod.APIError
	if !errors.As(err, &apiErr) || apiErr.HTTPStatus != http.StatusConflict || apiErr.Code != "idempotency_conflict" ||
		apiErr.Retryable() || apiErr.Hint() == "" {
		t.Errorf("conflict = %v, want a 409 idempotency_conflict with a hint", err)
	}
	checkNoKey(t, err)
	if n := srv.Stats().Requests - before; n != 1 {
		t.Errorf("conflict took %d requests, want 1", n)
	}

	// A new key is a new task: the key, not the body, is the protection.
	third, err := c.Create(ctx, apipod.KindImage, body, "job-lamp-attempt-2")
	if err != nil || third.TaskID == first.TaskID || third.Replayed {
		t.Errorf("new key = %+v, %v; want a new task", third, err)
	}
}

// TestLostAnswersNeverPayTwice runs creates through lost answers (a 502
// after the task was made, or a connection closed without an answer), server
// errors and rate limits: every job must get exactly one task.
func TestLostAnswersNeverPayTwice(t *testing.T) {
	tests := []struct {
		name     string
		faults   apipodtest.Faults
		struck   []string
		replayed bool // every create is answered by a replay
		// keepAlive uses the default transport, which replays some requests
		// by itself when a reused connection dies, so fewer waits than faults.
		keepAlive bool
	}{
		{"every create answer lost", apipodtest.Faults{LostCreate: 1},
			[]string{"lost_create_502", "lost_create_close"}, true, false},
		{"chaos", apipodtest.Faults{LostCreate: 0.3, ServerError: 0.3, RateLimit: 0.2, RetryAfter: "0.01"},
			[]string{"lost_create_502", "lost_create_close", "server_error", "rate_limit"}, false, false},
		{"chaos with keep-alives", apipodtest.Faults{LostCreate: 0.3, ServerError: 0.3, RateLimit: 0.2, RetryAfter: "0.01"},
			[]string{"lost_create_502", "lost_create_close", "server_error", "rate_limit"}, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newClock()
			srv := newFake(t, clk, apipodtest.Options{Seed: 7, Faults: tt.faults})
			c, w := newClient(srv.URL)
			c.Retry.Attempts = 30
			if !tt.keepAlive {
				// One connection per try, so that every fault is retried by
				// the client and the waits can be counted.
				c.HTTP = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
			}
			ctx := context.Background()
			const jobs = 16
			ids := make(map[string]bool)
			for i := range jobs {
				body := mustJSON(t, map[string]any{"model": "nano-banana-2", "prompt": fmt.Sprintf("product shot %d", i)})
				got, err := c.Create(ctx, apipod.KindImage, body, fmt.Sprintf("job-%d-attempt-1", i))
				if err != nil {
					t.Fatalf("job %d: %v", i, err)
				}
				if ids[got.TaskID] {
					t.Fatalf("job %d got the task id %s of another job", i, got.TaskID)
				}
				ids[got.TaskID] = true
				if tt.replayed && !got.Replayed {
					t.Errorf("job %d: a create whose first answer was lost is not marked Replayed", i)
				}
			}
			clk.Add(time.Minute)
			for id := range ids {
				task, err := c.Status(ctx, apipod.KindImage, id)
				if err != nil || task.Status != apipod.StatusCompleted || len(task.Result) != 1 {
					t.Errorf("Status(%s) = %+v, %v", id, task, err)
				}
			}
			perBody := srv.TasksPerBody()
			if len(perBody) != jobs {
				t.Errorf("%d bodies made tasks, want %d", len(perBody), jobs)
			}
			for b, n := range perBody {
				if n != 1 {
					t.Errorf("paid %d times for %s", n, b)
				}
			}
			st := srv.Stats()
			if st.TasksCreated != jobs {
				t.Errorf("%d tasks created, want %d", st.TasksCreated, jobs)
			}
			for _, kind := range tt.struck {
				if st.FaultsInjected[kind] == 0 {
					t.Errorf("fault %s never struck (%v); pick another seed", kind, st.FaultsInjected)
				}
			}
			retries := 0
			for _, n := range st.FaultsInjected {
				retries += n
			}
			if got := len(w.all()); got != retries && !(tt.keepAlive && got < retries) {
				t.Errorf("slept %d times for %d faults", got, retries)
			}
			if st.FaultsInjected["rate_limit"] > 0 && !containsWait(w.all(), 10*time.Millisecond) {
				t.Errorf("waits %v miss the Retry-After of 10ms", w.all())
			}
		})
	}
}

func containsWait(ws []time.Duration, d time.Duration) bool {
	for _, w := range ws {
		if w == d {
			return true
		}
	}
	return false
}

// reply is one canned answer of a hand-written API.
type reply func(w http.ResponseWriter, r *http.Request)

// answer replies status and body, with header given as name, value pairs.
func answer(status int, body string, header ...string) reply {
	return func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		if w.Header().Get("Content-Type") == "" {
			w.Header().Set("Content-Type", "application/json")
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}
}

// apipodError is an APIPod error envelope.
func apipodError(code int, errorCode, message string) string {
	return fmt.Sprintf(`{"code":%d,"message":%q,"data":{"type":"x","error_code":%q}}`, code, message, errorCode)
}

// okBody satisfies both create and status.
const okBody = `{"code":200,"message":"success","data":{"task_id":"t1","status":"completed","result":["https://files.example/t1/0.png"]}}`

var ok = answer(http.StatusOK, okBody)

// hangUp closes the connection without an answer.
func hangUp(w http.ResponseWriter, r *http.Request) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	_ = conn.Close()
}

// garbleWithKey answers a malformed status line that echoes the request's
// Authorization header, as a broken proxy might.
func garbleWithKey(w http.ResponseWriter, r *http.Request) {
	conn, buf, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	// No space, so that net/http quotes the whole line in its error.
	_, _ = buf.WriteString(strings.ReplaceAll(r.Header.Get("Authorization"), " ", "_") + "\r\n\r\n")
	_ = buf.Flush()
	_ = conn.Close()
}

// scripted is an API that answers the nth request with replies[n] (the last
// one over and over), setting X-Request-ID rid-<n>, and records what came.
type scripted struct {
	*httptest.Server
	mu     sync.Mutex
	n      int
	keys   []string
	bodies []string
	paths  []string
}

func newScripted(t *testing.T, replies ...reply) *scripted {
	t.Helper()
	s := &scripted{}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.n++
		n := s.n
		s.keys = append(s.keys, r.Header.Get("Idempotency-Key"))
		s.bodies = append(s.bodies, string(b))
		s.paths = append(s.paths, r.URL.Path)
		s.mu.Unlock()
		w.Header().Set("X-Request-ID", fmt.Sprintf("rid-%d", n))
		replies[min(n, len(replies))-1](w, r)
	}))
	// Without keep-alives every try is a fresh connection, so net/http never
	// replays a request on its own (it does for a replayable request, which
	// a create with an Idempotency-Key is, when a reused connection dies)
	// and each request seen here is one try of the client.
	s.Config.SetKeepAlivesEnabled(false)
	s.Start()
	t.Cleanup(s.Close)
	return s
}

func (s *scripted) requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n
}

func TestErrors(t *testing.T) {
	openAI401 := `{"error":{"message":"Authentication required. Please provide a valid API key or sign in.","type":"invalid_request_error","code":"invalid_api_key"}}`
	echoKey401 := func(w http.ResponseWriter, r *http.Request) {
		body, _ := json.Marshal(map[string]any{"error": map[string]any{
			"message": "Incorrect API key provided: " + r.Header.Get("Authorization"), "code": "invalid_api_key"}})
		answer(http.StatusUnauthorized, string(body))(w, r)
	}
	attempts := testPolicy.Attempts
	tests := []struct {
		name     string
		status   bool // call Status instead of Create
		replies  []reply
		requests int
		waits    []time.Duration // exact waits; nil: one backoff step per retry
		ok       bool
		api      *apipod.APIError // HTTPStatus, Code and RequestID to match; nil: no APIError
		check    func(t *testing.T, e *apipod.APIError)
	}{
		{name: "401 OpenAI envelope", replies: []reply{answer(401, openAI401)}, requests: 1,
			api: &apipod.APIError{HTTPStatus: 401, Code: "invalid_api_key", RequestID: "rid-1"},
			check: func(t *testing.T, e *apipod.APIError) {
				if !e.Fatal() || e.Retryable() || e.OutOfBalance() || !strings.Contains(e.Hint(), "APIPOD_API_KEY") {
					t.Errorf("Fatal %v Retryable %v OutOfBalance %v Hint %q", e.Fatal(), e.Retryable(), e.OutOfBalance(), e.Hint())
				}
				if e.Message != "Authentication required. Please provide a valid API key or sign in." {
					t.Errorf("Message = %q, want the server's", e.Message)
				}
			}},
		{name: "401 echoing the key", replies: []reply{echoKey401}, requests: 1,
			api: &apipod.APIError{HTTPStatus: 401, Code: "invalid_api_key", RequestID: "rid-1"},
			check: func(t *testing.T, e *apipod.APIError) {
				if !e.Fatal() || strings.Contains(e.Message, testKey) {
					t.Errorf("Message = %q", e.Message)
				}
			}},
		{name: "402 out of balance", replies: []reply{answer(402, apipodError(402, "insufficient_quota", "Insufficient quota"))}, requests: 1,
			api: &apipod.APIError{HTTPStatus: 402, Code: "insufficient_quota", RequestID: "rid-1"},
			check: func(t *testing.T, e *apipod.APIError) {
				if !e.OutOfBalance() || e.Fatal() || e.Retryable() || !strings.Contains(e.Hint(), "add balance") {
					t.Errorf("OutOfBalance %v Fatal %v Retryable %v Hint %q", e.OutOfBalance(), e.Fatal(), e.Retryable(), e.Hint())
				}
			}},
		{name: "403 not retried", replies: []reply{answer(403, apipodError(403, "permission_denied", "Forbidden")), ok}, requests: 1,
			api: &apipod.APIError{HTTPStatus: 403, Code: "permission_denied", RequestID: "rid-1"},
			check: func(t *testing.T, e *apipod.APIError) {
				if e.Retryable() || e.Fatal() || e.Hint() == "" {
					t.Errorf("Retryable %v Fatal %v Hint %q", e.Retryable(), e.Fatal(), e.Hint())
				}
			}},
		{name: "404 model not available", replies: []reply{answer(404, apipodError(404, "model_not_available", "model x is not available")), ok}, requests: 1,
			api: &apipod.APIError{HTTPStatus: 404, Code: "model_not_available", RequestID: "rid-1"},
			check: func(t *testing.T, e *apipod.APIError) {
				if !e.NotFound() || e.Retryable() {
					t.Errorf("NotFound %v Retryable %v", e.NotFound(), e.Retryable())
				}
			}},
		{name: "400 not retried", replies: []reply{answer(400, apipodError(400, "invalid_request", "duration: 3 is out of range")), ok}, requests: 1,
			api: &apipod.APIError{HTTPStatus: 400, Code: "invalid_request", RequestID: "rid-1"},
			check: func(t *testing.T, e *apipod.APIError) {
				if e.Retryable() || e.Message != "duration: 3 is out of range" {
					t.Errorf("Retryable %v Message %q", e.Retryable(), e.Message)
				}
			}},
		{name: "409 idempotency_conflict not retried", replies: []reply{answer(409, apipodError(409, "idempotency_conflict", "key reused")), ok}, requests: 1,
			api: &apipod.APIError{HTTPStatus: 409, Code: "idempotency_conflict", RequestID: "rid-1"},
			check: func(t *testing.T, e *apipod.APIError) {
				if e.Retryable() || e.Hint() == "" {
					t.Errorf("Retryable %v Hint %q", e.Retryable(), e.Hint())
				}
			}},
		{name: "409 idempotency_in_progress retried after Retry-After",
			replies:  []reply{answer(409, apipodError(409, "idempotency_in_progress", "still processing"), "Retry-After", "0.02"), ok},
			requests: 2, waits: []time.Duration{20 * time.Millisecond}, ok: true},
		{name: "429 retried after Retry-After",
			replies:  []reply{answer(429, apipodError(429, "rate_limit_exceeded", "Rate limit exceeded"), "Retry-After", "0.01"), ok},
			requests: 2, waits: []time.Duration{10 * time.Millisecond}, ok: true},
		{name: "429 without Retry-After backs off",
			replies:  []reply{answer(429, apipodError(429, "rate_limit_exceeded", "Rate limit exceeded")), answer(429, apipodError(429, "rate_limit_exceeded", "Rate limit exceeded")), ok},
			requests: 3, ok: true},
		{name: "429 until attempts run out",
			replies:  []reply{answer(429, apipodError(429, "rate_limit_exceeded", "Rate limit exceeded"), "Retry-After", "0.01")},
			requests: attempts, waits: []time.Duration{10 * time.Millisecond, 10 * time.Millisecond, 10 * time.Millisecond},
			api: &apipod.APIError{HTTPStatus: 429, Code: "rate_limit_exceeded", RequestID: fmt.Sprintf("rid-%d", attempts)},
			check: func(t *testing.T, e *apipod.APIError) {
				if !e.Retryable() || !strings.Contains(e.Hint(), "parallelism") {
					t.Errorf("Retryable %v Hint %q", e.Retryable(), e.Hint())
				}
			}},
		{name: "503 retried then success",
			replies:  []reply{answer(503, apipodError(503, "idempotency_unavailable", "Service Unavailable")), answer(503, apipodError(503, "service_unavailable", "Service Unavailable")), ok},
			requests: 3, ok: true},
		{name: "500 until attempts run out", replies: []reply{answer(500, apipodError(500, "internal_error", "Internal Server Error"))},
			requests: attempts, api: &apipod.APIError{HTTPStatus: 500, Code: "internal_error", RequestID: fmt.Sprintf("rid-%d", attempts)}},
		{name: "HTTP 200 with code 500 is an error", replies: []reply{answer(200, apipodError(500, "internal_error", "upstream broke"))},
			requests: attempts, api: &apipod.APIError{HTTPStatus: 500, Code: "internal_error", RequestID: fmt.Sprintf("rid-%d", attempts)}},
		{name: "HTTP 200 with code 500 retried then success", replies: []reply{answer(200, apipodError(500, "internal_error", "upstream broke")), ok},
			requests: 2, ok: true},
		{name: "HTTP 200 with code 400 is an error", replies: []reply{answer(200, apipodError(400, "invalid_request", "bad prompt")), ok},
			requests: 1, api: &apipod.APIError{HTTPStatus: 400, Code: "invalid_request", RequestID: "rid-1"}},
		{name: "HTTP 200 with an OpenAI error object", replies: []reply{answer(200, `{"error":{"message":"blocked","code":"content_policy_violation"}}`), ok},
			requests: 1, api: &apipod.APIError{HTTPStatus: 200, Code: "content_policy_violation", RequestID: "rid-1"}},
		{name: "error.code wins over data.error_code",
			replies:  []reply{answer(400, `{"code":400,"message":"m","data":{"error_code":"from_data"},"error":{"message":"m2","code":"from_error"}}`)},
			requests: 1, api: &apipod.APIError{HTTPStatus: 400, Code: "from_error", RequestID: "rid-1"}},
		{name: "unknown 4xx code preserved", replies: []reply{answer(422, apipodError(422, "brand_new_code_2027", "something new")), ok},
			requests: 1, api: &apipod.APIError{HTTPStatus: 422, Code: "brand_new_code_2027", RequestID: "rid-1"},
			check: func(t *testing.T, e *apipod.APIError) {
				if e.Retryable() || e.Fatal() || e.OutOfBalance() {
					t.Errorf("an unknown 4xx code is Retryable %v Fatal %v OutOfBalance %v", e.Retryable(), e.Fatal(), e.OutOfBalance())
				}
			}},
		{name: "unknown 5xx code preserved and retried", replies: []reply{answer(504, apipodError(504, "UPSTREAM_SOMETHING_NEW", "Gateway Timeout"))},
			requests: attempts, api: &apipod.APIError{HTTPStatus: 504, Code: "UPSTREAM_SOMETHING_NEW", RequestID: fmt.Sprintf("rid-%d", attempts)}},
		{name: "HTML 502 from a gateway", replies: []reply{answer(502, "<html><body><h1>502 Bad Gateway</h1></body></html>", "Content-Type", "text/html")},
			requests: attempts, api: &apipod.APIError{HTTPStatus: 502, RequestID: fmt.Sprintf("rid-%d", attempts)}},
		{name: "HTTP 200 that is not JSON", replies: []reply{answer(200, "<html>maintenance</html>", "Content-Type", "text/html")},
			requests: attempts, api: &apipod.APIError{HTTPStatus: 502, RequestID: fmt.Sprintf("rid-%d", attempts)}},
		{name: "HTTP 200 that is not JSON, then success", replies: []reply{answer(200, "not json"), ok}, requests: 2, ok: true},
		{name: "success without task_id is not retried", replies: []reply{answer(200, `{"code":200,"message":"success","data":{}}`), ok},
			requests: 1},
		{name: "closed connection retried", replies: []reply{hangUp, ok}, requests: 2, ok: true},
		{name: "closed connection until attempts run out", replies: []reply{hangUp}, requests: attempts},
		{name: "malformed answer echoing the key", replies: []reply{garbleWithKey}, requests: attempts},
		{name: "status 404 task not found", status: true, replies: []reply{answer(404, apipodError(404, "task_not_found", "task not found")), ok},
			requests: 1, api: &apipod.APIError{HTTPStatus: 404, Code: "task_not_found", RequestID: "rid-1"},
			check: func(t *testing.T, e *apipod.APIError) {
				if !e.NotFound() || e.Op != "status" {
					t.Errorf("NotFound %v Op %q", e.NotFound(), e.Op)
				}
			}},
		{name: "status 401", status: true, replies: []reply{answer(401, openAI401)}, requests: 1,
			api: &apipod.APIError{HTTPStatus: 401, Code: "invalid_api_key", RequestID: "rid-1"}},
		{name: "status 503 retried then success", status: true, replies: []reply{answer(503, apipodError(503, "service_unavailable", "x")), hangUp, ok},
			requests: 3, ok: true},
		{name: "status without status field", status: true, replies: []reply{answer(200, `{"code":200,"message":"success","data":{"task_id":"t1"}}`)},
			requests: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := newScripted(t, tt.replies...)
			c, w := newClient(api.URL)
			var retried []string
			var mu sync.Mutex
			c.OnRetry = func(op string, err error, wait time.Duration) {
				checkNoKey(t, err)
				mu.Lock()
				retried = append(retried, op)
				mu.Unlock()
			}
			op := "create"
			var err error
			body := `{"model":"nano-banana-2","prompt":"a mug"}`
			if tt.status {
				op = "status"
				_, err = c.Status(context.Background(), apipod.KindImage, "t1")
			} else {
				_, err = c.Create(context.Background(), apipod.KindImage, []byte(body), "idem-key-1")
			}

			if got := api.requests(); got != tt.requests {
				t.Errorf("%d requests, want %d", got, tt.requests)
			}
			if tt.ok != (err == nil) {
				t.Fatalf("err = %v, want success %v", err, tt.ok)
			}
			checkNoKey(t, err)

			got := w.all()
			if len(got) != tt.requests-1 || len(retried) != len(got) {
				t.Errorf("waits %v and %d OnRetry calls, want one per retry (%d)", got, len(retried), tt.requests-1)
			}
			for i, d := range got {
				switch {
				case tt.waits != nil && i < len(tt.waits) && d != tt.waits[i]:
					t.Errorf("wait %d = %v, want %v", i, d, tt.waits[i])
				case tt.waits == nil && (d <= 0 || d > testPolicy.Max*3/2):
					t.Errorf("wait %d = %v, want a backoff step of at most %v", i, d, testPolicy.Max*3/2)
				}
			}
			for _, o := range retried {
				if o != op {
					t.Errorf("OnRetry op %q, want %q", o, op)
				}
			}
			if !tt.status {
				for i := range api.keys {
					if api.keys[i] != "idem-key-1" || api.bodies[i] != body {
						t.Errorf("try %d sent key %q body %s; a retry must resend both unchanged", i+1, api.keys[i], api.bodies[i])
					}
				}
			}
			if tt.ok {
				return
			}

			var apiErr *apipod.APIError
			isAPI := errors.As(err, &apiErr)
			if tt.api == nil {
				if isAPI {
					t.Fatalf("err = %#v, want no APIError", apiErr)
				}
				return
			}
			if !isAPI {
				t.Fatalf("err = %v (%T), want an *APIError", err, err)
			}
			if apiErr.HTTPStatus != tt.api.HTTPStatus || apiErr.Code != tt.api.Code || apiErr.RequestID != tt.api.RequestID || apiErr.Op != op {
				t.Errorf("APIError = %+v, want status %d code %q request %q op %s",
					*apiErr, tt.api.HTTPStatus, tt.api.Code, tt.api.RequestID, op)
			}
			if apiErr.Message == "" {
				t.Errorf("APIError %+v has no message", *apiErr)
			}
			if !strings.Contains(err.Error(), tt.api.RequestID) {
				t.Errorf("Error() = %q misses the request id %s", err.Error(), tt.api.RequestID)
			}
			if tt.check != nil {
				tt.check(t, apiErr)
			}
		})
	}
}

func TestRetryAfter(t *testing.T) {
	step := testPolicy.Max * 3 / 2 // the longest backoff step, with jitter
	tests := []struct {
		header string
		lo, hi time.Duration
	}{
		{"0.01", 10 * time.Millisecond, 10 * time.Millisecond},
		{"1", time.Second, time.Second},
		{"2.5", 2500 * time.Millisecond, 2500 * time.Millisecond},
		{"86400", 2 * time.Minute, 2 * time.Minute}, // capped
		{"1e300", 2 * time.Minute, 2 * time.Minute},
		{time.Now().Add(30 * time.Second).UTC().Format(http.TimeFormat), 28 * time.Second, 30 * time.Second},
		{time.Now().Add(time.Hour).UTC().Format(http.TimeFormat), 2 * time.Minute, 2 * time.Minute},
		// No usable value: the backoff decides.
		{"0", time.Nanosecond, step},
		{"-5", time.Nanosecond, step},
		{"NaN", time.Nanosecond, step},
		{"soon", time.Nanosecond, step},
		{"Mon, 02 Jan 2006 15:04:05 GMT", time.Nanosecond, step},
	}
	for _, tt := range tests {
		t.Run(tt.header, func(t *testing.T) {
			api := newScripted(t, answer(429, apipodError(429, "rate_limit_exceeded", "slow down"), "Retry-After", tt.header), ok)
			c, w := newClient(api.URL)
			if _, err := c.Create(context.Background(), apipod.KindImage, []byte(`{}`), "k"); err != nil {
				t.Fatal(err)
			}
			got := w.all()
			if len(got) != 1 || got[0] < tt.lo || got[0] > tt.hi {
				t.Errorf("waits %v, want one in [%v, %v]", got, tt.lo, tt.hi)
			}
		})
	}
}

func TestCancelStopsRetries(t *testing.T) {
	api := newScripted(t, answer(503, apipodError(503, "service_unavailable", "busy")))
	c, _ := newClient(api.URL)
	ctx, cancel := context.WithCancel(context.Background())
	c.Sleep = func(ctx context.Context, _ time.Duration) error {
		cancel()
		return ctx.Err()
	}
	_, err := c.Create(ctx, apipod.KindImage, []byte(`{}`), "k")
	if !errors.Is(err, context.Canceled) || api.requests() != 1 {
		t.Errorf("err = %v after %d requests, want context.Canceled after 1", err, api.requests())
	}
}

func TestAttemptTimeoutRetried(t *testing.T) {
	stall := func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	}
	api := newScripted(t, stall, ok)
	c, w := newClient(api.URL)
	c.RequestTimeout = 30 * time.Millisecond
	task, err := c.Status(context.Background(), apipod.KindVideo, "t1")
	if err != nil || task.Status != apipod.StatusCompleted {
		t.Fatalf("Status = %+v, %v", task, err)
	}
	if api.requests() != 2 || len(w.all()) != 1 {
		t.Errorf("%d requests, waits %v; want the stalled attempt retried once", api.requests(), w.all())
	}
}
