package apipod_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

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
