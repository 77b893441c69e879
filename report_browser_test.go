package main

import (
	"bytes"
	"context"
	"encoding/json"
	"html"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/apipod/apipod-batch/apipod/apipodtest"
)

// reportManifest has 20 jobs: 16 images from a matrix, 2 more images and
// 2 videos, over three models and a few tags; the first two tasks fail.
const reportManifest = `version: 1
settings: {parallelism: 4, retries: 0, poll: {initial: 5ms, max: 20ms}}
defaults: {model: nano-banana-2}
jobs:
  look:
    matrix: {subject: [mug, bottle, bag, cap], light: [studio, sunset, neon, window]}
    prompt: "Product photo of the Acme ${matrix.subject}, ${matrix.light} light, on a plain backdrop, high detail"
    params: {aspect_ratio: "1:1"}
    tags: [catalog]
  hero:
    model: seedream-v4.5
    prompt: "Wide hero banner with the Acme mug on warm oak"
    params: {aspect_ratio: "16:9", quality: 2K}
    tags: [web, "a sale"]   # a tag with a space: the tag filter must still find it
  detail:
    model: seedream-v4.5
    prompt: "Macro detail of the glaze on the Acme mug"
    params: {aspect_ratio: "4:3"}
    tags: [web]
  clip:
    model: veo3-1-fast
    prompt: "Slow push-in on the Acme mug as steam rises"
    params: {aspect_ratio: "16:9"}
    tags: [video]
  clip-vertical:
    model: veo3-1-fast
    prompt: "A hand lifts the Acme mug off a table, vertical social clip"
    params: {aspect_ratio: "9:16"}
    tags: [video, social]
`

// chromium returns the path of a Chromium or Chrome binary, or skips.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("no chromium installed: apt-get install -y chromium (.ci/run does) to check the html report in a browser")
	return ""
}

// headless runs Chromium headless on a file URL with extra flags and
// returns what it printed on stdout.
func headless(t *testing.T, bin, url string, flags ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	args := append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--hide-scrollbars", "--user-data-dir=" + t.TempDir()}, flags...)
	cmd := exec.CommandContext(ctx, bin, append(args, url)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium %v: %v\n%s", flags, err, stderr.Bytes())
	}
	return out
}

// TestHTMLReportInBrowser applies 20 jobs against the fake API, writes the
// html report and opens it from disk in headless Chromium: every thumbnail
// must load, and each filter must hide cards. With -update the screenshot
// becomes docs/report.png.
func TestHTMLReportInBrowser(t *testing.T) {
	bin := chromium(t)
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	t.Chdir(dir)
	if err := os.WriteFile("jobs.yaml", []byte(reportManifest), 0o644); err != nil {
		t.Fatal(err)
	}
	srv := apipodtest.NewServer(apipodtest.Options{APIKey: fakeTestKey, Seed: 1, Faults: apipodtest.Faults{FailFirst: 2},
		Duration: apipodtest.Fixed(5 * time.Millisecond)})
	defer srv.Close()
	t.Setenv("APIPOD_BASE_URL", srv.URL)
	t.Setenv("APIPOD_API_KEY", fakeTestKey)
	t.Setenv("GITHUB_STEP_SUMMARY", "")
	page := filepath.Join(dir, "reports", "index.html")
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"apply", "--yes", "--quiet", "--report", "html=" + page,
		"jobs.yaml"}, &streams{in: strings.NewReader(""), out: &stdout, err: &stderr})
	if code != exitError || !strings.Contains(stdout.String(), "Total: 20 jobs, 18 done, 0 skipped, 2 failed") {
		t.Fatalf("apply exit %d, want 1 with 2 failed jobs\n%s%s", code, stdout.Bytes(), stderr.Bytes())
	}

	dom := headless(t, bin, "file://"+page+"#selftest", "--virtual-time-budget=5000", "--dump-dom")
	m := regexp.MustCompile(`(?s)<pre id="selftest"[^>]*>(.*?)</pre>`).FindSubmatch(dom)
	if m == nil || len(m[1]) == 0 {
		t.Fatalf("the page's self-test did not run; dom:\n%.2000s", dom)
	}
	var got struct {
		Cards, Images int
		Broken        []string
		Filters       map[string]struct {
			Value           string
			Visible, Hidden int
		}
	}
	if err := json.Unmarshal([]byte(html.UnescapeString(string(m[1]))), &got); err != nil {
		t.Fatalf("self-test result %s: %v", m[1], err)
	}
	t.Logf("self-test: %s", html.UnescapeString(string(m[1])))
	if got.Cards != 20 || got.Images < 14 || len(got.Broken) > 0 {
		t.Errorf("%d cards, %d images, broken %v; want 20 cards, every image loaded", got.Cards, got.Images, got.Broken)
	}
	for _, key := range []string{"tags", "model", "state"} {
		f, ok := got.Filters[key]
		if !ok || f.Visible == 0 || f.Hidden == 0 || f.Visible+f.Hidden != 20 {
			t.Errorf("filter %s = %+v: want some cards shown and some hidden", key, f)
		}
	}

	shot := filepath.Join(dir, "report.png")
	headless(t, bin, "file://"+page, "--window-size=1280,960", "--virtual-time-budget=3000", "--screenshot="+shot)
	png, err := os.ReadFile(shot)
	t.Chdir(wd)
	if err != nil || !bytes.HasPrefix(png, []byte("\x89PNG")) {
		t.Fatalf("no screenshot: %v", err)
	}
	if *update {
		if err := os.WriteFile(filepath.Join("docs", "report.png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
