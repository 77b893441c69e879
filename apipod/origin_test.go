package apipod_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apipod/apipod-batch/apipod"
)

// TestKeyStaysWithTheAPI proves API requests carry the key to the API's
// origin only: a redirect to another host or port is refused, not
// followed, while one on the same origin still works.
func TestKeyStaysWithTheAPI(t *testing.T) {
	var mu sync.Mutex
	var elsewhere []string // Authorization headers that reached the other server
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		elsewhere = append(elsewhere, r.Header.Get("Authorization"))
		mu.Unlock()
		answer(http.StatusOK, okBody)(w, r)
	}))
	defer other.Close()
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasPrefix(r.URL.Path, "/moved/"):
			http.Redirect(w, r, strings.TrimPrefix(r.URL.Path, "/moved"), http.StatusTemporaryRedirect)
		case strings.HasPrefix(r.URL.Path, "/away/"):
			http.Redirect(w, r, other.URL+strings.TrimPrefix(r.URL.Path, "/away"), http.StatusTemporaryRedirect)
		default:
			answer(http.StatusOK, okBody)(w, r)
		}
	}))
	defer api.Close()

	tests := []struct {
		name   string
		base   string
		status bool // Status instead of Create
		ok     bool
	}{
		{"create redirected to another port", api.URL + "/away", false, false},
		{"status redirected to another port", api.URL + "/away", true, false},
		{"redirect on the same origin", api.URL + "/moved", true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mu.Lock()
			elsewhere = nil
			mu.Unlock()
			c, w := newClient(tt.base)
			var err error
			if tt.status {
				_, err = c.Status(context.Background(), apipod.KindImage, "t1")
			} else {
				_, err = c.Create(context.Background(), apipod.KindImage, []byte(`{"model":"nano-banana-2","prompt":"p"}`), "k1")
			}
			if (err == nil) != tt.ok {
				t.Fatalf("err = %v, want success %v", err, tt.ok)
			}
			checkNoKey(t, err)
			if !tt.ok && (!strings.Contains(err.Error(), "redirect") || len(w.all()) != 0) {
				t.Errorf("err = %v after %d retries, want a refused redirect, not retried", err, len(w.all()))
			}
			mu.Lock()
			defer mu.Unlock()
			if len(elsewhere) != 0 {
				t.Fatalf("requests reached the other server with Authorization %q", elsewhere)
			}
		})
	}
}

// TestCreateRedirectKeepsItsMethod refuses a 302 on a create, which net/http
// would follow as a GET, and follows a 307, which resends the POST with its
// body and idempotency key.
func TestCreateRedirectKeepsItsMethod(t *testing.T) {
	for _, tt := range []struct {
		status int
		ok     bool
	}{{http.StatusFound, false}, {http.StatusSeeOther, false}, {http.StatusTemporaryRedirect, true}} {
		var gotKey, gotBody string
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/v1/images/generations" {
				http.Redirect(w, r, "/moved", tt.status)
				return
			}
			if r.Method != http.MethodPost {
				t.Errorf("create arrived as %s", r.Method)
			}
			b, _ := io.ReadAll(r.Body)
			gotKey, gotBody = r.Header.Get("Idempotency-Key"), string(b)
			w.Write([]byte(`{"code":200,"message":"success","data":{"task_id":"t1"}}`))
		}))
		c := apipod.NewClient(srv.URL, "sk-test")
		c.Retry.Attempts = 1
		created, err := c.Create(context.Background(), apipod.KindImage, []byte(`{"model":"m"}`), "key-1")
		srv.Close()
		if tt.ok {
			if err != nil || created.TaskID != "t1" || gotKey != "key-1" || gotBody != `{"model":"m"}` {
				t.Fatalf("%d: %v, key %q, body %q", tt.status, err, gotKey, gotBody)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), "changes the request's method") {
			t.Fatalf("%d: err = %v, want the redirect refused", tt.status, err)
		}
	}
}

// TestAnswersAreScrubbed keeps terminal escape sequences and line breaks
// from the API out of errors and task messages, which reach terminals,
// logs and the lockfile.
func TestAnswersAreScrubbed(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			w.WriteHeader(http.StatusBadRequest)
			w.Write([]byte(`{"code":400,"message":"bad\u001b[2J\nINFO forged line","data":{"error_code":"x\u0007"}}`))
			return
		}
		w.Write([]byte(`{"code":200,"message":"success","data":{"task_id":"t","status":"failed","error_message":"boom\u001b]0;title\u0007\r\nmore"}}`))
	}))
	defer srv.Close()
	c := apipod.NewClient(srv.URL, "sk-test")
	c.Retry.Attempts = 1
	_, err := c.Create(context.Background(), apipod.KindImage, []byte(`{}`), "k")
	task, serr := c.Status(context.Background(), apipod.KindImage, "t")
	if serr != nil {
		t.Fatal(serr)
	}
	for _, s := range []string{err.Error(), task.ErrorMessage} {
		if strings.ContainsAny(s, "\x1b\n\r\a") {
			t.Errorf("control characters reached %q", s)
		}
	}
}

// TestUnknownHostFailsAtOnce: a base URL whose host does not resolve (a
// typo, no network) is not retried; nothing could have been sent.
func TestUnknownHostFailsAtOnce(t *testing.T) {
	c := apipod.NewClient("http://api.invalid", "sk-test")
	retries := 0
	c.OnRetry = func(string, error, time.Duration) { retries++ }
	_, err := c.Create(context.Background(), apipod.KindImage, []byte(`{}`), "k")
	var dnsErr *net.DNSError
	if !errors.As(err, &dnsErr) {
		t.Skipf("this machine's resolver answered %v", err)
	}
	if retries != 0 {
		t.Fatalf("%d retries of a host that does not resolve", retries)
	}
}
