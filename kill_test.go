package main

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/apipod/apipod-batch/apipod"
	"github.com/apipod/apipod-batch/apipod/apipodtest"
	"github.com/apipod/apipod-batch/lockfile"
)

// child runs the test binary as apipod-batch against the fake API.
func child(t *testing.T, srv *apipodtest.Server, dir string, args ...string) *exec.Cmd {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), asMainEnv+"=1", "APIPOD_BASE_URL="+srv.URL, "APIPOD_API_KEY="+fakeTestKey)
	return cmd
}

func writeManifest(t *testing.T, jobs int) string {
	t.Helper()
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("version: 1\nsettings:\n  parallelism: 8\n  retries: 6\n  poll: {initial: 20ms, max: 100ms}\njobs:\n")
	models := []string{"nano-banana-2", "seedream-v4.5", "veo3-1-fast"}
	for i := range jobs {
		fmt.Fprintf(&b, "  j%03d:\n    model: %s\n    prompt: \"crash test %d\"\n", i, models[i%len(models)], i)
	}
	if err := os.WriteFile(filepath.Join(dir, "jobs.yaml"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// crashServer is a fake API with the given faults; with failed tasks, lost
// create answers and cut downloads, kills land amid retries of every kind.
func crashServer(t *testing.T, faults apipodtest.Faults) *apipodtest.Server {
	srv := apipodtest.NewServer(apipodtest.Options{
		APIKey: fakeTestKey, Seed: 3, Faults: faults,
		Duration: func(_ string, kind apipod.Kind, body map[string]any) time.Duration {
			return time.Duration(50+len(fmt.Sprint(body["prompt"]))*13%250) * time.Millisecond
		},
	})
	t.Cleanup(srv.Close)
	return srv
}

// TestKillAndRerun kills a real apply process with SIGKILL at random
// instants, checks the lockfile after each kill, and reruns until done:
// every job ends with the bytes served, the server made exactly one task
// per recorded attempt (with no failed tasks: one per job), and nothing
// partial is left. With -tags long the faulty run has 300 jobs and 20 kills.
func TestKillAndRerun(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	tests := []struct {
		name        string
		faults      apipodtest.Faults
		jobs, kills int
	}{
		{"no faults: one task per job", apipodtest.Faults{}, 30, 4},
		{"amid faults: one task per attempt", apipodtest.Faults{FailTask: 0.1, LostCreate: 0.1, TruncateDownload: 0.05}, 60, 6},
	}
	if long {
		tests[1].jobs, tests[1].kills = 300, 20
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			killAndRerun(t, crashServer(t, tt.faults), tt.jobs, tt.kills)
		})
	}
}

func killAndRerun(t *testing.T, srv *apipodtest.Server, jobs, kills int) {
	dir := writeManifest(t, jobs)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range kills {
		cmd := child(t, srv, dir, "apply", "jobs.yaml")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(80+rng.IntN(300)) * time.Millisecond)
		_ = cmd.Process.Signal(syscall.SIGKILL)
		_ = cmd.Wait()
		if _, err := lockfile.Load(filepath.Join(dir, "jobs.lock")); err != nil {
			t.Fatalf("after kill %d: %v", i+1, err)
		}
	}
	out, err := child(t, srv, dir, "apply", "jobs.yaml").CombinedOutput()
	if err != nil {
		t.Fatalf("final apply: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), fmt.Sprintf("Total: %d jobs", jobs)) || strings.Contains(string(out), "failed      ") {
		t.Fatalf("final apply output:\n%s", out)
	}
	st := srv.Stats()
	if per := srv.TasksPerBody(); len(per) != jobs {
		t.Fatalf("tasks for %d bodies, want %d", len(per), jobs)
	}
	f, err := lockfile.Load(filepath.Join(dir, "jobs.lock"))
	if err != nil {
		t.Fatal(err)
	}
	attempts := 0
	for id, j := range f.Jobs {
		if len(j.Outputs) != 1 || len(j.Results) != 1 {
			t.Fatalf("job %s: outputs %+v", id, j.Outputs)
		}
		if served, ok := srv.Served(j.Results[0]); !ok || served != j.Outputs[0].SHA256 || fileSHA(t, filepath.Join(dir, j.Outputs[0].Path)) != served {
			t.Fatalf("job %s: output %s is not what was served", id, j.Outputs[0].Path)
		}
		for _, a := range j.Attempts {
			if a.TaskID != "" {
				attempts++
			}
		}
	}
	if attempts != st.TasksCreated {
		t.Fatalf("%d attempts with a task recorded, %d tasks made: a killed run was paid twice", attempts, st.TasksCreated)
	}
	if st.FaultsInjected["fail_task"] == 0 && st.TasksCreated != jobs {
		t.Fatalf("%d tasks for %d jobs and no failed task", st.TasksCreated, jobs)
	}
	assertNoPartials(t, dir)
	t.Logf("%d jobs, %d kills: %d create requests, %d tasks for %d attempts, %d replays, faults %v, %d outputs verified",
		jobs, kills, st.Creates, st.TasksCreated, attempts, st.Replays, st.FaultsInjected, len(f.Jobs))
}

// TestInterruptExitsAndResumes sends SIGINT to a real apply: it exits 130
// within 2 s with the tasks in flight recorded, and the next apply resumes
// them by id instead of creating new ones.
func TestInterruptExitsAndResumes(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	const jobs = 16
	dir := writeManifest(t, jobs)
	srv := apipodtest.NewServer(apipodtest.Options{APIKey: fakeTestKey,
		Duration: apipodtest.Fixed(2 * time.Second)})
	t.Cleanup(srv.Close)
	cmd := child(t, srv, dir, "apply", "jobs.yaml")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for srv.Stats().TasksCreated < 8 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	sent := time.Now()
	_ = cmd.Process.Signal(syscall.SIGINT)
	err := cmd.Wait()
	took := time.Since(sent)
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != exitInterrupted {
		t.Fatalf("exit: %v, want code %d\n%s", err, exitInterrupted, stderr.String())
	}
	if took > 2*time.Second {
		t.Fatalf("exit took %s after SIGINT", took)
	}
	f, err := lockfile.Load(filepath.Join(dir, "jobs.lock"))
	if err != nil {
		t.Fatal(err)
	}
	inFlight := map[string]string{} // job id → task id left in flight
	resume := 0                     // those, and creates whose answer was not in yet
	for id, j := range f.Jobs {
		for _, a := range j.Attempts {
			if a.IdempotencyKey == "" || (a.TaskID == "" && a.Status != "submitting") {
				t.Fatalf("job %s: inconsistent attempt %+v", id, a)
			}
		}
		if a := j.LastAttempt(); a != nil && a.Status != "completed" {
			resume++
			if a.TaskID != "" {
				inFlight[id] = a.TaskID
			}
		}
	}
	if len(inFlight) == 0 {
		t.Fatalf("no task in flight recorded after SIGINT:\n%s", stderr.String())
	}
	out, err := child(t, srv, dir, "apply", "jobs.yaml").CombinedOutput()
	if err != nil {
		t.Fatalf("resume: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), fmt.Sprintf("%d to resume", resume)) {
		t.Fatalf("resume plan does not resume %d tasks:\n%s", resume, out)
	}
	if st := srv.Stats(); st.TasksCreated != jobs {
		t.Fatalf("%d tasks for %d jobs", st.TasksCreated, jobs)
	}
	f, err = lockfile.Load(filepath.Join(dir, "jobs.lock"))
	if err != nil {
		t.Fatal(err)
	}
	for id, task := range inFlight {
		if a := f.Jobs[id].LastAttempt(); a.TaskID != task || a.Status != "completed" || len(f.Jobs[id].Attempts) != 1 {
			t.Fatalf("job %s: in flight as %s, resumed as %+v", id, task, a)
		}
	}
	assertNoPartials(t, dir)
	t.Logf("SIGINT answered in %s; %d tasks in flight resumed by id", took.Round(time.Millisecond), len(inFlight))
}

// fileSHA is the sha256 of a file, in hex.
func fileSHA(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

func assertNoPartials(t *testing.T, dir string) {
	t.Helper()
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if strings.Contains(name, ".part-") || strings.HasSuffix(name, ".tmp") || strings.HasSuffix(name, ".owner") {
			t.Errorf("left behind: %s", path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
