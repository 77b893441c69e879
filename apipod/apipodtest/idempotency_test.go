package apipodtest

import (
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/apipod/apipod-batch/apipod"
)

func TestIdempotency(t *testing.T) {
	tests := []struct {
		name      string
		kind      apipod.Kind
		body      any // a string is sent verbatim
		key       string
		status    int
		code      string // data.error_code of a failure
		replay    bool
		sameTask  bool
		tasks     int // TasksCreated after the request
		tasksBody int // tasks of the canonical first body after the request
	}{
		{"first use", apipod.KindImage, imageBody("mug"), "k1", 200, "", false, true, 1, 1},
		{"same body replays", apipod.KindImage, imageBody("mug"), "k1", 200, "", true, true, 1, 1},
		{"equivalent JSON replays", apipod.KindImage,
			` { "prompt":"mug", "aspect_ratio":"16:9",  "model":"nano-banana-2" }`, "k1", 200, "", true, true, 1, 1},
		{"other body conflicts", apipod.KindImage, imageBody("cup"), "k1", 409, "idempotency_conflict", false, false, 1, 1},
		{"key is scoped to the route", apipod.KindVideo,
			map[string]any{"model": "veo3-1-fast", "prompt": "mug"}, "k1", 200, "", false, false, 2, 1},
		{"other key makes a task", apipod.KindImage, imageBody("mug"), "k2", 200, "", false, false, 3, 2},
		{"no key makes a task", apipod.KindImage, imageBody("mug"), "", 200, "", false, false, 4, 3},
		{"no key again makes another", apipod.KindImage, imageBody("mug"), "", 200, "", false, false, 5, 4},
	}
	s := newServer(t, Options{})
	canon := `{"aspect_ratio":"16:9","model":"nano-banana-2","prompt":"mug"}`
	var first string
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hdr := map[string]string{}
			if tt.key != "" {
				hdr["Idempotency-Key"] = tt.key
			}
			a := must(t, "POST", s.URL+tt.kind.CreatePath(), key, tt.body, hdr)
			if a.status != tt.status {
				t.Fatalf("got %d %s, want %d", a.status, a.raw, tt.status)
			}
			if got := a.data()["error_code"]; tt.code != "" && got != tt.code {
				t.Errorf("error_code %v, want %s", got, tt.code)
			}
			if got := a.header.Get("X-Idempotent-Replay") == "true"; got != tt.replay {
				t.Errorf("X-Idempotent-Replay %v, want %v", got, tt.replay)
			}
			id := a.str("data", "task_id")
			if first == "" {
				first = id
			}
			if tt.status == 200 && (id == first) != tt.sameTask {
				t.Errorf("task %s, first %s, same want %v", id, first, tt.sameTask)
			}
			if tt.status == 200 && a.header.Get("X-Request-Cost") == "" {
				t.Error("no X-Request-Cost")
			}
			if got := s.Stats().TasksCreated; got != tt.tasks {
				t.Errorf("TasksCreated %d, want %d", got, tt.tasks)
			}
			if got := s.TasksPerBody()[canon]; got != tt.tasksBody {
				t.Errorf("TasksPerBody %d, want %d: %v", got, tt.tasksBody, s.TasksPerBody())
			}
		})
	}
	if st := s.Stats(); st.Replays != 2 || st.Creates != len(tests) {
		t.Fatalf("stats %+v", st)
	}
}

func TestIdempotencyRejectedFirstUse(t *testing.T) {
	s := newServer(t, Options{})
	bad := map[string]any{"model": "nano-banana-2", "prompt": "p", "aspect_ratio": "7:3"}
	if a := create(t, s, apipod.KindImage, bad, "k"); a.status != 400 {
		t.Fatalf("got %d", a.status)
	}
	// A rejected request does not hold on to its key.
	if a := create(t, s, apipod.KindImage, imageBody("p"), "k"); a.status != 200 || a.header.Get("X-Idempotent-Replay") != "" {
		t.Fatalf("got %d %s", a.status, a.raw)
	}
}

func TestIdempotencyInProgress(t *testing.T) {
	s := newServer(t, Options{Faults: Faults{SlowAnswer: 1, SlowDelay: 300 * time.Millisecond}})
	var wg sync.WaitGroup
	var slow answer
	wg.Go(func() { slow = create(t, s, apipod.KindImage, imageBody("p"), "k") })
	for s.Stats().TasksCreated == 0 {
		time.Sleep(time.Millisecond)
	}
	s.SetFaults(Faults{RetryAfter: "0.05"})
	a := create(t, s, apipod.KindImage, imageBody("p"), "k")
	if a.status != http.StatusConflict || a.data()["error_code"] != "idempotency_in_progress" || a.header.Get("Retry-After") != "0.05" {
		t.Fatalf("got %d %v %s", a.status, a.header, a.raw)
	}
	wg.Wait()
	if slow.status != 200 {
		t.Fatalf("slow create: %d %s", slow.status, slow.raw)
	}
	a = create(t, s, apipod.KindImage, imageBody("p"), "k")
	if a.status != 200 || a.str("data", "task_id") != slow.str("data", "task_id") || a.header.Get("X-Idempotent-Replay") != "true" {
		t.Fatalf("replay: %d %s, want task %s", a.status, a.raw, slow.str("data", "task_id"))
	}
	if st := s.Stats(); st.TasksCreated != 1 || st.FaultsInjected["slow"] != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestLostCreate(t *testing.T) {
	tests := []struct {
		fault     string
		transport bool // the client sees a transport error rather than a 502
	}{
		{"lost_create_502", false},
		{"lost_create_close", true},
	}
	for _, tt := range tests {
		t.Run(tt.fault, func(t *testing.T) {
			s := newServer(t, Options{Faults: Faults{LostCreate: 1}, Seed: 1})
			// The variant is a coin toss: create until this one comes up.
			for i := 0; s.Stats().FaultsInjected[tt.fault] == 0; i++ {
				if i == 50 {
					t.Fatal("variant never injected")
				}
				s.SetFaults(Faults{LostCreate: 1})
				before := s.Stats().FaultsInjected[tt.fault]
				k := "k" + string(rune('a'+i))
				a, err := send(t, "POST", s.URL+"/v1/images/generations", key, imageBody(k), map[string]string{"Idempotency-Key": k})
				if s.Stats().FaultsInjected[tt.fault] == before {
					continue
				}
				if tt.transport && err == nil {
					t.Fatalf("want a transport error, got %d %s", a.status, a.raw)
				}
				if !tt.transport && (err != nil || a.status != http.StatusBadGateway) {
					t.Fatalf("want 502, got %d %v", a.status, err)
				}
				created := s.Stats().TasksCreated
				s.SetFaults(Faults{})
				r := create(t, s, apipod.KindImage, imageBody(k), k)
				id := r.str("data", "task_id")
				if r.status != 200 || r.header.Get("X-Idempotent-Replay") != "true" || s.Stats().TasksCreated != created {
					t.Fatalf("replay: %d %s, tasks %d -> %d", r.status, r.raw, created, s.Stats().TasksCreated)
				}
				if st := status(t, s, apipod.KindImage, id); st.status != 200 {
					t.Fatalf("status of replayed task: %d %s", st.status, st.raw)
				}
			}
		})
	}
}
