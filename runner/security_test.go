package runner_test

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apipod/apipod-batch/apipod/apipodtest"
	"github.com/apipod/apipod-batch/runner"
)

// TestOutputsStayInsideOutputDir tries to make a job write outside
// output_dir through matrix values and symlinked folders.
func TestOutputsStayInsideOutputDir(t *testing.T) {
	tests := []struct {
		name string
		jobs string
		// prepare runs in the manifest's folder before apply; outside is a
		// folder beside it that nothing may be written to.
		prepare func(t *testing.T, dir, outside string)
		done    int
		inErr   string
	}{
		{name: "matrix values with ../ and absolute paths are made file-safe",
			jobs: `  m:
    matrix: {dir: ["../../outside", "/etc", ".."]}
    prompt: "p ${matrix.dir}"
    output: "{matrix.dir}/{n}.{ext}"
`, done: 3},
		{name: "a folder on the way that links outside is refused",
			jobs: `  a:
    prompt: "p"
    output: "link/{n}.{ext}"
`,
			prepare: func(t *testing.T, dir, outside string) {
				mkdir(t, filepath.Join(dir, "out"))
				symlink(t, outside, filepath.Join(dir, "out", "link"))
			},
			inErr: "outside the output folder"},
		{name: "a deeper folder that links outside is refused",
			jobs: `  a:
    prompt: "p"
    output: "x/link/y/{n}.{ext}"
`,
			prepare: func(t *testing.T, dir, outside string) {
				mkdir(t, filepath.Join(dir, "out", "x"))
				symlink(t, outside, filepath.Join(dir, "out", "x", "link"))
				mkdir(t, filepath.Join(outside, "y"))
			},
			inErr: "outside the output folder"},
		{name: "a link that stays inside output_dir is fine",
			jobs: `  a:
    prompt: "p"
    output: "link/{n}.{ext}"
`,
			prepare: func(t *testing.T, dir, outside string) {
				mkdir(t, filepath.Join(dir, "out", "real"))
				symlink(t, filepath.Join(dir, "out", "real"), filepath.Join(dir, "out", "link"))
			},
			done: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			yaml := "version: 1\ndefaults: {model: nano-banana-2}\nsettings:\n  retries: 0\n  poll: {initial: 2ms, max: 20ms}\njobs:\n" + tt.jobs
			e := newEnv(t, yaml, apipodtest.Options{})
			outside := t.TempDir()
			if tt.prepare != nil {
				tt.prepare(t, e.dir, outside)
			}
			_, res, err := e.apply(context.Background(), testKey, nil)
			if err != nil {
				t.Fatal(err)
			}
			c := countStates(res)
			if c[runner.StateDone] != tt.done {
				t.Errorf("states %v, want %d done", c, tt.done)
			}
			for _, j := range res.Jobs {
				if tt.inErr != "" && (j.Err == nil || !strings.Contains(j.Err.Error(), tt.inErr)) {
					t.Errorf("job %s: %v, want an error with %q", j.ID, j.Err, tt.inErr)
				}
				for _, o := range j.Outputs {
					if !strings.HasPrefix(o, "out/") || !filepath.IsLocal(o) {
						t.Errorf("job %s wrote %s", j.ID, o)
					}
				}
			}
			_ = filepath.WalkDir(outside, func(path string, d fs.DirEntry, err error) error {
				if err == nil && !d.IsDir() {
					t.Errorf("written outside output_dir: %s", path)
				}
				return nil
			})
		})
	}
}

func mkdir(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
}

func symlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Skipf("symlinks: %v", err)
	}
}
