package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apipod/apipod-batch/apipod/apipodtest"
	"github.com/apipod/apipod-batch/lockfile"
)

func TestRunExitCodes(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(good, []byte("version: 1\njobs:\n  a: {model: nano-banana-2, prompt: hi}\n"), 0o644)
	os.WriteFile(bad, []byte("version: 2\n"), 0o644)
	tests := []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"version", []string{"version"}, exitOK, ""},
		{"version as JSON", []string{"version", "--json"}, exitOK, ""},
		{"unknown command", []string{"frobnicate"}, exitError, `unknown command "frobnicate"`},
		{"missing manifest", []string{"apply", "--sandbox", filepath.Join(dir, "nope.yaml")}, exitError, "nope.yaml: no such file or directory\nhint: give the path of an existing manifest, or write a starter one with apipod-batch init"},
		{"bad version", []string{"apply", "--sandbox", bad}, exitError, "bad.yaml:1:10"},
		{"bad var", []string{"apply", "--sandbox", "--var", "novalue", good}, exitError, "want NAME=VALUE"},
		{"negative parallelism", []string{"apply", "--sandbox", "-p", "-1", good}, exitError, "--parallelism -1"},
		{"no key", []string{"apply", good}, exitError, "APIPOD_API_KEY is not set"},
	}
	t.Setenv("APIPOD_API_KEY", "")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := run(context.Background(), tt.args, &streams{in: strings.NewReader(""), out: &out, err: &errb})
			if code != tt.code {
				t.Fatalf("exit %d, want %d\nstderr: %s", code, tt.code, errb.String())
			}
			if !strings.Contains(errb.String(), tt.stderr) {
				t.Fatalf("stderr %q does not contain %q", errb.String(), tt.stderr)
			}
		})
	}
}

func TestApplyRefusesWhileLockHeld(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "jobs.yaml")
	os.WriteFile(path, []byte("version: 1\njobs:\n  a: {model: nano-banana-2, prompt: hi}\n"), 0o644)
	store, err := lockfile.Open(lockfile.Path(path), lockfile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"apply", "--sandbox", path}, &streams{in: strings.NewReader(""), out: &out, err: &errb})
	if code != exitError || !strings.Contains(errb.String(), "jobs.lock is held by pid") {
		t.Fatalf("exit %d, stderr %q", code, errb.String())
	}
}

func TestConfirmInterrupted(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe() // a terminal nobody answers
	defer pw.Close()
	go cancel()
	if ok, err := confirm(ctx, pr, io.Discard, "Go?"); ok || !errors.Is(err, context.Canceled) {
		t.Fatalf("confirm = %v, %v; want false and the cancellation", ok, err)
	}
}

func TestConfirm(t *testing.T) {
	for in, want := range map[string]bool{"yes\n": true, "y\n": false, "\n": false, "": false, "no\n": false} {
		got, _ := confirm(context.Background(), strings.NewReader(in), io.Discard, "Go?")
		if got != want {
			t.Errorf("confirm(%q) = %v, want %v", in, got, want)
		}
	}
}

// TestSandboxServes starts `sandbox` on a free port and reads its banner,
// then makes an authenticated request against it and stops it.
func TestSandboxServes(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- runSandbox(ctx, &sandboxCmdOptions{addr: "127.0.0.1:0", streams: &streams{out: pw, err: io.Discard}})
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	go io.Copy(io.Discard, pr)
	url := strings.TrimSpace(strings.TrimPrefix(line, "APIPod sandbox listening on "))
	req, _ := http.NewRequest(http.MethodGet, url+"/v1/images/status/nope", nil)
	req.Header.Set("Authorization", "Bearer "+sandboxKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("status of an unknown task: HTTP %d, want 404", resp.StatusCode)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("sandbox did not stop")
	}
}

// TestBadKeyExitsOne: a key the API refuses ends apply with exit code 1 and
// one error line with its hint, before any task is made.
func TestBadKeyExitsOne(t *testing.T) {
	srv := apipodtest.NewServer(apipodtest.Options{APIKey: "sk-right"})
	defer srv.Close()
	dir := t.TempDir()
	path := filepath.Join(dir, "jobs.yaml")
	os.WriteFile(path, []byte("version: 1\nsettings: {parallelism: 1}\njobs:\n  a: {model: nano-banana-2, prompt: hi}\n  b: {model: nano-banana-2, prompt: ho}\n"), 0o644)
	t.Setenv("APIPOD_BASE_URL", srv.URL)
	t.Setenv("APIPOD_API_KEY", "sk-wrong")
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"apply", path}, &streams{in: strings.NewReader(""), out: &out, err: &errb})
	if code != exitError {
		t.Fatalf("exit %d, want %d\n%s", code, exitError, errb.String())
	}
	if n := strings.Count(errb.String(), "apipod-batch: "); n != 1 || !strings.Contains(errb.String(), "hint: check APIPOD_API_KEY") {
		t.Fatalf("want one error line with the hint, got:\n%s", errb.String())
	}
	if st := srv.Stats(); st.TasksCreated != 0 || st.Unauthorized != 1 {
		t.Fatalf("%d tasks, %d refused requests; want 0 and 1", st.TasksCreated, st.Unauthorized)
	}
}
