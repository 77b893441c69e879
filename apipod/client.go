package apipod

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/cenkalti/backoff/v4"

	"github.com/apipod/apipod-batch/internal/clock"
)

// DefaultBaseURL is the production API.
const DefaultBaseURL = "https://api.apipod.ai"

// maxAPIBody bounds how much of an API answer is read; answers are small JSON.
const maxAPIBody = 1 << 20

// maxRetryAfter caps a server-suggested wait so a bogus header cannot stall a run.
const maxRetryAfter = 2 * time.Minute

// Client talks to the APIPod API. The zero value is not usable; use NewClient.
type Client struct {
	BaseURL string
	apiKey  string
	// HTTP sends API requests; the key is set on these only.
	HTTP *http.Client
	// Files fetches result files, which live on other hosts: it never sees the key.
	Files *http.Client
	// Retry bounds the retries of one API request or download.
	Retry RetryPolicy
	// RequestTimeout bounds one API request attempt.
	RequestTimeout time.Duration
	// MaxDownloadBytes cuts off a result file larger than this.
	MaxDownloadBytes int64
	// StallTimeout ends a download try that received nothing for this long.
	StallTimeout time.Duration
	// Sleep waits between retries; tests replace it.
	Sleep func(ctx context.Context, d time.Duration) error
	// Limiter, when set, paces every API request (creates and status reads)
	// and slows down on 429s. Result files come from other hosts and are
	// not counted.
	Limiter *RateLimiter
	// OnRetry, when set, is told about every retry before its wait.
	OnRetry func(op string, err error, wait time.Duration)
	// UserAgent is sent with every request.
	UserAgent string
}

// RetryPolicy is the backoff between retries of one request.
type RetryPolicy struct {
	Attempts int           // total tries, including the first
	Initial  time.Duration // first wait
	Max      time.Duration // longest wait
}

// NewClient returns a client for baseURL authenticating with apiKey.
func NewClient(baseURL, apiKey string) *Client {
	return &Client{
		BaseURL:          strings.TrimRight(baseURL, "/"),
		apiKey:           apiKey,
		HTTP:             &http.Client{},
		Files:            &http.Client{},
		Retry:            RetryPolicy{Attempts: 8, Initial: 500 * time.Millisecond, Max: 30 * time.Second},
		RequestTimeout:   60 * time.Second,
		MaxDownloadBytes: 2 << 30,
		StallTimeout:     time.Minute,
		Sleep:            clock.Sleep,
		UserAgent:        "apipod-batch",
	}
}

// Created is the answer to a create request.
type Created struct {
	TaskID    string
	RequestID string
	Cost      string // X-Request-Cost, as sent
	Replayed  bool   // the API replayed a stored answer for the idempotency key
}

// Task is the state of a task as the status route reports it.
type Task struct {
	ID           string
	Status       string // pending, processing, completed, failed, cancelled, or a newer value kept verbatim
	Progress     int
	Result       []string
	CompletedAt  time.Time
	ErrorCode    string
	ErrorMessage string
	RequestID    string
}

// The task statuses of the API.
const (
	StatusPending    = "pending"
	StatusProcessing = "processing"
	StatusCompleted  = "completed"
	StatusFailed     = "failed"
	StatusCancelled  = "cancelled"
)

// Done reports whether the task has reached a state it will not leave. A
// completed task without results is still finalising, so not done.
func (t *Task) Done() bool {
	switch t.Status {
	case StatusCompleted:
		return len(t.Result) > 0
	case StatusFailed, StatusCancelled:
		return true
	}
	return false
}

