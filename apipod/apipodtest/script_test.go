package apipodtest

import (
	"net/http"
	"testing"

	"github.com/apipod/apipod-batch/apipod"
)

func TestScriptAndModes(t *testing.T) {
	tests := []struct {
		name  string
		opts  Options
		check func(t *testing.T, s *Server)
	}{
		{"script answers a status read, then lets the fake answer", Options{
			Duration: Fixed(0),
			Script: func(r *http.Request) *Reply {
				if r.Method == http.MethodGet && r.Header.Get("X-Test") == "odd" {
					return EnvelopeReply(http.StatusOK, http.StatusOK, "success",
						map[string]any{"task_id": r.PathValue("task_id"), "status": "queued_for_review"})
				}
				return nil
			},
		}, func(t *testing.T, s *Server) {
			id := create(t, s, apipod.KindImage, imageBody("x"), "k").str("data", "task_id")
			a := must(t, "GET", s.URL+apipod.KindImage.StatusPath(id), key, nil, map[string]string{"X-Test": "odd"})
			if a.status != 200 || a.data()["status"] != "queued_for_review" || a.data()["task_id"] != id {
				t.Fatalf("scripted answer %d %s", a.status, a.raw)
			}
			if a := status(t, s, apipod.KindImage, id); a.data()["status"] != "completed" {
				t.Fatalf("fake answer %s", a.raw)
			}
			if st := s.Stats(); st.FaultsInjected["scripted"] != 1 {
				t.Fatalf("faults %v", st.FaultsInjected)
			}
		}},
		{"script replies with headers and an HTTP 200 that is an error", Options{
			Script: func(r *http.Request) *Reply {
				rep := EnvelopeReply(http.StatusOK, http.StatusPaymentRequired, "Insufficient quota", map[string]string{"error_code": "insufficient_quota"})
				rep.Header = http.Header{"Retry-After": {"3"}}
				return rep
			},
		}, func(t *testing.T, s *Server) {
			a := create(t, s, apipod.KindImage, imageBody("x"), "k")
			if a.status != 200 || a.body["code"] != float64(402) || a.header.Get("Retry-After") != "3" || s.Stats().TasksCreated != 0 {
				t.Fatalf("scripted answer %d %v %s", a.status, a.header, a.raw)
			}
		}},
		{"out of balance refuses new tasks but replays stored answers", Options{}, func(t *testing.T, s *Server) {
			first := create(t, s, apipod.KindImage, imageBody("x"), "k1")
			s.SetFaults(Faults{OutOfBalance: true})
			if a := create(t, s, apipod.KindImage, imageBody("y"), "k2"); a.status != http.StatusPaymentRequired || a.data()["error_code"] != "insufficient_quota" {
				t.Fatalf("new task: %d %s", a.status, a.raw)
			}
			if a := create(t, s, apipod.KindImage, imageBody("x"), "k1"); a.status != 200 || a.str("data", "task_id") != first.str("data", "task_id") {
				t.Fatalf("replay: %d %s", a.status, a.raw)
			}
			s.SetFaults(Faults{})
			// The refused key was not spent: the same key works once there is balance.
			if a := create(t, s, apipod.KindImage, imageBody("y"), "k2"); a.status != 200 {
				t.Fatalf("after top-up: %d %s", a.status, a.raw)
			}
			if st := s.Stats(); st.TasksCreated != 2 || st.FaultsInjected["out_of_balance"] != 1 {
				t.Fatalf("stats %+v", st)
			}
		}},
		{"a forgotten task answers 404", Options{Faults: Faults{ForgetTask: 1}}, func(t *testing.T, s *Server) {
			id := create(t, s, apipod.KindVideo, map[string]any{"model": "veo3-1-fast", "prompt": "p"}, "k").str("data", "task_id")
			if a := status(t, s, apipod.KindVideo, id); a.status != http.StatusNotFound || a.data()["error_code"] != "task_not_found" {
				t.Fatalf("status %d %s", a.status, a.raw)
			}
			if st := s.Stats(); st.TasksCreated != 1 || st.FaultsInjected["forget_task"] != 1 {
				t.Fatalf("stats %+v", st)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.check(t, newServer(t, tt.opts))
		})
	}
}
