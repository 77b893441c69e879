package apipod

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// fuzzKey is the key of the fuzzed clients; answers may echo it.
const fuzzKey = "sk-fuzz-LEAKCANARY-41c9"

// envelopeSeeds are answers of every shape the API and its gateways send.
var envelopeSeeds = []struct {
	status int
	body   string
}{
	{200, `{"code":200,"message":"success","data":{"task_id":"img_1"}}`},
	{200, `{"code":200,"message":"success","data":{"task_id":"img_1","status":"completed","result":["https://f.example/1.png"],"completed_at":1786358400}}`},
	{200, `{"code":200,"message":"success","data":{"task_id":"img_1","status":"completed","result":[]}}`},
	{200, `{"code":200,"message":"success","data":{"task_id":"vid_1","status":"failed","error":"Upstream request failed."}}`},
	{200, `{"code":200,"message":"success","data":{"task_id":"img_1","status":"failed","error_code":"BRAND_NEW","error_message":"` + fuzzKey + `"}}`},
	{200, `{"code":200,"message":"success","data":{"task_id":"img_1","status":"queued_for_review","progress":250}}`},
	{200, `{"code":402,"message":"Insufficient quota","data":{"error_code":"insufficient_quota"}}`},
	{200, `{"error":{"message":"blocked","code":"content_policy_violation"}}`},
	{200, `{"code":200,"data":null}`},
	{200, `{"code":"200","data":{}}`},
	{200, `[]`},
	{200, `<html>maintenance</html>`},
	{401, `{"error":{"message":"Incorrect API key provided: Bearer ` + fuzzKey + `","type":"invalid_request_error","code":"invalid_api_key"}}`},
	{409, `{"code":409,"message":"still processing","data":{"error_code":"idempotency_in_progress"}}`},
	{429, `{"code":429,"message":"Rate limit exceeded","data":{"type":"rate_limit_error","error_code":"rate_limit_exceeded"}}`},
	{502, "<html><body><h1>502 Bad Gateway</h1></body></html>"},
	{503, ``},
	{200, `{"code":200,"data":{"task_id":"t","status":"completed","result":"https://not-a-list"}}`},
	{200, `{"code":200,"data":{"error":{"code":7}}}`},
}

// FuzzParseEnvelope feeds arbitrary answers to the envelope parser: it
// never panics, an answer is either a success envelope or an *APIError
// (never both), only HTTP 200 can succeed, and the error always has text.
func FuzzParseEnvelope(f *testing.F) {
	for _, s := range envelopeSeeds {
		f.Add(s.status, []byte(s.body), "1")
	}
	f.Add(200, []byte(`{"code":200}`), "0.01")
	f.Add(429, []byte(`{}`), "Wed, 21 Oct 2015 07:28:00 GMT")
	f.Fuzz(func(t *testing.T, status int, body []byte, retryAfter string) {
		if status < 100 || status > 999 {
			return
		}
		resp := &http.Response{StatusCode: status, Header: http.Header{"Retry-After": {retryAfter}, "X-Request-Id": {"rid"}}}
		env, apiErr := parseEnvelope("status", resp, body)
		if (env == nil) == (apiErr == nil) {
			t.Fatalf("envelope %v and error %v: want exactly one", env, apiErr)
		}
		if env != nil && status != http.StatusOK {
			t.Fatalf("HTTP %d parsed as a success", status)
		}
		if apiErr != nil {
			if apiErr.Error() == "" || apiErr.Op != "status" {
				t.Fatalf("error %#v says nothing", apiErr)
			}
			if apiErr.RetryAfter < 0 || apiErr.RetryAfter > maxRetryAfter {
				t.Fatalf("Retry-After %q gave %v", retryAfter, apiErr.RetryAfter)
			}
			_, _, _, _ = apiErr.Retryable(), apiErr.Fatal(), apiErr.OutOfBalance(), apiErr.Hint()
		}
	})
}

// canned is a transport that answers every request with one answer.
type canned struct {
	status int
	body   []byte
}

func (c canned) RoundTrip(r *http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: c.status, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(bytes.NewReader(c.body)), Request: r}, nil
}

// FuzzStatusAndCreate decodes arbitrary answers through the public client:
// it never panics, a success has what the caller relies on, and no text
// that reaches the caller (tasks, creates, errors) holds the API key.
func FuzzStatusAndCreate(f *testing.F) {
	for _, s := range envelopeSeeds {
		f.Add(s.status, []byte(s.body))
	}
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		if status < 100 || status > 999 {
			return
		}
		c := NewClient("http://api.invalid", fuzzKey)
		c.HTTP = &http.Client{Transport: canned{status, body}}
		c.Retry = RetryPolicy{Attempts: 2, Initial: time.Nanosecond, Max: time.Nanosecond}
		c.Sleep = func(context.Context, time.Duration) error { return nil }

		task, err := c.Status(context.Background(), KindImage, "img_1")
		noKey(t, err)
		if err == nil {
			if task.Status == "" || task.ID == "" {
				t.Fatalf("task %+v lacks a status or an id", task)
			}
			if task.Done() && task.Status == StatusCompleted && len(task.Result) == 0 {
				t.Fatal("a completed task without results is done")
			}
			for _, s := range []string{task.Status, task.ErrorCode, task.ErrorMessage, task.RequestID} {
				if strings.Contains(s, fuzzKey) {
					t.Fatalf("task field holds the key: %q", s)
				}
			}
		}
		created, err := c.Create(context.Background(), KindImage, []byte(`{"model":"nano-banana-2","prompt":"p"}`), "k")
		noKey(t, err)
		if err == nil && created.TaskID == "" {
			t.Fatal("a create succeeded without a task id")
		}
		var apiErr *APIError
		if err != nil && errors.As(err, &apiErr) && apiErr.Op != "create" {
			t.Fatalf("create error has op %q", apiErr.Op)
		}
	})
}

func noKey(t *testing.T, err error) {
	t.Helper()
	if err != nil && strings.Contains(err.Error(), fuzzKey) {
		t.Fatalf("error holds the key: %v", err)
	}
}
