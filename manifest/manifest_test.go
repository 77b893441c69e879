package manifest

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestBad checks the exact problems reported for each broken manifest under
// testdata/bad against its .golden file.
func TestBad(t *testing.T) {
	files, err := filepath.Glob("testdata/bad/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no test manifests: %v", err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			m, err := Load(file, nil)
			if m != nil || err == nil {
				t.Fatalf("Load = %v, %v; want nil and errors", m, err)
			}
			var errs Errors
			if !errors.As(err, &errs) {
				t.Fatalf("error is %T, want Errors", err)
			}
			got := err.Error() + "\n"
			golden := strings.TrimSuffix(file, ".yaml") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("problems differ\ngot:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

func TestDesignExample(t *testing.T) {
	m, err := Load("testdata/good/design.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	const file = "testdata/good/design.yaml"
	wantSettings := Settings{
		Parallelism: 8, OutputDir: "out", Timeout: 20 * time.Minute, Retries: 2,
		Poll: Poll{Initial: 2 * time.Second, Max: 30 * time.Second},
	}
	if m.Settings != wantSettings {
		t.Errorf("Settings = %+v, want %+v", m.Settings, wantSettings)
	}
	abs, _ := filepath.Abs("testdata/good")
	if m.Dir != abs || m.OutputDir() != filepath.Join(abs, "out") || m.Path != file || m.Version != 1 {
		t.Errorf("Dir, OutputDir, Path, Version = %q, %q, %q, %d", m.Dir, m.OutputDir(), m.Path, m.Version)
	}
	var ids []string
	for _, j := range m.Jobs {
		ids = append(ids, j.ID)
	}
	wantIDs := []string{"banner.1x1.de", "banner.1x1.en", "banner.9x16.de", "banner.9x16.en", "hero", "hero-clip"}
	if !reflect.DeepEqual(ids, wantIDs) {
		t.Errorf("ids = %v, want %v", ids, wantIDs)
	}
	hero := m.Job("hero")
	wantHero := &Job{
		ID: "hero", Model: "nano-banana-2", Prompt: "Studio shot of the Acme mug",
		Params: map[string]any{"quality": "2K", "aspect_ratio": "16:9"},
		Output: "{job}/{n}.{ext}", Tags: []string{"web"},
		Pos:       Pos{file, 14, 3},
		ModelPos:  Pos{file, 11, 10},
		PromptPos: Pos{file, 15, 13},
		OutputPos: Pos{file, 14, 3},
		ParamPos:  map[string]Pos{"quality": {file, 12, 21}, "aspect_ratio": {file, 16, 28}},
		name:      "hero",
	}
	if !reflect.DeepEqual(hero, wantHero) {
		t.Errorf("hero =\n%+v\nwant\n%+v", hero, wantHero)
	}
	clip := m.Job("hero-clip")
	if !reflect.DeepEqual(clip.Needs, []string{"hero"}) || clip.Params["image_urls"].([]any)[0] != "${jobs.hero.result[0]}" {
		t.Errorf("hero-clip Needs = %v, Params = %v", clip.Needs, clip.Params)
	}
	b := m.Job("banner.9x16.en")
	if b == nil {
		t.Fatal("no job banner.9x16.en")
	}
	if b.Prompt != "Spring sale banner in en" || b.Params["aspect_ratio"] != "9:16" ||
		!reflect.DeepEqual(b.Matrix, map[string]string{"ratio": "9:16", "lang": "en"}) {
		t.Errorf("banner.9x16.en = %+v", b)
	}
	if got, want := b.OutputPath(1, "png"), filepath.FromSlash("banners/en/9x16-1.png"); got != want {
		t.Errorf("OutputPath = %q, want %q", got, want)
	}
	if m.Job("banner") != nil || m.Job("nope") != nil {
		t.Error("Job returned a job for an unknown id")
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		vars map[string]string
		job  string
		want func(*Manifest, *Job) string // returns "" when the job is right
	}{
		{
			name: "defaults",
			yaml: "version: 1\njobs:\n  a: {model: m, prompt: p}\n",
			job:  "a",
			want: func(m *Manifest, j *Job) string {
				if m.Settings != defaultSettings() || j.Output != "{job}/{n}.{ext}" || len(j.Params) != 0 || j.Tags != nil {
					return "defaults not applied"
				}
				return ""
			},
		},
		{
			name: "cli vars override manifest vars",
			yaml: "version: 1\nvars: {a: one, b: two}\njobs:\n  j: {model: m, prompt: '${var.a} ${var.b} ${var.c}'}\n",
			vars: map[string]string{"a": "ONE", "c": "three"},
			job:  "j",
			want: func(m *Manifest, j *Job) string { return expect(j.Prompt, "ONE two three") },
		},
		{
			name: "escape",
			yaml: "version: 1\njobs:\n  j: {model: m, prompt: 'cost $${var.x} $$ $ $'}\n",
			job:  "j",
			want: func(m *Manifest, j *Job) string { return expect(j.Prompt, "cost ${var.x} $$ $ $") },
		},
		{
			name: "escape kept beside a job reference",
			yaml: "version: 1\njobs:\n  a: {model: m, prompt: p}\n  j: {model: m, prompt: '$${x} ${jobs.a.result[0]}'}\n",
			job:  "j",
			want: func(m *Manifest, j *Job) string { return expect(j.Prompt, "$${x} ${jobs.a.result[0]}") },
		},
		{
			name: "params merge, null removes a default, scalar types",
			yaml: `version: 1
defaults:
  model: m
  params: {quality: 2K, seed: 7, keep: true}
jobs:
  j:
    prompt: p
    params: {seed: ~, n: 2, ratio: 16:9, scale: 1.5, list: [a, 1, false], map: {k: v}, day: 2024-01-02}
`,
			job: "j",
			want: func(m *Manifest, j *Job) string {
				want := map[string]any{
					"quality": "2K", "keep": true, "n": 2, "ratio": "16:9", "scale": 1.5,
					"list": []any{"a", 1, false}, "map": map[string]any{"k": "v"}, "day": "2024-01-02",
				}
				if !reflect.DeepEqual(j.Params, want) {
					return "params " + stringify(j.Params)
				}
				return ""
			},
		},
		{
			name: "job value wins over default",
			yaml: "version: 1\ndefaults: {model: m, prompt: d, output: 'x/{job}-{n}.{ext}', tags: [t]}\njobs:\n  j: {model: own, tags: [u]}\n",
			job:  "j",
			want: func(m *Manifest, j *Job) string {
				if j.Model != "own" || j.Prompt != "d" || j.Output != "x/{job}-{n}.{ext}" || !reflect.DeepEqual(j.Tags, []string{"u"}) {
					return stringify(j)
				}
				if j.ModelPos != (Pos{"t.yaml", 4, 14}) || j.PromptPos != (Pos{"t.yaml", 2, 30}) {
					return "positions " + j.ModelPos.String() + " " + j.PromptPos.String()
				}
				return ""
			},
		},
		{
			name: "settings",
			yaml: "version: 1\nsettings: {parallelism: 1, retries: 0, timeout: 90s, output_dir: '${var.d}/x', poll: {initial: 1s}, allow_unknown_models: true}\nvars: {d: build}\njobs: {}\n",
			want: func(m *Manifest, _ *Job) string {
				want := Settings{Parallelism: 1, Retries: 0, Timeout: 90 * time.Second, OutputDir: "build/x", Poll: Poll{time.Second, 30 * time.Second}, AllowUnknownModels: true}
				if m.Settings != want {
					return stringify(m.Settings)
				}
				return ""
			},
		},
		{
			name: "matrix keys in written order and numbers",
			yaml: "version: 1\njobs:\n  b:\n    model: m\n    matrix: {z: [1, 2.5], a: [true]}\n    prompt: '${matrix.z}-${matrix.a}'\n    tags: ['${matrix.a}']\n",
			job:  "b.2-5.true",
			want: func(m *Manifest, j *Job) string {
				if len(m.Jobs) != 2 || m.Jobs[0].ID != "b.1.true" {
					return "jobs " + stringify(m.Jobs)
				}
				return expect(j.Prompt+" "+j.Tags[0], "2.5-true true")
			},
		},
		{
			name: "timestamps and quoted numbers stay strings",
			yaml: "version: 1\njobs:\n  j: {model: m, prompt: 2024-01-02, tags: ['1']}\n",
			job:  "j",
			want: func(m *Manifest, j *Job) string { return expect(j.Prompt+j.Tags[0], "2024-01-021") },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Parse("t.yaml", []byte(tt.yaml), tt.vars)
			if err != nil {
				t.Fatal(err)
			}
			var j *Job
			if tt.job != "" {
				if j = m.Job(tt.job); j == nil {
					t.Fatalf("no job %q", tt.job)
				}
			}
			if msg := tt.want(m, j); msg != "" {
				t.Error(msg)
			}
		})
	}
}

func expect(got, want string) string {
	if got != want {
		return "got " + strings.TrimSpace(stringify(got)) + ", want " + stringify(want)
	}
	return ""
}

func stringify(v any) string {
	return fmt.Sprintf("%#v", v)
}