// Create submits a generation task. body is the JSON request; key is the
// attempt's idempotency key, reused unchanged on every retry so the API
// replays instead of creating a second task.
func (c *Client) Create(ctx context.Context, kind Kind, body []byte, key string) (*Created, error) {
	var out Created
	err := c.do(ctx, "create", func(ctx context.Context) (*http.Request, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.BaseURL+kind.CreatePath(), bytes.NewReader(body))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Content-Type", "application/json")
		if key != "" {
			req.Header.Set("Idempotency-Key", key)
		}
		return req, nil
	}, func(h http.Header, data json.RawMessage) error {
		var d struct {
			TaskID string `json:"task_id"`
		}
		if err := json.Unmarshal(data, &d); err != nil || d.TaskID == "" {
			return fmt.Errorf("answer has no task_id")
		}
		out = Created{TaskID: d.TaskID, RequestID: c.scrub(h.Get("X-Request-ID")), Cost: c.scrub(h.Get("X-Request-Cost")),
			Replayed: h.Get("X-Idempotent-Replay") == "true"}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// Status reads the state of a task.
func (c *Client) Status(ctx context.Context, kind Kind, taskID string) (*Task, error) {
	var out Task
	err := c.do(ctx, "status", func(ctx context.Context) (*http.Request, error) {
		// The id is one path segment: escaped, a "/" or "?" in it (say from a
		// hand-edited lockfile) cannot reach another route with the key.
		return http.NewRequestWithContext(ctx, http.MethodGet, c.BaseURL+kind.StatusPath(url.PathEscape(taskID)), nil)
	}, func(h http.Header, data json.RawMessage) error {
		var d struct {
			TaskID       string   `json:"task_id"`
			Status       string   `json:"status"`
			Progress     int      `json:"progress"`
			Result       []string `json:"result"`
			CompletedAt  int64    `json:"completed_at"`
			Error        string   `json:"error"`
			ErrorCode    string   `json:"error_code"`
			ErrorMessage string   `json:"error_message"`
		}
		if err := json.Unmarshal(data, &d); err != nil {
			return fmt.Errorf("decode task: %w", err)
		}
		if d.Status == "" {
			return fmt.Errorf("answer has no status")
		}
		// The text fields end up in logs and the lockfile: keep the key
		// out of them, should a broken upstream echo it.
		out = Task{ID: d.TaskID, Status: c.scrub(d.Status), Progress: d.Progress, Result: d.Result,
			ErrorCode: c.scrub(d.ErrorCode), ErrorMessage: c.scrub(d.ErrorMessage), RequestID: c.scrub(h.Get("X-Request-ID"))}
		if out.ID == "" {
			out.ID = taskID
		}
		if out.ErrorMessage == "" {
			out.ErrorMessage = c.scrub(d.Error)
		}
		if d.CompletedAt > 0 {
			out.CompletedAt = time.Unix(d.CompletedAt, 0)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// do sends a request built by build until it succeeds, fails for good or the
// retry policy runs out, and hands the envelope's data to decode.
func (c *Client) do(ctx context.Context, op string, build func(context.Context) (*http.Request, error),
	decode func(http.Header, json.RawMessage) error) error {
	b := c.backoff()
	ambiguous := false // an earlier try may have reached the API
	for try := 1; ; try++ {
		if c.Limiter != nil {
			if err := c.Limiter.Wait(ctx); err != nil {
				return err
			}
		}
		err := c.once(ctx, op, build, decode)
		c.paced(err)
		if err == nil {
			return nil
		}
		// Only an answer of this try is marked: a wrapped *APIError may be
		// another goroutine's, the cause of a cancelled context.
		if apiErr, ok := err.(*APIError); ok && ambiguous {
			apiErr.Ambiguous = true
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		wait, retry := c.retryWait(b, err)
		if !retry || try >= c.Retry.Attempts {
			return err
		}
		ambiguous = true
		if c.OnRetry != nil {
			c.OnRetry(op, err, wait)
		}
		if err := c.Sleep(ctx, wait); err != nil {
			return err
		}
	}
}

// paced tells the limiter how a request went.
func (c *Client) paced(err error) {
	if c.Limiter == nil {
		return
	}
	var apiErr *APIError
	switch {
	case err == nil:
		c.Limiter.succeeded()
	case errors.As(err, &apiErr) && apiErr.HTTPStatus == http.StatusTooManyRequests:
		c.Limiter.throttled()
	default:
		c.Limiter.done()
	}
}

func (c *Client) backoff() *backoff.ExponentialBackOff {
	b := backoff.NewExponentialBackOff()
	b.InitialInterval = c.Retry.Initial
	b.MaxInterval = c.Retry.Max
	b.MaxElapsedTime = 0
	b.Reset()
	return b
}

// retryWait decides whether err is worth another try and how long to wait:
// the server's Retry-After when the answer has one, else the backoff's next
// step.
func (c *Client) retryWait(b *backoff.ExponentialBackOff, err error) (time.Duration, bool) {
	wait := b.NextBackOff()
	var apiErr *APIError
	if errors.As(err, &apiErr) {
		if !apiErr.Retryable() {
			return 0, false
		}
		if apiErr.RetryAfter > 0 {
			wait = apiErr.RetryAfter
		}
		return wait, true
	}
	var perm *permanentError
	if errors.As(err, &perm) {
		return 0, false
	}
	// A host name that does not resolve is a mistyped APIPOD_BASE_URL or no
	// network at all: waiting will not fix it, and nothing was sent.
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) && dnsErr.IsNotFound {
		return 0, false
	}
	// Other transport errors (refused, reset, timeout, a closed
	// connection) are worth retrying: create carries its idempotency key,
	// status is a read.
	return wait, true
}

// permanentError is an answer that cannot be understood; retrying will not help.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// once sends one attempt. Its error never holds the API key.
func (c *Client) once(ctx context.Context, op string, build func(context.Context) (*http.Request, error),
	decode func(http.Header, json.RawMessage) error) error {
	return c.redact(c.attempt(ctx, op, build, decode))
}

func (c *Client) attempt(ctx context.Context, op string, build func(context.Context) (*http.Request, error),
	decode func(http.Header, json.RawMessage) error) error {
	ctx, cancel := context.WithTimeout(ctx, c.RequestTimeout)
	defer cancel()
	req, err := build(ctx)
	if err != nil {
		return &permanentError{err}
	}
	req.Header.Set("Authorization", "Bearer "+c.apiKey)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.UserAgent)
	resp, err := c.sameOrigin().Do(req)
	if errors.Is(err, errOffOrigin) || errors.Is(err, errMethodChanged) {
		return &permanentError{fmt.Errorf("%s: %w", op, err)}
	}
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxAPIBody))
	if err != nil {
		return fmt.Errorf("%s: read answer: %w", op, err)
	}
	env, apiErr := parseEnvelope(op, resp, raw)
	if apiErr != nil {
		return apiErr
	}
	if err := decode(resp.Header, env.Data); err != nil {
		return &permanentError{fmt.Errorf("%s: %w (request %s)", op, err, resp.Header.Get("X-Request-ID"))}
	}
	return nil
}

// errOffOrigin is a redirect of an API request to another scheme, host or
// port. It is not followed: net/http would forward the Authorization
// header to any host of the same domain and to another port of the same
// host, and over plain http.
var errOffOrigin = errors.New("redirect away from the API's origin refused: the API key is sent to the API only")

// errMethodChanged is a redirect that would resend a create as a GET.
var errMethodChanged = errors.New("redirect that changes the request's method refused")

// sameOrigin is c.HTTP refusing redirects that leave the origin of the
// request, and otherwise following them as c.HTTP would.
func (c *Client) sameOrigin() *http.Client {
	hc := *c.HTTP
	next := c.HTTP.CheckRedirect
	hc.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if from := via[0].URL; req.URL.Scheme != from.Scheme || req.URL.Host != from.Host {
			return fmt.Errorf("%w (to %s://%s)", errOffOrigin, req.URL.Scheme, req.URL.Host)
		}
		if via[0].Method != req.Method {
			// A 301, 302 or 303 turns a create into a GET: it would not
			// create, and its answer would say nothing of the task.
			return fmt.Errorf("%w: %s became %s", errMethodChanged, via[0].Method, req.Method)
		}
		if next != nil {
			return next(req, via)
		}
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		return nil
	}
	return &hc
}

// redact keeps the API key out of err: a server, proxy or broken gateway may
// echo the Authorization header into a message, a header or a malformed
// answer, and errors end up in logs and lockfiles.
func (c *Client) redact(err error) error {
	if err == nil {
		return err
	}
	// Only an *APIError this attempt made is edited in place: a transport
	// error may wrap the cause of a cancelled context, an error another
	// goroutine owns.
	if apiErr, ok := err.(*APIError); ok {
		apiErr.Code = c.scrub(apiErr.Code)
		apiErr.Message = c.scrub(apiErr.Message)
		apiErr.RequestID = c.scrub(apiErr.RequestID)
	}
	if c.apiKey != "" && strings.Contains(err.Error(), c.apiKey) {
		return &redactedError{err: err, key: c.apiKey}
	}
	return err
}

func redactKey(s, key string) string { return strings.ReplaceAll(s, key, "[redacted]") }

// scrub makes text from the API safe to log and show: the API key is
// redacted, and control characters (terminal escape sequences, line breaks
// that would forge log lines) become spaces.
func (c *Client) scrub(s string) string {
	if c.apiKey != "" {
		s = redactKey(s, c.apiKey)
	}
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
}

// redactedError is an error whose text held the API key; it still unwraps
// to the original for errors.Is and errors.As.
type redactedError struct {
	err error
	key string
}

func (e *redactedError) Error() string { return redactKey(e.err.Error(), e.key) }
func (e *redactedError) Unwrap() error { return e.err }

type envelope struct {
	Code    *int            `json:"code"`
	Message string          `json:"message"`
	Data    json.RawMessage `json:"data"`
	Error   *struct {
		Message string `json:"message"`
		Code    any    `json:"code"`
	} `json:"error"`
}

// parseEnvelope normalises both error envelopes of the API into *APIError:
// the machine code comes from error.code, then data.error_code.
func parseEnvelope(op string, resp *http.Response, raw []byte) (*envelope, *APIError) {
	var env envelope
	jsonErr := json.Unmarshal(raw, &env)
	status := resp.StatusCode
	if status == http.StatusOK && jsonErr == nil && (env.Code == nil || *env.Code == 200) && env.Error == nil {
		return &env, nil
	}
	e := &APIError{Op: op, HTTPStatus: status, RequestID: resp.Header.Get("X-Request-ID"),
		RetryAfter: parseRetryAfter(resp.Header.Get("Retry-After"))}
	if status == http.StatusOK && env.Code != nil {
		e.HTTPStatus = *env.Code
	}
	if jsonErr != nil {
		e.Message = strings.TrimSpace(http.StatusText(status))
		if status == http.StatusOK {
			e.HTTPStatus = http.StatusBadGateway
			e.Message = "answer is not JSON"
		}
		return nil, e
	}
	e.Message = env.Message
	if env.Error != nil {
		e.Message = env.Error.Message
		if s, ok := env.Error.Code.(string); ok {
			e.Code = s
		}
	}
	if e.Code == "" && len(env.Data) > 0 {
		var d struct {
			ErrorCode string `json:"error_code"`
		}
		if json.Unmarshal(env.Data, &d) == nil {
			e.Code = d.ErrorCode
		}
	}
	return nil, e
}

// parseRetryAfter reads delta-seconds (decimals accepted) or an HTTP date.
func parseRetryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	var d time.Duration
	if secs, err := strconv.ParseFloat(v, 64); err == nil && secs >= 0 && !math.IsNaN(secs) {
		d = time.Duration(min(secs, maxRetryAfter.Seconds()) * float64(time.Second))
	} else if t, err := http.ParseTime(v); err == nil {
		d = time.Until(t)
	}
	return max(0, min(d, maxRetryAfter))
}
