// Command bench measures how close apipod-batch comes to the physical limit
// of a batch run: with parallelism C and task durations d_i, no schedule
// finishes sooner than max(Σd_i/C, max d_i), and the best client sees each
// completion the instant it happens, with one status read per task.
//
// It runs apply against the fake API (apipod/apipodtest) with task durations
// drawn from a realistic spread — images 1–3 s, videos 5–15 s, multiplied by
// -scale — once with the adaptive poller and once with a fixed-cadence
// baseline (3 s, then 8 s, then 20 s, scaled the same way), each in a child
// process so that its CPU time and peak memory are its own:
//
//	go run ./bench -jobs 1000 -scale 0.1
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/apipod/apipod-batch/apipod"
	"github.com/apipod/apipod-batch/apipod/apipodtest"
)

type config struct {
	jobs        int
	scale       float64
	parallelism int
	videoShare  float64
	seed        uint64
	spread      string  // "model" or "uniform"
	sigma       float64 // of a task's lognormal factor, with spread "model"
	baseline    bool    // also run the fixed-cadence baseline
	timings     string  // write each task's timings to this path + strategy + ".jsonl"
}

func main() {
	if os.Getenv(childEnv) == "1" {
		os.Exit(runChild())
	}
	var cfg config
	flag.IntVar(&cfg.jobs, "jobs", 1000, "number of jobs")
	flag.Float64Var(&cfg.scale, "scale", 0.1, "multiply every duration (task times and poll cadence) by this")
	flag.IntVar(&cfg.parallelism, "parallelism", 32, "tasks in flight at once")
	flag.Float64Var(&cfg.videoShare, "video-share", 0.2, "fraction of jobs that are videos")
	flag.Uint64Var(&cfg.seed, "seed", 1, "seed of the task durations")
	flag.StringVar(&cfg.spread, "spread", "model", `how durations are drawn: "model" (each model its typical time, times a lognormal factor) or "uniform" (one image and one video model, uniform over the whole range)`)
	flag.Float64Var(&cfg.sigma, "sigma", 0.2, `σ of a task's lognormal factor around its model's typical time (-spread model)`)
	flag.BoolVar(&cfg.baseline, "baseline", true, "also run the fixed-cadence baseline (-baseline=false halves the time while tuning)")
	flag.StringVar(&cfg.timings, "timings", "", "write each task's timings (model, created, ended, seen, reads) as JSON lines to `prefix`.adaptive.jsonl and prefix.fixed.jsonl")
	flag.Parse()
	if err := run(cfg, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// figures are the measurements of one strategy.
type figures struct {
	Strategy       string
	Makespan       time.Duration
	LowerBound     time.Duration
	ReadsPerTask   float64
	LagP50, LagP95 time.Duration
	LagP50Rel      float64 // median of lag ÷ the task's duration
	ReadsHist      [5]int  // tasks read 1, 2, 3, 4, 5+ times
	// Shares of the slot time (parallelism × makespan): tasks running, and
	// tasks finished but not yet seen, read once or more; the rest is idle
	// or between tasks.
	Running, UnseenOnce, UnseenMore float64
	Child                           childReport
}

// childEnv makes the binary (or the test binary) run one apply and report.
const childEnv = "BENCH_CHILD"

func run(cfg config, out io.Writer) error {
	spread := "uniform over the range, one model per kind"
	if cfg.spread == "model" {
		spread = fmt.Sprintf("%d models, each its typical time × lognormal σ %g", len(benchModels), cfg.sigma)
	}
	fmt.Fprintf(out, "jobs %d, parallelism %d, scale %g (images %s–%s, videos %s–%s; %s), %d%% videos\n\n",
		cfg.jobs, cfg.parallelism, cfg.scale, scaled(cfg, time.Second), scaled(cfg, 3*time.Second),
		scaled(cfg, 5*time.Second), scaled(cfg, 15*time.Second), spread, int(cfg.videoShare*100))
	strategies := []string{"adaptive", "fixed-3s/8s/20s"}
	if !cfg.baseline {
		strategies = strategies[:1]
	}
	var all []figures
	for _, strategy := range strategies {
		f, err := measure(cfg, strategy)
		if err != nil {
			return fmt.Errorf("%s: %w", strategy, err)
		}
		all = append(all, f)
	}
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "strategy\tmakespan\tlower bound\tratio\treads/task\tlag p50\tlag p95\tlag p50/duration\tpeak RSS\tCPU/job user+sys\tlock written/final\t")
	for _, f := range all {
		fmt.Fprintf(w, "%s\t%s\t%s\t%.3f\t%.2f\t%s\t%s\t%.1f%%\t%.0f MB\t%s+%s\t%.1f×\t\n",
			f.Strategy, f.Makespan.Round(time.Millisecond), f.LowerBound.Round(time.Millisecond),
			float64(f.Makespan)/float64(f.LowerBound), f.ReadsPerTask,
			f.LagP50.Round(time.Millisecond), f.LagP95.Round(time.Millisecond), 100*f.LagP50Rel,
			float64(f.Child.MaxRSSKB)/1024, perJob(f.Child.User, cfg.jobs), perJob(f.Child.Sys, cfg.jobs),
			float64(f.Child.LockWritten)/float64(max(1, f.Child.LockFinal)))
	}
	if err := w.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(out)
	for _, f := range all {
		unseen := f.UnseenOnce + f.UnseenMore
		fmt.Fprintf(out, "%s: tasks read 1/2/3/4/5+ times: %v; slot time: running %.1f%%, finished but unseen %.1f%% (%.1f%% read once, %.1f%% read more), idle %.1f%%\n",
			f.Strategy, f.ReadsHist, 100*f.Running, 100*unseen, 100*f.UnseenOnce, 100*f.UnseenMore, 100*(1-f.Running-unseen))
	}
	return nil
}

func perJob(d time.Duration, jobs int) time.Duration {
	return (d / time.Duration(jobs)).Round(10 * time.Microsecond)
}

func scaled(cfg config, d time.Duration) time.Duration {
	return time.Duration(float64(d) * cfg.scale).Round(time.Millisecond)
}

// benchModel is a model a bench manifest uses and, with -spread model, its
// typical task duration before scaling. Real generation times depend mostly
// on the model (and its size settings); a model's tasks scatter around its
// typical time, and the models spread over the kind's range.
type benchModel struct {
	id      string
	kind    apipod.Kind
	typical time.Duration
}

var benchModels = []benchModel{
	{"nano-banana-2", apipod.KindImage, 1200 * time.Millisecond},
	{"seedream-5.0-lite", apipod.KindImage, 1500 * time.Millisecond},
	{"seedream-v4.5", apipod.KindImage, 1800 * time.Millisecond},
	{"wan2.7-image", apipod.KindImage, 2100 * time.Millisecond},
	{"nano-banana-pro", apipod.KindImage, 2400 * time.Millisecond},
	{"wan2.7-image-pro", apipod.KindImage, 2700 * time.Millisecond},
	{"veo3-1-fast", apipod.KindVideo, 6 * time.Second},
	{"seedance-2.0-fast-t2v", apipod.KindVideo, 9 * time.Second},
	{"seedance-2.0-t2v", apipod.KindVideo, 12 * time.Second},
}

// durationOf draws a task's duration from the job's prompt, so both
// strategies see the same tasks.
func durationOf(cfg config, model string, kind apipod.Kind, prompt string) time.Duration {
	h := uint64(14695981039346656037)
	for _, c := range []byte(prompt) {
		h = (h ^ uint64(c)) * 1099511628211
	}
	r := rand.New(rand.NewPCG(cfg.seed, h))
	lo, hi := time.Second, 3*time.Second
	if kind == apipod.KindVideo {
		lo, hi = 5*time.Second, 15*time.Second
	}
	if cfg.spread == "uniform" {
		return scaled(cfg, lo+time.Duration(r.Int64N(int64(hi-lo))))
	}
	typical := lo
	for _, m := range benchModels {
		if m.id == model {
			typical = m.typical
		}
	}
	d := time.Duration(float64(typical) * math.Exp(cfg.sigma*r.NormFloat64()))
	return scaled(cfg, min(max(d, lo), hi))
}

func measure(cfg config, strategy string) (figures, error) {
	if cfg.videoShare < 0 || cfg.videoShare > 1 || cfg.jobs < 1 || cfg.parallelism < 1 || cfg.scale <= 0 || cfg.sigma < 0 {
		return figures{}, fmt.Errorf("want jobs ≥ 1, parallelism ≥ 1, scale > 0, sigma ≥ 0 and 0 ≤ video-share ≤ 1")
	}
	if cfg.spread != "model" && cfg.spread != "uniform" {
		return figures{}, fmt.Errorf(`-spread %q: want "model" or "uniform"`, cfg.spread)
	}
	srv := apipodtest.NewServer(apipodtest.Options{
		APIKey: "sk-bench",
		Duration: func(model string, kind apipod.Kind, body map[string]any) time.Duration {
			return durationOf(cfg, model, kind, fmt.Sprint(body["prompt"]))
		},
	})
	defer srv.Close()
	dir, err := os.MkdirTemp("", "apipod-bench-")
	if err != nil {
		return figures{}, err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "jobs.yaml")
	if err := os.WriteFile(path, manifestYAML(cfg), 0o644); err != nil {
		return figures{}, err
	}
	exe, err := os.Executable()
	if err != nil {
		return figures{}, err
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), childEnv+"=1", "BENCH_MANIFEST="+path, "BENCH_URL="+srv.URL, "BENCH_STRATEGY="+strategy,
		fmt.Sprintf("BENCH_SCALE=%g", cfg.scale), fmt.Sprintf("BENCH_PARALLELISM=%d", cfg.parallelism))
	cmd.Stderr = os.Stderr
	raw, err := cmd.Output()
	if err != nil {
		return figures{}, fmt.Errorf("child: %w", err)
	}
	var rep childReport
	if err := json.Unmarshal(raw, &rep); err != nil {
		return figures{}, fmt.Errorf("child report: %w", err)
	}
	if rep.Done != cfg.jobs {
		return figures{}, fmt.Errorf("child finished %d of %d jobs", rep.Done, cfg.jobs)
	}
	ts := srv.Timings()
	if cfg.timings != "" {
		if err := writeTimings(cfg.timings+"."+strings.Split(strategy, "-")[0]+".jsonl", ts); err != nil {
			return figures{}, err
		}
	}
	return analyse(cfg, strategy, rep, ts), nil
}

