package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apipod/apipod-batch/lockfile"
)

// cleanDir is a manifest without jobs whose lockfile records outputs of an
// orphaned job: one inside out/, one that escapes through "..", and one
// inside out/ by name but through a symlink to a folder outside.
func cleanDir(t *testing.T, outputs ...string) (dir, manifest string) {
	t.Helper()
	dir = t.TempDir()
	manifest = filepath.Join(dir, "jobs.yaml")
	write := func(rel, data string) {
		path := filepath.Join(dir, rel)
		os.MkdirAll(filepath.Dir(path), 0o755)
		if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("jobs.yaml", "version: 1\njobs:\n  a: {model: nano-banana-2, prompt: hi}\n")
	write("out/old/0.png", "old output")
	write("secret.txt", "not an output")
	write("elsewhere/0.png", "not an output either")
	if err := os.Symlink(filepath.Join(dir, "elsewhere"), filepath.Join(dir, "out", "link")); err != nil {
		t.Fatal(err)
	}
	f := &lockfile.File{Version: 1, Salt: "00", Jobs: map[string]*lockfile.Job{"old": {Model: "nano-banana-2"}}}
	for _, o := range outputs {
		f.Jobs["old"].Outputs = append(f.Jobs["old"].Outputs, lockfile.Output{Path: o})
	}
	data, _ := json.Marshal(f)
	write("jobs.lock", string(data))
	return dir, manifest
}

func TestCleanNeverLeavesTheOutputFolder(t *testing.T) {
	for _, escape := range []string{"secret.txt", "out/../secret.txt", "out/link/0.png", "out"} {
		t.Run(escape, func(t *testing.T) {
			dir, manifest := cleanDir(t, "out/old/0.png", escape)
			var out, errb bytes.Buffer
			code := run(context.Background(), []string{"clean", "--yes", manifest}, &streams{in: strings.NewReader(""), out: &out, err: &errb})
			if code != exitError || !strings.Contains(errb.String(), "nothing was deleted") || !strings.Contains(errb.String(), "is outside the output folder") {
				t.Fatalf("exit %d, stderr %q", code, errb.String())
			}
			for _, keep := range []string{"out/old/0.png", "secret.txt", "elsewhere/0.png"} {
				if _, err := os.Stat(filepath.Join(dir, keep)); err != nil {
					t.Errorf("%s: %v", keep, err)
				}
			}
		})
	}
}

func TestCleanAllKeepsOtherFiles(t *testing.T) {
	dir, manifest := cleanDir(t, "out/old/0.png", "out/old/gone.png")
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"clean", "--all", manifest}, &streams{in: strings.NewReader(""), out: &out, err: &errb})
	if code != exitOK {
		t.Fatalf("exit %d, stderr %q", code, errb.String())
	}
	if !strings.Contains(out.String(), "Will delete 1 file and ") {
		t.Fatalf("stdout %q", out.String())
	}
	for rel, want := range map[string]bool{"out/old": false, "jobs.lock": false, "out/link": true, "secret.txt": true, "elsewhere/0.png": true} {
		if _, err := os.Lstat(filepath.Join(dir, rel)); (err == nil) != want {
			t.Errorf("%s exists: %v, want %v", rel, err == nil, want)
		}
	}
}

func TestCleanRefusesWhileLockHeld(t *testing.T) {
	_, manifest := cleanDir(t, "out/old/0.png")
	store, err := lockfile.Open(lockfile.Path(manifest), lockfile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"clean", "--yes", manifest}, &streams{in: strings.NewReader(""), out: &out, err: &errb})
	if code != exitError || !strings.Contains(errb.String(), "jobs.lock is held by pid") {
		t.Fatalf("exit %d, stderr %q", code, errb.String())
	}
}

// With output_dir "." the manifest, its lockfile and the lock's owner file
// are inside the output folder. A lockfile that records one of them as an
// output (hand-edited, or merged from a branch) must not make clean delete
// them: clean refuses and deletes nothing.
func TestCleanNeverDeletesTheManifestOrLockfile(t *testing.T) {
	for _, victim := range []string{"jobs.yaml", "jobs.lock", "./jobs.yaml"} {
		t.Run(victim, func(t *testing.T) {
			dir := t.TempDir()
			manifest := filepath.Join(dir, "jobs.yaml")
			os.WriteFile(manifest, []byte("version: 1\nsettings: {output_dir: .}\njobs:\n  a: {model: nano-banana-2, prompt: hi}\n"), 0o644)
			os.WriteFile(filepath.Join(dir, "old.png"), []byte("old output"), 0o644)
			f := &lockfile.File{Version: 1, Salt: "00", Jobs: map[string]*lockfile.Job{"old": {Model: "nano-banana-2",
				Outputs: []lockfile.Output{{Path: "old.png"}, {Path: victim}}}}}
			data, _ := json.Marshal(f)
			os.WriteFile(filepath.Join(dir, "jobs.lock"), data, 0o644)
			for _, all := range []bool{false, true} {
				args := []string{"clean", "--yes", manifest}
				if all {
					args = append(args, "--all")
				}
				var out, errb bytes.Buffer
				code := run(context.Background(), args, &streams{in: strings.NewReader(""), out: &out, err: &errb})
				if code != exitError || !strings.Contains(errb.String(), "nothing was deleted") {
					t.Errorf("%v: exit %d, stdout %q, stderr %q", args, code, out.String(), errb.String())
				}
				for _, keep := range []string{"jobs.yaml", "jobs.lock", "old.png"} {
					if _, err := os.Stat(filepath.Join(dir, keep)); err != nil {
						t.Errorf("%v: %s: %v", args, keep, err)
					}
				}
			}
		})
	}
}
