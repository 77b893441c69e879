package runner_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/apipod/apipod-batch/lockfile"
	"github.com/apipod/apipod-batch/manifest"
	"github.com/apipod/apipod-batch/runner"
)

// planEnv is a manifest with a lockfile built in memory and outputs on
// disk: everything MakePlan reads, with no network.
type planEnv struct {
	t    *testing.T
	dir  string
	m    *manifest.Manifest
	lock *lockfile.File
	now  time.Time
}

const planYAML = `version: 1
jobs:
  hero:
    model: nano-banana-2
    prompt: "a red mug"
    params: {aspect_ratio: "16:9"}
    tags: [web]
  hero-clip:
    model: veo3-1-fast
    prompt: "slow push-in"
    params: {image_urls: ["${jobs.hero.result[0]}"]}
  banner:
    matrix: {lang: [en, de]}
    model: nano-banana-2
    prompt: "sale in ${matrix.lang}"
  other:
    model: seedream-v4.5
    prompt: "a blue mug"
`

func newPlanEnv(t *testing.T, yaml string) *planEnv {
	t.Helper()
	e := &planEnv{t: t, dir: t.TempDir(), lock: &lockfile.File{Version: 1, Jobs: map[string]*lockfile.Job{}},
		now: time.Date(2026, 3, 4, 15, 0, 0, 0, time.UTC)}
	e.reload(yaml)
	return e
}

