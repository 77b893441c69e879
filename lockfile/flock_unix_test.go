//go:build darwin || dragonfly || freebsd || linux || netbsd || openbsd

package lockfile

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestHeldInSameProcess(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "jobs.lock")
	started := time.Date(2025, 11, 28, 14, 2, 7, 0, time.Local)
	s, err := Open(path, Options{Now: func() time.Time { return started }})
	if err != nil {
		t.Fatal(err)
	}
	_, err = Open(path, Options{})
	var he *HeldError
	if !errors.As(err, &he) {
		t.Fatalf("second Open = %v, want *HeldError", err)
	}
	host, _ := os.Hostname()
	if he.PID != os.Getpid() || he.Host != host || !he.Since.Equal(started) {
		t.Errorf("HeldError = %+v, want pid %d host %q since %v", he, os.Getpid(), host, started)
	}
	want := fmt.Sprintf(`jobs.lock is held by pid %d on host %q since 14:02:07`, os.Getpid(), host)
	if err.Error() != want {
		t.Errorf("error = %q, want %q", err, want)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	assertOnly(t, dir, "jobs.lock")
	s, err = Open(path, Options{})
	if err != nil {
		t.Fatalf("Open after Close = %v", err)
	}
	s.Close()
}

func TestStaleOwnerFileOverwritten(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "jobs.lock")
	// Left by a process that no longer exists: nobody holds the flock.
	stale := `{"pid":999999999,"host":"gone","started":"2020-01-01T00:00:00Z"}` + "\n"
	if err := os.WriteFile(path+".owner", []byte(stale), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatalf("Open over a stale owner file = %v", err)
	}
	defer s.Close()
	data, err := os.ReadFile(path + ".owner")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), fmt.Sprintf(`"pid":%d,`, os.Getpid())) {
		t.Errorf("owner file = %s, want our pid", data)
	}
}

func TestMutualExclusion(t *testing.T) {
	path := filepath.Join(t.TempDir(), "jobs.lock")
	var holders, taken atomic.Int32
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 50 {
				s, err := Open(path, Options{})
				var he *HeldError
				if errors.As(err, &he) {
					continue
				}
				if err != nil {
					t.Error(err)
					return
				}
				taken.Add(1)
				if n := holders.Add(1); n != 1 {
					t.Errorf("%d stores hold the lock at once", n)
				}
				time.Sleep(100 * time.Microsecond)
				holders.Add(-1)
				if err := s.Close(); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if taken.Load() == 0 {
		t.Error("nobody ever took the lock")
	}
}

const helperEnv = "APIPOD_LOCKFILE_HELPER"

// TestHelperProcess is not a real test: run as a child by TestKilledHolder, it
// opens the store named by $APIPOD_LOCKFILE_HELPER, says so and waits to be killed.
func TestHelperProcess(t *testing.T) {
	path := os.Getenv(helperEnv)
	if path == "" {
		t.Skip("helper process only")
	}
	if _, err := Open(path, Options{}); err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	fmt.Println("ready")
	time.Sleep(time.Minute)
	os.Exit(2)
}

func TestKilledHolder(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "jobs.lock")
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$")
	cmd.Env = append(os.Environ(), helperEnv+"="+path)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || line != "ready\n" {
		t.Fatalf("child said %q, %v", line, err)
	}
	if _, err := os.Stat(path + ".owner"); err != nil {
		t.Fatalf("owner file: %v", err)
	}
	salt := loadSalt(t, path)

	_, err = Open(path, Options{})
	var he *HeldError
	if !errors.As(err, &he) || he.PID != cmd.Process.Pid {
		t.Fatalf("Open while the child holds the lock = %v, want *HeldError with pid %d", err, cmd.Process.Pid)
	}

	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()

	s, err := Open(path, Options{})
	if err != nil {
		t.Fatalf("Open after the holder was killed = %v", err)
	}
	defer s.Close()
	s.View(func(f *File) {
		if f.Salt != salt {
			t.Errorf("salt %q after takeover, want the child's %q", f.Salt, salt)
		}
	})
}

// loadSalt returns the salt of the lockfile at path.
func loadSalt(t *testing.T, path string) string {
	t.Helper()
	f, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return f.Salt
}
