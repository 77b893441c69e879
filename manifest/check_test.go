package manifest

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// fakeChecker returns fixed problems for each model.
type fakeChecker map[string][]Problem

func (f fakeChecker) CheckJob(model, prompt string, params map[string]any) []Problem {
	return f[model]
}

func TestCheck(t *testing.T) {
	const src = `version: 1
defaults:
  model: good
jobs:
  a:
    model: bad
    prompt: hello
    params:
      size: 5
  b:
    prompt: fine
  c:
    model: unknown-model
    prompt: x
  m:
    model: bad
    matrix: {k: [x, y]}
    prompt: p
    params: {size: 1}
`
	checker := fakeChecker{
		"bad": {
			{Field: "prompt", Message: "is too short"},
			{Field: "size", Message: "must be at most 4"},
			{Field: "seed", Message: "is required by bad"},
		},
		"unknown-model": {{Field: "", Message: `unknown model "unknown-model"`}, {Field: "size", Message: "x"}},
	}
	m, err := Parse("c.yaml", []byte(src), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Join([]string{
		`c.yaml:5:3: job "a": params.seed: is required by bad`,
		`c.yaml:7:13: job "a": prompt: is too short`,
		`c.yaml:9:13: job "a": params.size: must be at most 4`,
		`c.yaml:12:3: job "c": params.size: x`,
		`c.yaml:13:12: job "c": unknown model "unknown-model"`,
		`c.yaml:15:3: job "m": params.seed: is required by bad`,
		`c.yaml:18:13: job "m": prompt: is too short`,
		`c.yaml:19:20: job "m": params.size: must be at most 4`,
	}, "\n")
	err = m.Check(checker)
	if err == nil || err.Error() != want {
		t.Errorf("Check =\n%v\nwant\n%s", err, want)
	}

	m.Settings.AllowUnknownModels = true
	if err := m.Check(checker); err == nil || strings.Contains(err.Error(), "unknown-model") {
		t.Errorf("with allow_unknown_models, Check = %v", err)
	}
	if err := m.Check(fakeChecker{}); err != nil {
		t.Errorf("Check with no problems = %v, want nil", err)
	}
}

func TestResolve(t *testing.T) {
	const src = `version: 1
defaults: {model: m}
jobs:
  up: {prompt: p}
  down:
    prompt: "after ${jobs.up.result[1]}, cost $${x}"
    params:
      image_urls: ["${jobs.up.result}", "${jobs.up.result[0]}", "plain"]
      note: "literal $${jobs.up.result[0]}"
      nested: {u: "${jobs.up.result[0]}"}
  lit:
    prompt: "literal $${jobs.up.result[0]}"
`
	m, err := Parse("r.yaml", []byte(src), nil)
	if err != nil {
		t.Fatal(err)
	}
	results := func(id string) []string {
		if id != "up" {
			t.Fatalf("results(%q)", id)
		}
		return []string{"u0", "u1"}
	}
	prompt, params, err := m.Job("down").Resolve(results)
	if err != nil {
		t.Fatal(err)
	}
	if prompt != "after u1, cost ${x}" {
		t.Errorf("prompt = %q", prompt)
	}
	want := map[string]any{
		"image_urls": []any{"u0", "u1", "u0", "plain"},
		"note":       "literal ${jobs.up.result[0]}",
		"nested":     map[string]any{"u": "u0"},
	}
	if !reflect.DeepEqual(params, want) {
		t.Errorf("params = %#v, want %#v", params, want)
	}
	if got := m.Job("down").Params["image_urls"]; !reflect.DeepEqual(got, []any{"${jobs.up.result}", "${jobs.up.result[0]}", "plain"}) {
		t.Errorf("Params keeps %#v", got)
	}
	lit := m.Job("lit")
	if p, _, err := lit.Resolve(results); err != nil || p != "literal ${jobs.up.result[0]}" || len(lit.Needs) != 0 {
		t.Errorf("lit: Resolve = %q, %v; Needs = %v", p, err, lit.Needs)
	}
	short := func(string) []string { return []string{"only"} }
	if _, _, err := m.Job("down").Resolve(short); err == nil || !strings.Contains(err.Error(), `job "up" has 1 outputs`) {
		t.Errorf("Resolve with too few outputs = %v", err)
	}
}

func TestSafety(t *testing.T) {
	big := make([]byte, maxFileSize+1)
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"too large", big, "s.yaml: manifest is larger than 8 MiB"},
		{"utf-16", []byte("\xff\xfev\x00"), "s.yaml: manifest is UTF-16; save it as UTF-8"},
		{"invalid utf-8", []byte("version: 1\nvars: {a: \"\xc3\x28\"}"), "s.yaml:2:12: manifest is not valid UTF-8 (byte 0xc3)"},
		{"alias bomb", []byte("a: &a [x, x]\nb: &b [*a, *a]\nc: [*b, *b]\n"), "s.yaml:2:8: YAML aliases (*a) are not supported; use defaults or write the value out"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("s.yaml", tt.data, nil)
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("Parse = %v, want %s", err, tt.want)
			}
		})
	}
}

func TestErrorText(t *testing.T) {
	es := Errors{
		{Pos: Pos{"f", 3, 1}, Msg: "later"},
		{Pos: Pos{"f", 1, 2}, Job: "j", Msg: "in a job"},
		{Pos: Pos{"f", 0, 0}, Msg: "whole file"},
		{Pos: Pos{"f", 2, 0}, Msg: "line only"},
	}
	sortErrors(es)
	want := "f: whole file\nf:1:2: job \"j\": in a job\nf:2: line only\nf:3:1: later"
	if es.Error() != want {
		t.Errorf("Errors =\n%s\nwant\n%s", es.Error(), want)
	}
}

func TestSuggest(t *testing.T) {
	tests := []struct{ name, want string }{
		{"parms", "params"},
		{"promt", "prompt"},
		{"outptu", "output"},
		{"Model", "model"},
		{"x", ""},
		{"colour", ""},
	}
	for _, tt := range tests {
		if got := suggest(tt.name, jobKeys); got != tt.want {
			t.Errorf("suggest(%q) = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestLoadMissingFile(t *testing.T) {
	if _, err := Load("testdata/nope.yaml", nil); err == nil {
		t.Error("Load of a missing file succeeded")
	}
}

func TestResolveKeepsSubstitutedTextLiteral(t *testing.T) {
	const src = `version: 1
vars: {v: "a${b"}
defaults: {model: m}
jobs:
  up: {prompt: p}
  down: {prompt: "${var.v} ${jobs.up.result[0]}"}
`
	m, err := Parse("r.yaml", []byte(src), nil)
	if err != nil {
		t.Fatal(err)
	}
	p, _, err := m.Job("down").Resolve(func(string) []string { return []string{"u0"} })
	if err != nil || p != "a${b u0" {
		t.Errorf("Resolve = %q, %v; want %q", p, err, "a${b u0")
	}
}

func TestOutputDir(t *testing.T) {
	m := &Manifest{Dir: "/work/x", Settings: Settings{OutputDir: "out/../build"}}
	if got := m.OutputDir(); got != filepath.FromSlash("/work/x/build") {
		t.Errorf("relative OutputDir = %q", got)
	}
	abs, _ := filepath.Abs("/srv/out/")
	m.Settings.OutputDir = abs + "/"
	if got := m.OutputDir(); got != abs {
		t.Errorf("absolute OutputDir = %q, want %q", got, abs)
	}
}
