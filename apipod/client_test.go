package apipod_test

import (
	"bufio"
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

// clock is a manual clock for the fake server's task lifecycle.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func fixed(d time.Duration) func(string, apipod.Kind, map[string]any) time.Duration {
	return func(string, apipod.Kind, map[string]any) time.Duration { return d }
}

// newFake starts an apipodtest server that accepts testKey, on clk when
// clk is not nil.
func newFake(t *testing.T, clk *clock, opts apipodtest.Options) *apipodtest.Server {
	t.Helper()
	opts.APIKey = testKey
	if clk != nil {
		opts.Now = clk.Now
		if opts.Duration == nil {
			opts.Duration = fixed(10 * time.Second)
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
	}{
		{"every create answer lost", apipodtest.Faults{LostCreate: 1},
			[]string{"lost_create_502", "lost_create_close"}, true},
		{"chaos", apipodtest.Faults{LostCreate: 0.3, ServerError: 0.3, RateLimit: 0.2, RetryAfter: "0.01"},
			[]string{"lost_create_502", "lost_create_close", "server_error", "rate_limit"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newClock()
			srv := newFake(t, clk, apipodtest.Options{Seed: 7, Faults: tt.faults})
			c, w := newClient(srv.URL)
			c.Retry.Attempts = 30
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
			if got := len(w.all()); got != retries {
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
