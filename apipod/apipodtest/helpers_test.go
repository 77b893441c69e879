package apipodtest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/apipod/apipod-batch/apipod"
	"github.com/apipod/apipod-batch/internal/clock"
)

const key = "sk-sandbox"

// answer is a decoded HTTP answer.
type answer struct {
	status int
	header http.Header
	raw    []byte
	body   map[string]any
}

// str walks a decoded JSON body by keys, returning "" when absent.
func (a answer) str(path ...string) string {
	var v any = a.body
	for _, p := range path {
		m, _ := v.(map[string]any)
		v = m[p]
	}
	s, _ := v.(string)
	return s
}

func (a answer) data() map[string]any {
	d, _ := a.body["data"].(map[string]any)
	return d
}

// send makes a request; body is marshalled unless it is a string. A
// transport error is returned, not fatal.
func send(t *testing.T, method, url, apiKey string, body any, hdr map[string]string) (answer, error) {
	t.Helper()
	return sendWith(t, http.DefaultClient, method, url, apiKey, body, hdr)
}

// sendWith is send through client c.
func sendWith(t *testing.T, c *http.Client, method, url, apiKey string, body any, hdr map[string]string) (answer, error) {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = bytes.NewBufferString(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if apiKey != "" {
		req.Header.Set("Authorization", "Bearer "+apiKey)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode, header: resp.Header, raw: raw}
	if err != nil {
		return a, err
	}
	_ = json.Unmarshal(raw, &a.body)
	return a, nil
}

// must is send that fails the test on a transport error.
func must(t *testing.T, method, url, apiKey string, body any, hdr map[string]string) answer {
	t.Helper()
	a, err := send(t, method, url, apiKey, body, hdr)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	return a
}

func create(t *testing.T, s *Server, kind apipod.Kind, body map[string]any, idemKey string) answer {
	t.Helper()
	var hdr map[string]string
	if idemKey != "" {
		hdr = map[string]string{"Idempotency-Key": idemKey}
	}
	return must(t, "POST", s.URL+kind.CreatePath(), key, body, hdr)
}

func status(t *testing.T, s *Server, kind apipod.Kind, id string) answer {
	t.Helper()
	return must(t, "GET", s.URL+kind.StatusPath(id), key, nil, nil)
}

func imageBody(prompt string) map[string]any {
	return map[string]any{"model": "nano-banana-2", "prompt": prompt, "aspect_ratio": "16:9"}
}

func newClock() *clock.Manual { return clock.NewManual(time.Unix(1786358400, 0)) }

func newServer(t *testing.T, opts Options) *Server {
	t.Helper()
	s := NewServer(opts)
	t.Cleanup(s.Close)
	return s
}
