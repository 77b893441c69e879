package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apipod/apipod-batch/apipod"
	"github.com/apipod/apipod-batch/manifest"
)

// validateIn runs runValidate on the manifest file in dir and returns its
// stdout, stderr and exit code.
func validateIn(t *testing.T, dir, file string, json bool) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	opts := &validateOptions{
		global:   &globalOptions{json: json},
		manifest: filepath.Join(dir, file),
		streams:  &streams{in: strings.NewReader(""), out: &out, err: &errb},
	}
	err := runValidate(context.Background(), opts)
	var ec *exitCodeError
	switch {
	case err == nil:
	case errors.As(err, &ec):
		code = ec.code
	default:
		t.Fatalf("runValidate(%s): %v", file, err)
	}
	return out.String(), errb.String(), code
}

// TestValidateGolden runs validate over every broken manifest in
// testdata/validate with the real registry and compares stderr, stdout and
// the exit code with the .golden file beside it (go test -update rewrites them).
func TestValidateGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/validate/*.yaml")
	if err != nil || len(files) < 30 {
		t.Fatalf("want at least 30 broken manifests in testdata/validate, have %d (%v)", len(files), err)
	}
	t.Chdir("testdata/validate")
	for _, f := range files {
		name := filepath.Base(f)
		t.Run(strings.TrimSuffix(name, ".yaml"), func(t *testing.T) {
			stdout, stderr, code := validateIn(t, "", name, false)
			if code != exitError {
				t.Errorf("exit %d, want %d: a broken manifest must fail", code, exitError)
			}
			got := fmt.Sprintf("%s%s[exit %d]\n", stderr, stdout, code)
			golden := strings.TrimSuffix(name, ".yaml") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("output differs from %s:\n--- got\n%s--- want\n%s", golden, got, want)
			}
		})
	}
}

// TestValidateRulePositions shows, for each kind of rule, a violating
// manifest rejected at the line and column of the offending value.
func TestValidateRulePositions(t *testing.T) {
	tests := []struct {
		rule     string
		manifest string // starts with a newline, so "version: 1" is line 2
		want     string // one line of stderr, after "jobs.yaml:"
	}{
		{"enum", `
version: 1
jobs:
  a:
    model: nano-banana-pro
    prompt: p
    params: {aspect_ratio: "7:3"}`,
			`7:28: job "a": params.aspect_ratio: "7:3" is not allowed for nano-banana-pro; use one of 1:1, 2:3, 3:2, 3:4, 4:3, 4:5, 5:4, 9:16, 16:9, 21:9`},
		{"range", `
version: 1
jobs:
  a:
    model: seedance-2.0-t2v
    prompt: p
    params:
      duration: 16`,
			`8:17: job "a": params.duration: 16 is out of range for seedance-2.0-t2v; use 4 to 15`},
		{"type", `
version: 1
jobs:
  a:
    model: wan2.7-image
    prompt: p
    params: {watermark: "false"}`,
			`7:25: job "a": params.watermark: want true or false, got string "false"`},
		{"unknown param", `
version: 1
jobs:
  a:
    model: veo3-1-fast
    prompt: p
    params: {duration: 8}`,
			`7:24: job "a": params.duration: is not a parameter of veo3-1-fast; it takes image_urls, aspect_ratio, callback_url`},
		{"required", `
version: 1
jobs:
  a:
    model: seedream-5.0-lite-edit
    prompt: p`,
			`4:3: job "a": params.image_urls: is required by seedream-5.0-lite-edit`},
		{"prompt length", `
version: 1
jobs:
  a:
    model: seedance-2.0-fast-t2v
    prompt: "` + strings.Repeat("x", 1001) + `"`,
			`6:13: job "a": prompt: is 1001 characters; seedance-2.0-fast-t2v allows at most 1000`},
		{"reference needed", `
version: 1
jobs:
  a:
    model: seedance-2.0-r2v
    prompt: p
    params: {duration: 5}`,
			`4:3: job "a": params.image_urls: seedance-2.0-r2v needs at least one reference: image_urls, video_urls or audio_urls`},
		{"audio alone", `
version: 1
jobs:
  a:
    model: seedance-2.0-r2v
    prompt: p
    params:
      audio_urls: ["https://example.com/a.mp3"]`,
			`8:19: job "a": params.audio_urls: audio cannot be given on its own; add image_urls or video_urls`},
		{"too many videos", `
version: 1
jobs:
  a:
    model: seedance-2.0-r2v
    prompt: p
    params:
      video_urls: [a, b, c, d]`,
			`8:19: job "a": params.video_urls: has 4 items; seedance-2.0-r2v allows at most 3`},
		{"local file, at the item", `
version: 1
jobs:
  a:
    model: veo3-1-fast
    prompt: p
    params:
      image_urls:
        - https://example.com/a.png
        - file:///tmp/a.png`,
			`10:11: job "a": params.image_urls[1]: "file:///tmp/a.png" is a local file, not an http(s) URL; upload it somewhere APIPod can fetch it and give its http(s) URL`},
		{"assetId outside Seedance", `
version: 1
jobs:
  a:
    model: nano-banana-2
    prompt: p
    params: {image_urls: ["assetId://x"]}`,
			`7:27: job "a": params.image_urls[0]: "assetId://x": assetId:// references work only with Seedance models; give an http(s) URL`},
		{"unknown model", `
version: 1
jobs:
  a:
    model: veo3-fast
    prompt: p`,
			`5:12: job "a": unknown model "veo3-fast"; did you mean "veo3-1-fast"?`},
		{"alias note", `
version: 1
jobs:
  a:
    model: veo3.1-fast
    prompt: p
    params: {aspect_ratio: "4:3"}`,
			`5:12: job "a": note: model "veo3.1-fast" is called "veo3-1-fast"; using that`},
		{"several outputs, one path", `
version: 1
jobs:
  pair:
    model: wan2.7-image
    prompt: p
    params: {n: 2}
    output: "pair.{ext}"`,
			`8:13: job "pair": output: "pair.{ext}" gives one path for the 2 outputs of job "pair"; add {n} to the template`},
		{"two jobs, one file", `
version: 1
jobs:
  a: {model: nano-banana-2, prompt: p}
  b:
    model: nano-banana-2
    prompt: p
    output: "a/0.png"`,
			`8:13: job "b": output: job "b" writes a/0.png, which job "a" writes too; add {job} or {matrix.KEY} to the template`},
		{"two jobs, one file, n", `
version: 1
jobs:
  a:
    model: wan2.7-image
    prompt: p
    params: {n: 2}
    output: "shots/{n}.{ext}"
  b:
    model: wan2.7-image
    prompt: p
    output: "shots/1.{ext}"`,
			`12:13: job "b": output: job "b" writes shots/1.{ext}, which job "a" writes too; add {job} or {matrix.KEY} to the template`},
		{"expanded id too long", `
version: 1
jobs:
  banner:
    model: nano-banana-2
    prompt: p
    matrix: {style: [short, ` + strings.Repeat("x", 60) + `]}`,
			`7:13: job "banner": matrix: style=` + strings.Repeat("x", 60) + ` gives job id "banner.` + strings.Repeat("x", 60) + `", 67 characters long; the limit is 64`},
		{"unknown key", `
version: 1
jobs:
  a:
    model: nano-banana-2
    prompt: p
    parms: {quality: 2K}`,
			`7:5: job "a": unknown key "parms" in job; did you mean "params"?`},
	}
	for _, tt := range tests {
		t.Run(tt.rule, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "jobs.yaml"), []byte(tt.manifest), 0o644); err != nil {
				t.Fatal(err)
			}
			_, stderr, code := validateIn(t, dir, "jobs.yaml", false)
			if code != exitError {
				t.Errorf("exit %d, want %d", code, exitError)
			}
			want := filepath.Join(dir, "jobs.yaml") + ":" + tt.want
			if !strings.Contains(stderr+"\n", want+"\n") {
				t.Errorf("stderr lacks\n%s\ngot\n%s", want, stderr)
			}
		})
	}
}

func TestValidateValid(t *testing.T) {
	stdout, stderr, code := validateIn(t, "examples", "quickstart.yaml", false)
	if code != 0 || stderr != "" {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	if want := filepath.Join("examples", "quickstart.yaml") + ": 10 jobs over 3 models, all valid.\n"; stdout != want {
		t.Errorf("stdout %q, want %q", stdout, want)
	}

	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "jobs.yaml"), []byte(`version: 1
settings: {allow_unknown_models: true}
jobs:
  a: {model: veo-3.1-fast, prompt: p}
  b: {model: future-video-9, prompt: p, params: {anything: 1}}
`), 0o644)
	stdout, stderr, code = validateIn(t, dir, "jobs.yaml", false)
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	if !strings.HasSuffix(stdout, "jobs.yaml: 2 jobs over 2 models, all valid (1 job with a model unknown to this release not checked).\n") {
		t.Errorf("stdout %q", stdout)
	}
	for _, note := range []string{`jobs.yaml:4:14: job "a": note: model "veo-3.1-fast" is called "veo3-1-fast"; using that`,
		`jobs.yaml:5:14: job "b": note: model "future-video-9" is not in this release's registry`} {
		if !strings.Contains(stderr, note) {
			t.Errorf("stderr lacks %q:\n%s", note, stderr)
		}
	}
}

func TestValidateJSON(t *testing.T) {
	var r validateReport
	stdout, _, code := validateIn(t, "testdata/validate", "enum.yaml", true)
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatalf("%v in %s", err, stdout)
	}
	if code != exitError || r.Version != 1 || r.Valid || r.Jobs != 0 || len(r.Problems) != 2 {
		t.Fatalf("exit %d, report %+v", code, r)
	}
	want := validateProblem{File: filepath.Join("testdata", "validate", "enum.yaml"), Line: 8, Col: 21, Job: "hero",
		Message: `params.aspect_ratio: "7:3" is not allowed for nano-banana-2; use one of 1:1, 1:4, 1:8, 2:3, 3:2, 3:4, 4:1, 4:3, 4:5, 5:4, 8:1, 9:16, 16:9, 21:9`}
	if r.Problems[0] != want {
		t.Errorf("problem 0 = %+v, want %+v", r.Problems[0], want)
	}

	stdout, _, code = validateIn(t, "examples", "quickstart.yaml", true)
	r = validateReport{}
	if err := json.Unmarshal([]byte(stdout), &r); err != nil || code != 0 || !r.Valid || r.Jobs != 10 || r.Problems == nil {
		t.Errorf("exit %d, err %v, report %+v from %s", code, err, r, stdout)
	}
	if !strings.Contains(stdout, `"problems": []`) {
		t.Errorf("a valid manifest's problems must be [], not null: %s", stdout)
	}
}

func TestValidateMissingFile(t *testing.T) {
	var out, errb bytes.Buffer
	err := runValidate(context.Background(), &validateOptions{global: &globalOptions{}, manifest: filepath.Join(t.TempDir(), "nope.yaml"),
		streams: &streams{out: &out, err: &errb}})
	if err == nil || !strings.Contains(err.Error(), "nope.yaml") {
		t.Errorf("err = %v, want one naming the file", err)
	}
}

// FuzzCheckManifest runs the checks of loadManifest after parsing (alias
// resolution and the registry) on arbitrary manifests: they never panic, and
// a manifest they pass names only known models or allows unknown ones. The
// seeds are the broken manifests of testdata/validate and the quickstart.
func FuzzCheckManifest(f *testing.F) {
	files, _ := filepath.Glob("testdata/validate/*.yaml")
	for _, file := range append(files, "examples/quickstart.yaml") {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := manifest.Parse("fuzz.yaml", data, nil)
		if err != nil {
			return
		}
		resolveModels(m)
		if err := m.Check(registryChecker{}); err != nil {
			var problems manifest.Errors
			if !errors.As(err, &problems) || len(problems) == 0 {
				t.Fatalf("Check = %T %v, want manifest.Errors", err, err)
			}
			return
		}
		for _, j := range m.Jobs {
			if _, known := apipod.LookupModel(j.Model); !known && !m.Settings.AllowUnknownModels {
				t.Fatalf("job %s passed with unknown model %q", j.ID, j.Model)
			}
		}
	})
}