// reload replaces the manifest, keeping the lockfile and the files.
func (e *planEnv) reload(yaml string) {
	e.t.Helper()
	path := filepath.Join(e.dir, "jobs.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o644); err != nil {
		e.t.Fatal(err)
	}
	m, err := manifest.Load(path, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	e.m = m
}

func (e *planEnv) plan(opts runner.PlanOptions) *runner.Plan {
	e.t.Helper()
	opts.Now = e.now
	p, err := runner.MakePlan(e.m, e.lock, opts)
	if err != nil {
		e.t.Fatal(err)
	}
	return p
}

// request is the create body of a job as the runner sends it, job
// references replaced by the recorded upstream results.
func (e *planEnv) request(j *manifest.Job) json.RawMessage {
	prompt, params, err := j.Resolve(func(id string) []string { return e.lock.Jobs[id].Results })
	if err != nil {
		e.t.Fatal(err)
	}
	req := map[string]any{"model": j.Model, "prompt": prompt}
	for k, v := range params {
		req[k] = v
	}
	b, _ := json.Marshal(req)
	return b
}

// doneAll records every job as done with one output each, upstream first.
func (e *planEnv) doneAll() {
	e.t.Helper()
	hashes := map[string]string{}
	for _, s := range e.plan(runner.PlanOptions{}).Steps {
		hashes[s.Job.ID] = s.SpecHash()
	}
	var done func(j *manifest.Job)
	done = func(j *manifest.Job) {
		if e.lock.Jobs[j.ID] != nil {
			return
		}
		for _, id := range j.Needs {
			done(e.m.Job(id))
		}
		rel := "out/" + j.ID + "/0.png"
		data := []byte("image of " + j.ID)
		e.write(rel, data)
		sum := sha256.Sum256(data)
		e.lock.Jobs[j.ID] = &lockfile.Job{SpecHash: hashes[j.ID], Model: j.Model, Kind: "image",
			Attempts: []*lockfile.Attempt{{N: 1, SpecHash: hashes[j.ID], Status: "completed", TaskID: "task-" + j.ID, Cost: "0.04"}},
			Results:  []string{"https://files.example/" + j.ID + "/0.png"}, CompletedAt: e.now.Add(-time.Hour),
			ExpiresAt: e.now.Add(23 * time.Hour),
			Outputs:   []lockfile.Output{{Path: rel, SHA256: hex.EncodeToString(sum[:]), Bytes: int64(len(data))}}}
		e.lock.Jobs[j.ID].Request = e.request(j)
	}
	for _, j := range e.m.Jobs {
		done(j)
	}
}

func (e *planEnv) write(rel string, data []byte) {
	e.t.Helper()
	path := filepath.Join(e.dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		e.t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		e.t.Fatal(err)
	}
}

// actions renders a plan as "symbol id: reason" lines, skips left out.
func actions(p *runner.Plan) string {
	var b strings.Builder
	for _, s := range p.Steps {
		if s.Action != runner.Skip {
			fmt.Fprintf(&b, "%s %s: %s\n", s.Symbol(), s.Job.ID, s.Reason)
		}
	}
	return b.String()
}

func TestPlanUpToDate(t *testing.T) {
	e := newPlanEnv(t, planYAML)
	if got := actions(e.plan(runner.PlanOptions{})); got != "+ banner.de: new\n+ banner.en: new\n+ hero: new\n+ hero-clip: new\n+ other: new\n" {
		t.Fatalf("fresh plan:\n%s", got)
	}
	e.doneAll()
	p := e.plan(runner.PlanOptions{})
	if p.Pending() || len(p.Orphans) != 0 {
		t.Fatalf("done plan has work:\n%s", actions(p))
	}
}

func TestPlanPropagatesToDependents(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(e *planEnv)
		opts  func(e *planEnv) runner.PlanOptions
		want  string
		clipU []string
	}{
		{name: "replace", opts: func(e *planEnv) runner.PlanOptions {
			return runner.PlanOptions{Replace: func(id string) bool { return id == "hero" }}
		}, want: "-/+ hero: --replace\n-/+ hero-clip: upstream hero regenerates\n"},
		{name: "upstream failed last time", edit: func(e *planEnv) {
			e.lock.Jobs["hero"].Attempts = append(e.lock.Jobs["hero"].Attempts, &lockfile.Attempt{N: 2, Status: "failed", ErrorMessage: "boom"})
		}, want: "! hero: last attempt failed: boom\n-/+ hero-clip: upstream hero regenerates\n"},
		{name: "upstream in flight", edit: func(e *planEnv) {
			e.lock.Jobs["hero"].Attempts = append(e.lock.Jobs["hero"].Attempts,
				&lockfile.Attempt{N: 2, Status: "processing", TaskID: "t2", SubmittedAt: e.now.Add(-time.Minute)})
		}, want: "⟳ hero: in flight since " + time.Date(2026, 3, 4, 14, 59, 0, 0, time.UTC).Local().Format("15:04:05") +
			"\n-/+ hero-clip: upstream hero regenerates\n"},
		{name: "create sent, answer not recorded", edit: func(e *planEnv) {
			e.lock.Jobs["hero"].Attempts = append(e.lock.Jobs["hero"].Attempts,
				&lockfile.Attempt{N: 2, SpecHash: e.lock.Jobs["hero"].SpecHash, Status: "submitting", IdempotencyKey: "k2"})
		}, want: "⟳ hero: create sent, its answer not recorded\n-/+ hero-clip: upstream hero regenerates\n"},
		{name: "upstream output lost, URLs valid", edit: func(e *planEnv) {
			os.Remove(filepath.Join(e.dir, "out/hero/0.png"))
		}, want: "↻ hero: out/hero/0.png missing\n"},
		{name: "upstream output lost, URLs expired", edit: func(e *planEnv) {
			os.Remove(filepath.Join(e.dir, "out/hero/0.png"))
			e.now = e.now.Add(48 * time.Hour)
		}, want: "-/+ hero: out/hero/0.png missing and the result URLs expired\n-/+ hero-clip: upstream hero regenerates\n"},
		{name: "upstream regenerated in an earlier targeted run", edit: func(e *planEnv) {
			e.lock.Jobs["hero"].Results = []string{"https://files.example/hero/new.png"}
		}, want: "-/+ hero-clip: made from older results of hero\n"},
		{name: "upstream done, URLs expired", edit: func(e *planEnv) {
			e.reload(strings.Replace(planYAML, `"slow push-in"`, `"fast push-in"`, 1))
			e.now = e.now.Add(48 * time.Hour)
		}, want: "~ hero-clip: spec changed; the result URLs of upstream hero expired: add --replace hero\n"},
		{name: "upstream spec changed", edit: func(e *planEnv) {
			e.reload(strings.Replace(planYAML, `"a red mug"`, `"a green mug"`, 1))
		}, want: "~ hero: spec changed\n-/+ hero-clip: upstream hero regenerates\n"},
		{name: "upstream spec changed, dependent's too", edit: func(e *planEnv) {
			e.reload(strings.NewReplacer(`"a red mug"`, `"a green mug"`, `"slow push-in"`, `"fast push-in"`).Replace(planYAML))
		}, want: "~ hero: spec changed\n~ hero-clip: spec changed\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newPlanEnv(t, planYAML)
			e.doneAll()
			if tt.edit != nil {
				tt.edit(e)
			}
			var opts runner.PlanOptions
			if tt.opts != nil {
				opts = tt.opts(e)
			}
			p := e.plan(opts)
			if got := actions(p); got != tt.want {
				t.Fatalf("plan:\n%s\nwant:\n%s", got, tt.want)
			}
			for _, s := range p.Steps {
				if s.Job.ID == "hero-clip" && strings.Contains(s.Reason, "hero regenerates") && !reflect.DeepEqual(s.Upstream, []string{"hero"}) {
					t.Errorf("hero-clip upstream %v", s.Upstream)
				}
			}
		})
	}
}

func TestPlanChanges(t *testing.T) {
	e := newPlanEnv(t, planYAML)
	e.doneAll()
	e.reload(strings.NewReplacer(`prompt: "a red mug"`, `prompt: "a red mug on a table"`,
		`params: {aspect_ratio: "16:9"}`, `params: {quality: 2K}`,
		`params: {image_urls:`, `params: {duration: 8, image_urls:`).Replace(planYAML))
	p := e.plan(runner.PlanOptions{})
	got := map[string][]string{}
	for _, s := range p.Steps {
		for _, c := range s.Changes {
			got[s.Job.ID] = append(got[s.Job.ID], fmt.Sprintf("%s: %s → %s", c.Field, c.Old, c.New))
		}
	}
	want := map[string][]string{
		"hero": {`prompt: "a red mug" → "a red mug on a table"`, `aspect_ratio: "16:9" → `, `quality:  → "2K"`},
		// image_urls holds a reference: the recorded URL is what it resolves to.
		"hero-clip": {`duration:  → 8`},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("changes %q\nwant %q", got, want)
	}
	if got := actions(p); got != "~ hero: spec changed\n~ hero-clip: spec changed\n" {
		t.Fatalf("plan:\n%s", got)
	}
}