func analyse(cfg config, strategy string, rep childReport, ts []apipodtest.TaskTiming) figures {
	f := figures{Strategy: strategy, Makespan: rep.Wall, Child: rep}
	var sum, longest, lagOnce, lagMore time.Duration
	var lags []time.Duration
	var rel []float64
	reads := 0
	for _, t := range ts {
		d := t.Ended.Sub(t.Created)
		sum += d
		longest = max(longest, d)
		reads += t.StatusReads
		f.ReadsHist[min(max(t.StatusReads, 1), 5)-1]++
		if !t.SeenEnded.IsZero() {
			lag := t.SeenEnded.Sub(t.Ended)
			lags = append(lags, lag)
			if t.StatusReads == 1 {
				lagOnce += lag
			} else {
				lagMore += lag
			}
			rel = append(rel, float64(lag)/float64(d))
		}
	}
	f.LowerBound = max(sum/time.Duration(cfg.parallelism), longest)
	slot := float64(rep.Wall) * float64(cfg.parallelism)
	f.Running, f.UnseenOnce, f.UnseenMore = float64(sum)/slot, float64(lagOnce)/slot, float64(lagMore)/slot
	f.ReadsPerTask = float64(reads) / float64(max(1, len(ts)))
	slices.Sort(lags)
	slices.Sort(rel)
	if len(lags) > 0 {
		f.LagP50, f.LagP95 = lags[len(lags)/2], lags[len(lags)*95/100]
		f.LagP50Rel = rel[len(rel)/2]
	}
	return f
}

