package apipod

import (
	"errors"
	"fmt"
	"net/http"
	"time"
)

// APIError is a failed API request: an HTTP error status, or HTTP 200 with
// an envelope whose code is not 200.
type APIError struct {
	Op         string // "create" or "status"
	HTTPStatus int
	Code       string // machine code: error.code, else data.error_code
	Message    string
	RequestID  string // X-Request-ID of the answer
	RetryAfter time.Duration
	// Ambiguous says an earlier try of the same request failed in a way
	// that proves nothing (a 5xx, a 429, a lost connection): it may have
	// reached the API and, for a create, made a task.
	Ambiguous bool
}

func (e *APIError) Error() string {
	s := fmt.Sprintf("%s: HTTP %d", e.Op, e.HTTPStatus)
	if e.Code != "" {
		s += " " + e.Code
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.RequestID != "" {
		s += " (request " + e.RequestID + ")"
	}
	return s
}

// Hint says what the user should do about the error, or "" when the error
// speaks for itself.
func (e *APIError) Hint() string {
	switch {
	case e.HTTPStatus == http.StatusUnauthorized || e.Code == "invalid_api_key":
		return "check APIPOD_API_KEY: it is missing, mistyped, revoked or not allowed for this model"
	case e.HTTPStatus == http.StatusPaymentRequired || e.Code == "insufficient_quota":
		return "add balance or raise the account's limits in the APIPod console, then apply again"
	case e.HTTPStatus == http.StatusForbidden:
		return "the account or key may not use this model or route; review its permissions in the APIPod console"
	case e.Code == "idempotency_conflict":
		return "an idempotency key was reused with another body; this is a bug in apipod-batch, please report it"
	case e.HTTPStatus == http.StatusTooManyRequests:
		return "the account's rate limit was hit; lower --parallelism or try again later"
	}
	return ""
}

// Retryable reports whether the same request may be sent again unchanged.
func (e *APIError) Retryable() bool {
	switch {
	case e.Code == "idempotency_in_progress":
		return true
	case e.HTTPStatus == http.StatusTooManyRequests:
		return true
	case e.HTTPStatus >= 500:
		return true
	}
	return false
}

// Fatal reports whether no further request can succeed with this key, so a
// batch should stop at once (401).
func (e *APIError) Fatal() bool {
	return e.HTTPStatus == http.StatusUnauthorized || e.Code == "invalid_api_key"
}

// OutOfBalance reports whether the account cannot pay for new tasks (402);
// tasks already running still finish.
func (e *APIError) OutOfBalance() bool {
	return e.HTTPStatus == http.StatusPaymentRequired || e.Code == "insufficient_quota"
}

// NotFound reports a 404: an unknown task or model.
func (e *APIError) NotFound() bool { return e.HTTPStatus == http.StatusNotFound }

// DownloadError is a result file that could not be fetched.
type DownloadError struct {
	URL        string
	HTTPStatus int  // 0 for transport and integrity failures
	Expired    bool // 403 or 404: the URL no longer serves the file; regenerate
	Err        error
}

func (e *DownloadError) Error() string {
	switch {
	case e.Expired:
		return fmt.Sprintf("download %s: HTTP %d: the result URL has expired", e.URL, e.HTTPStatus)
	case e.HTTPStatus != 0:
		return fmt.Sprintf("download %s: HTTP %d", e.URL, e.HTTPStatus)
	}
	return fmt.Sprintf("download %s: %v", e.URL, e.Err)
}

func (e *DownloadError) Unwrap() error { return e.Err }

// errTooLarge marks a file past the download size limit; it is not retried.
var errTooLarge = errors.New("file is larger than the download limit")

// errTruncated marks a body shorter than its Content-Length; it is retried.
var errTruncated = errors.New("transfer ended before Content-Length bytes")