func TestPlanDrift(t *testing.T) {
	tests := []struct {
		name string
		edit func(e *planEnv)
		want string
	}{
		{"deleted", func(e *planEnv) { os.Remove(filepath.Join(e.dir, "out/other/0.png")) }, "↻ other: out/other/0.png missing\n"},
		{"truncated", func(e *planEnv) { e.write("out/other/0.png", []byte("image")) },
			"↻ other: out/other/0.png changed (5 bytes, recorded 14)\n"},
		{"edited, same size", func(e *planEnv) { e.write("out/other/0.png", []byte("IMAGE OF other")) },
			"↻ other: out/other/0.png modified\n"},
		{"edited, URLs expired", func(e *planEnv) {
			e.write("out/other/0.png", []byte("IMAGE OF other"))
			e.now = e.now.Add(24 * time.Hour)
		}, "-/+ other: out/other/0.png modified and the result URLs expired\n"},
		{"download unfinished", func(e *planEnv) { e.lock.Jobs["other"].Outputs = nil }, "↻ other: download unfinished\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newPlanEnv(t, planYAML)
			e.doneAll()
			tt.edit(e)
			if got := actions(e.plan(runner.PlanOptions{})); got != tt.want {
				t.Fatalf("plan:\n%s\nwant:\n%s", got, tt.want)
			}
		})
	}
}

func TestPlanTarget(t *testing.T) {
	e := newPlanEnv(t, planYAML)
	tests := []struct {
		sels []string
		want []string
	}{
		{[]string{"hero-clip"}, []string{"hero", "hero-clip"}},
		{[]string{"banner"}, []string{"banner.de", "banner.en"}},
		{[]string{"banner.*"}, []string{"banner.de", "banner.en"}},
		{[]string{"tag:web", "other"}, []string{"hero", "other"}},
		{[]string{"*.en"}, []string{"banner.en"}},
	}
	for _, tt := range tests {
		target, err := runner.Select(e.m, tt.sels)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, s := range e.plan(runner.PlanOptions{Target: target}).Steps {
			got = append(got, s.Job.ID)
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("--target %v: %v, want %v", tt.sels, got, tt.want)
		}
	}
	for sel, want := range map[string]string{
		"nope":     `selector "nope" matches no job`,
		"tag:none": `selector "tag:none" matches no job`,
		"[":        `selector "[": syntax error in pattern`,
	} {
		if _, err := runner.Select(e.m, []string{"hero", sel}); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Select(%q) = %v, want %q", sel, err, want)
		}
	}
}

func TestPlanOrphansAndEstimate(t *testing.T) {
	e := newPlanEnv(t, planYAML)
	e.doneAll()
	e.lock.Jobs["old-job"] = &lockfile.Job{Model: "veo3-1-fast", Outputs: []lockfile.Output{{Path: "out/old-job/0.mp4"}},
		Attempts: []*lockfile.Attempt{{N: 1, Status: "completed", Cost: "$0.50"}}}
	e.lock.Jobs["other"].Attempts[0].Cost = ""
	e.lock.Jobs["banner.de"].Attempts[0].Cost = "0.08 USD"
	p := e.plan(runner.PlanOptions{Replace: func(id string) bool { return id != "hero-clip" }})
	if want := []runner.Orphan{{ID: "old-job", Model: "veo3-1-fast", Outputs: 1}}; !reflect.DeepEqual(p.Orphans, want) {
		t.Fatalf("orphans %+v", p.Orphans)
	}
	// Every job regenerates, hero-clip through hero. nano-banana-2 averages
	// 0.04, 0.04 and 0.08 over hero and the banners, veo3-1-fast 0.04 and
	// 0.50 over hero-clip and old-job; seedream-v4.5 has no price.
	est := p.Estimate()
	if est.Tasks != 5 || fmt.Sprintf("%.4f", est.Cost) != "0.4300" || !reflect.DeepEqual(est.Unpriced, map[string]int{"seedream-v4.5": 1}) {
		t.Fatalf("estimate %+v", est)
	}
	if p.Price("veo3-1-fast") != 0.27 {
		t.Fatalf("price %v", p.Price("veo3-1-fast"))
	}
	target, _ := runner.Select(e.m, []string{"other"})
	if p := e.plan(runner.PlanOptions{Target: target}); len(p.Orphans) != 0 {
		t.Fatalf("targeted plan lists orphans %+v", p.Orphans)
	}
}
