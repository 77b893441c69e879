package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"text/template"
	"time"

	"github.com/rogpeppe/go-internal/txtar"

	"github.com/apipod/apipod-batch/lockfile"
	"github.com/apipod/apipod-batch/runner"
)

// TestPlanGolden renders the plan of each archive in testdata/plan, as text
// and as JSON, and compares them with the archive's want.txt and
// want.json (go test -run TestPlanGolden -update rewrites them). An archive
// holds jobs.yaml, jobs.lock as a text/template ({{hash "ID"}} is the
// current spec hash of job ID, {{sha "PATH"}} and {{size "PATH"}} describe a
// file of the archive as written, {{ago "1h"}} and {{in "1h"}} are times
// around now, {{list "a" "b"}} makes a list to range over), the output
// files, and optionally flags: plan's flags.
func TestPlanGolden(t *testing.T) {
	archives, _ := filepath.Glob(filepath.Join("testdata", "plan", "*.txtar"))
	if len(archives) == 0 {
		t.Fatal("no archives in testdata/plan")
	}
	for _, name := range archives {
		t.Run(strings.TrimSuffix(filepath.Base(name), ".txtar"), func(t *testing.T) {
			ar, err := txtar.ParseFile(name)
			if err != nil {
				t.Fatal(err)
			}
			text, js := renderArchivePlan(t, ar)
			if *update {
				setSection(ar, "want.txt", text)
				setSection(ar, "want.json", js)
				if err := os.WriteFile(name, txtar.Format(ar), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if want := section(ar, "want.txt"); text != want {
				t.Errorf("text plan:\n%s\nwant:\n%s", text, want)
			}
			if want := section(ar, "want.json"); js != want {
				t.Errorf("JSON plan:\n%s\nwant:\n%s", js, want)
			}
		})
	}
}

// inFlightSince masks the local time of day, which depends on the time zone.
var inFlightSince = regexp.MustCompile(`since \d\d:\d\d:\d\d`)

// renderArchivePlan lays the archive out in a folder and renders its plan.
func renderArchivePlan(t *testing.T, ar *txtar.Archive) (text, js string) {
	t.Helper()
	dir := t.TempDir()
	var lockTmpl string
	var flags []string
	for _, f := range ar.Files {
		switch f.Name {
		case "want.txt", "want.json":
		case "jobs.lock":
			lockTmpl = string(f.Data)
		case "flags":
			flags = strings.Fields(string(f.Data))
		default:
			path := filepath.Join(dir, filepath.FromSlash(f.Name))
			os.MkdirAll(filepath.Dir(path), 0o755)
			if err := os.WriteFile(path, f.Data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	manifestPath := filepath.Join(dir, "jobs.yaml")
	m, err := loadManifest(manifestPath, &globalOptions{}, os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	fresh, err := runner.MakePlan(m, &lockfile.File{Jobs: map[string]*lockfile.Job{}}, runner.PlanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	hashes := map[string]string{}
	for _, s := range fresh.Steps {
		hashes[s.Job.ID] = s.SpecHash()
	}
	read := func(rel string) []byte {
		data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(rel)))
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	tmpl, err := template.New("jobs.lock").Funcs(template.FuncMap{
		"hash": func(id string) string { return hashes[id] },
		"sha":  func(rel string) string { sum := sha256.Sum256(read(rel)); return hex.EncodeToString(sum[:]) },
		"size": func(rel string) int { return len(read(rel)) },
		"ago":  func(d string) string { return at(t, d, -1) },
		"in":   func(d string) string { return at(t, d, 1) },
		"list": func(s ...string) []string { return s },
	}).Parse(lockTmpl)
	if err != nil {
		t.Fatal(err)
	}
	var lock bytes.Buffer
	if err := tmpl.Execute(&lock, nil); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "jobs.lock"), lock.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}

	render := func(args ...string) string {
		var out, errb bytes.Buffer
		args = append(append([]string{"plan"}, args...), flags...)
		if code := run(t.Context(), append(args, manifestPath), &streams{out: &out, err: &errb}); code != exitOK {
			t.Fatalf("plan exit %d: %s", code, errb.String())
		}
		return inFlightSince.ReplaceAllString(out.String(), "since HH:MM:SS")
	}
	return render(), render("--json")
}

// at is now plus or minus a duration, as the lockfile writes times.
func at(t *testing.T, d string, sign time.Duration) string {
	dur, err := time.ParseDuration(d)
	if err != nil {
		t.Fatal(err)
	}
	return time.Now().Add(sign * dur).UTC().Format(time.RFC3339)
}

func section(ar *txtar.Archive, name string) string {
	for _, f := range ar.Files {
		if f.Name == name {
			return string(f.Data)
		}
	}
	return ""
}

func setSection(ar *txtar.Archive, name, data string) {
	for i, f := range ar.Files {
		if f.Name == name {
			ar.Files[i].Data = []byte(data)
			return
		}
	}
	ar.Files = append(ar.Files, txtar.File{Name: name, Data: []byte(data)})
}

// TestPlanColours shows the symbols coloured on a terminal and plain
// otherwise (NO_COLOR and pipes get the plain form).
func TestPlanColours(t *testing.T) {
	for _, tt := range []struct {
		color     bool
		sym, want string
	}{
		{false, "+", "  +"},
		{true, "+", "  \x1b[32m+\x1b[0m"},
		{true, "-/+", "\x1b[35m-/+\x1b[0m"},
		{true, "↻", "  \x1b[36m↻\x1b[0m"},
	} {
		v := &humanPlanView{st: style{color: tt.color}}
		if got := v.symbol(tt.sym); got != tt.want {
			t.Errorf("symbol(%q) with colour %v = %q, want %q", tt.sym, tt.color, got, tt.want)
		}
	}
	if newStyle(&bytes.Buffer{}, func(string) string { return "" }).color {
		t.Error("a pipe got colours")
	}
}
