package main

import (
	"bytes"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"
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