func manifestYAML(cfg config) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "version: 1\nsettings:\n  parallelism: %d\n  retries: 0\n  poll: {initial: %s, max: %s}\njobs:\n",
		cfg.parallelism, scaled(cfg, 2*time.Second), scaled(cfg, 30*time.Second))
	r := rand.New(rand.NewPCG(cfg.seed, 7))
	var images, videos []benchModel
	for _, m := range benchModels {
		if m.kind == apipod.KindVideo {
			videos = append(videos, m)
		} else {
			images = append(images, m)
		}
	}
	if cfg.spread == "uniform" {
		images, videos = images[:1], videos[:1]
	}
	for i := range cfg.jobs {
		if r.Float64() < cfg.videoShare {
			fmt.Fprintf(&b, "  job-%05d: {model: %s, prompt: \"bench clip %d\"}\n", i, videos[r.IntN(len(videos))].id, i)
			continue
		}
		fmt.Fprintf(&b, "  job-%05d: {model: %s, prompt: \"bench image %d\"}\n", i, images[r.IntN(len(images))].id, i)
	}
	return []byte(b.String())
}

// rusage returns the process's user and system CPU time and its peak
// resident set in KiB.
func rusage() (user, sys time.Duration, maxRSSKB int64) {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano()), time.Duration(ru.Stime.Nano()), ru.Maxrss
}

// writeTimings writes one JSON object per task, in creation order, with
// times in nanoseconds since the Unix epoch.
func writeTimings(path string, ts []apipodtest.TaskTiming) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(f)
	for _, t := range ts {
		var seen int64
		if !t.SeenEnded.IsZero() {
			seen = t.SeenEnded.UnixNano()
		}
		if err := enc.Encode(map[string]any{"id": t.ID, "model": t.Model, "created": t.Created.UnixNano(),
			"ended": t.Ended.UnixNano(), "seen": seen, "reads": t.StatusReads}); err != nil {
			f.Close()
			return err
		}
	}
	return f.Close()
}
