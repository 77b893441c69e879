package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apipod/apipod-batch/apipod/apipodtest"
)

// TestBadLockfileIsRefused proves every command that reads the lockfile
// refuses a corrupt, truncated or future-version one with the way out, and
// never rewrites it.
func TestBadLockfileIsRefused(t *testing.T) {
	dir := t.TempDir()
	manifest := filepath.Join(dir, "jobs.yaml")
	if err := os.WriteFile(manifest, []byte("version: 1\nsettings:\n  poll: {initial: 1ms, max: 5ms}\njobs:\n  a: {model: nano-banana-2, prompt: hi}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	srv := apipodtest.NewServer(apipodtest.Options{APIKey: fakeTestKey,
		Duration: apipodtest.Fixed(time.Millisecond)})
	t.Cleanup(srv.Close)
	t.Setenv("APIPOD_BASE_URL", srv.URL)
	t.Setenv("APIPOD_API_KEY", fakeTestKey)
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"apply", manifest}, &streams{in: strings.NewReader(""), out: &out, err: &errb}); code != exitOK {
		t.Fatalf("first apply: exit %d\n%s", code, errb.String())
	}
	good, err := os.ReadFile(filepath.Join(dir, "jobs.lock"))
	if err != nil {
		t.Fatal(err)
	}
	locks := []struct {
		name, content, want string
	}{
		{"truncated by an old crash", string(good[:len(good)*2/3]), "is corrupt"},
		{"not JSON", "<<<<<<< HEAD\n{}\n=======\n", "is corrupt"},
		{"empty", "", "is corrupt"},
		{"future version", strings.Replace(string(good), `"version": 1`, `"version": 7`, 1), "has version 7"},
	}
	commands := [][]string{
		{"apply", manifest},
		{"plan", manifest},
		{"status", manifest},
		{"outputs", manifest},
		{"clean", "--all", manifest},
	}
	for _, lk := range locks {
		for _, args := range commands {
			t.Run(lk.name+"/"+args[0], func(t *testing.T) {
				path := filepath.Join(dir, "jobs.lock")
				if err := os.WriteFile(path, []byte(lk.content), 0o644); err != nil {
					t.Fatal(err)
				}
				var out, errb bytes.Buffer
				code := run(context.Background(), args, &streams{in: strings.NewReader(""), out: &out, err: &errb})
				if code != exitError || !strings.Contains(errb.String(), lk.want) ||
					!(strings.Contains(errb.String(), "move it aside") || strings.Contains(errb.String(), "upgrade")) {
					t.Fatalf("exit %d, stderr %q; want 1 with %q and the way out", code, errb.String(), lk.want)
				}
				if after, _ := os.ReadFile(path); string(after) != lk.content {
					t.Fatal("the lockfile was rewritten")
				}
			})
		}
	}
}
