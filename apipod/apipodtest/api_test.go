package apipodtest

import (
	"net/http"
	"strings"
	"testing"

	"github.com/apipod/apipod-batch/apipod"
)

func TestAuthFailure(t *testing.T) {
	s := newServer(t, Options{})
	const want = `{"error":{"message":"Authentication required. Please provide a valid API key or sign in.","type":"invalid_request_error","code":"invalid_api_key"}}`
	tests := []struct {
		name, auth string
	}{
		{"missing", ""},
		{"wrong key", "Bearer sk-wrong"},
		{"not bearer", "Basic c2stc2FuZGJveA=="},
		{"bare key", "sk-sandbox"},
	}
	seen := map[string]bool{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := must(t, "POST", s.URL+"/v1/images/generations", "", imageBody("x"), map[string]string{"Authorization": tt.auth})
			if a.status != http.StatusUnauthorized || string(a.raw) != want {
				t.Fatalf("got %d %s, want 401 %s", a.status, a.raw, want)
			}
			id := a.header.Get("X-Request-ID")
			if !strings.HasPrefix(id, "req_") || seen[id] {
				t.Fatalf("X-Request-ID %q is missing or repeated", id)
			}
			seen[id] = true
		})
	}
	if st := s.Stats(); st.Unauthorized != len(tests) || st.TasksCreated != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestCreateRejections(t *testing.T) {
	s := newServer(t, Options{})
	tests := []struct {
		name     string
		kind     apipod.Kind
		body     any
		hdr      map[string]string
		status   int
		code     string
		inReason string
	}{
		{"bad aspect ratio", apipod.KindImage,
			map[string]any{"model": "nano-banana-2", "prompt": "p", "aspect_ratio": "7:3"},
			nil, 400, "invalid_request", `aspect_ratio: "7:3" is not allowed`},
		{"unknown parameter", apipod.KindImage,
			map[string]any{"model": "seedream-v4.5", "prompt": "p", "n": 2},
			nil, 400, "invalid_request", "n: is not a parameter"},
		{"missing prompt", apipod.KindImage,
			map[string]any{"model": "nano-banana-2"}, nil, 400, "invalid_request", "prompt"},
		{"invalid JSON", apipod.KindImage, `{"model":`, nil, 400, "invalid_request", "JSON object"},
		{"JSON array", apipod.KindImage, `[1,2]`, nil, 400, "invalid_request", "JSON object"},
		{"missing model", apipod.KindImage, map[string]any{"prompt": "p"}, nil, 400, "invalid_request", "model is required"},
		{"unknown model", apipod.KindImage, map[string]any{"model": "dall-e-9", "prompt": "p"}, nil, 404, "model_not_available", "dall-e-9"},
		{"video model on image route", apipod.KindImage,
			map[string]any{"model": "veo3-1-fast", "prompt": "p"}, nil, 400, "invalid_request", "/v1/videos/generations"},
		{"image model on video route", apipod.KindVideo, imageBody("p"), nil, 400, "invalid_request", "/v1/images/generations"},
		{"unresolved reference", apipod.KindImage,
			map[string]any{"model": "nano-banana-2", "prompt": "p", "image_urls": []string{"${jobs.a.result[0]}"}},
			nil, 400, "invalid_request", "unresolved reference"},
		{"idempotency key too long", apipod.KindImage, imageBody("p"),
			map[string]string{"Idempotency-Key": strings.Repeat("k", 256)}, 400, "invalid_idempotency_key", "255"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := must(t, "POST", s.URL+tt.kind.CreatePath(), key, tt.body, tt.hdr)
			if a.status != tt.status || a.body["code"] != float64(tt.status) {
				t.Fatalf("got %d %s, want %d", a.status, a.raw, tt.status)
			}
			if got := a.data()["error_code"]; got != tt.code {
				t.Errorf("error_code %v, want %s", got, tt.code)
			}
			if msg := a.str("message"); !strings.Contains(msg, tt.inReason) {
				t.Errorf("message %q lacks %q", msg, tt.inReason)
			}
			if a.header.Get("X-Request-ID") == "" {
				t.Error("no X-Request-ID")
			}
		})
	}
	if st := s.Stats(); st.TasksCreated != 0 {
		t.Fatalf("rejected requests created %d tasks", st.TasksCreated)
	}
	a := create(t, s, apipod.KindImage, imageBody("p"), strings.Repeat("k", 255))
	if a.status != 200 {
		t.Fatalf("255-character key: %d %s", a.status, a.raw)
	}
}

func TestStatusNotFound(t *testing.T) {
	s := newServer(t, Options{})
	const want = `{"code":404,"message":"task not found","data":{"error_code":"task_not_found"}}`
	img := create(t, s, apipod.KindImage, imageBody("p"), "").str("data", "task_id")
	tests := []struct {
		name string
		kind apipod.Kind
		id   string
	}{
		{"unknown task", apipod.KindImage, "img_nope"},
		{"image task on video route", apipod.KindVideo, img},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := status(t, s, tt.kind, tt.id)
			if a.status != 404 || string(a.raw) != want {
				t.Fatalf("got %d %s, want 404 %s", a.status, a.raw, want)
			}
		})
	}
}

func TestRequestFaults(t *testing.T) {
	tests := []struct {
		name   string
		faults Faults
		fault  string
		check  func(t *testing.T, a answer)
	}{
		{"rate limit", Faults{RateLimit: 1, RetryAfter: "0.02"}, "rate_limit", func(t *testing.T, a answer) {
			if a.status != 429 || a.header.Get("Retry-After") != "0.02" ||
				a.data()["error_code"] != "rate_limit_exceeded" || a.data()["type"] != "rate_limit_error" {
				t.Fatalf("got %d %v %s", a.status, a.header, a.raw)
			}
		}},
		{"rate limit default Retry-After", Faults{RateLimit: 1}, "rate_limit", func(t *testing.T, a answer) {
			if a.status != 429 || a.header.Get("Retry-After") != "1" {
				t.Fatalf("got %d %v", a.status, a.header)
			}
		}},
		{"server error", Faults{ServerError: 1}, "server_error", func(t *testing.T, a answer) {
			if a.status < 500 || a.status > 504 || a.status == 501 {
				t.Fatalf("got %d", a.status)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t, Options{Faults: tt.faults})
			for range 8 {
				tt.check(t, create(t, s, apipod.KindImage, imageBody("p"), "k"))
				tt.check(t, status(t, s, apipod.KindImage, "img_x"))
			}
			st := s.Stats()
			if st.FaultsInjected[tt.fault] != 16 || st.TasksCreated != 0 || st.Creates != 0 {
				t.Fatalf("stats %+v", st)
			}
		})
	}
}

func TestSeedIsDeterministic(t *testing.T) {
	run := func(seed int64) string {
		s := newServer(t, Options{Seed: seed, Faults: Faults{RateLimit: 0.3, ServerError: 0.2}})
		var b strings.Builder
		for range 40 {
			b.WriteString(http.StatusText(create(t, s, apipod.KindImage, imageBody("p"), "").status))
		}
		return b.String()
	}
	if a, b := run(3), run(3); a != b {
		t.Fatalf("same seed, different faults:\n%s\n%s", a, b)
	}
	if a, b := run(3), run(4); a == b {
		t.Fatal("different seeds, same faults")
	}
}
