package main

import (
	"bytes"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"
)

// TestInitStarterLoads: the starter manifest passes the parser and the
// registry checks, as every command runs them.
func TestInitStarterLoads(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	if code := run(t.Context(), []string{"init", dir}, &streams{in: strings.NewReader(""), out: &out, err: &out}); code != exitOK {
		t.Fatalf("init: exit %d\n%s", code, out.Bytes())
	}
	m, err := loadManifest(filepath.Join(dir, "jobs.yaml"), &globalOptions{}, io.Discard)
	if err != nil {
		t.Fatalf("starter manifest: %v", err)
	}
	if len(m.Jobs) < 3 {
		t.Errorf("starter has %d jobs", len(m.Jobs))
	}
}

func TestCompleteJobs(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	if code := run(t.Context(), []string{"init", dir}, &streams{in: strings.NewReader(""), out: &out, err: &out}); code != exitOK {
		t.Fatalf("init: exit %d\n%s", code, out.Bytes())
	}
	got, dir2 := completeJobs(&globalOptions{})(&cobra.Command{}, []string{filepath.Join(dir, "jobs.yaml")}, "")
	if dir2 != cobra.ShellCompDirectiveNoFileComp {
		t.Errorf("directive %d", dir2)
	}
	for _, want := range []cobra.Completion{"hero\tnano-banana-2", "banner.1x1\tnano-banana-2", "hero-clip\tveo3-1-fast", "tag:social", "tag:web"} {
		if !slices.Contains(got, want) {
			t.Errorf("completions %q lack %q", got, want)
		}
	}
	if _, d := completeJobs(&globalOptions{})(&cobra.Command{}, []string{filepath.Join(dir, "none.yaml")}, ""); d&cobra.ShellCompDirectiveError == 0 {
		t.Error("a missing manifest should end completion with an error directive")
	}
}

// TestStarterWorkflow parses the workflow that init --ci github writes: it
// validates on pull requests, applies on main, and saves the lockfile even
// when the apply step fails, since the lockfile holds the keys of tasks
// already paid for.
func TestStarterWorkflow(t *testing.T) {
	var wf struct {
		On   map[string]any `yaml:"on"`
		Jobs map[string]struct {
			If    string `yaml:"if"`
			Steps []struct {
				Uses string         `yaml:"uses"`
				Run  string         `yaml:"run"`
				If   string         `yaml:"if"`
				With map[string]any `yaml:"with"`
			} `yaml:"steps"`
		} `yaml:"jobs"`
	}
	data, err := starter.ReadFile("starter/workflow.yml")
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, &wf); err != nil {
		t.Fatal(err)
	}
	if _, ok := wf.On["pull_request"]; !ok {
		t.Error("no pull_request trigger")
	}
	var validates, applies, savesAlways bool
	for _, j := range wf.Jobs {
		for _, s := range j.Steps {
			validates = validates || strings.Contains(s.Run, "apipod-batch validate")
			applies = applies || strings.Contains(s.Run, "apipod-batch apply")
			if strings.HasPrefix(s.Uses, "actions/cache/save") && s.If == "always()" &&
				strings.Contains(s.With["path"].(string), "jobs.lock") {
				savesAlways = true
			}
		}
	}
	if !validates || !applies || !savesAlways {
		t.Fatalf("validate %v, apply %v, lockfile saved always %v", validates, applies, savesAlways)
	}
}
