package runner

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/apipod/apipod-batch/lockfile"
)

// evenly gives each duration the same share.
func evenly(ds ...time.Duration) []mass {
	dist := make([]mass, len(ds))
	for i, d := range ds {
		dist[i] = mass{At: d, Share: 1 / float64(len(ds))}
	}
	return dist
}

func TestBestFirstRead(t *testing.T) {
	dist := evenly(1*time.Second, 2*time.Second, 3*time.Second, 4*time.Second)
	tests := []struct {
		name    string
		tau     time.Duration
		want    time.Duration
		wantLag time.Duration
	}{
		// Lag is dear: read at the first end, the rest are read twice.
		{"lag dear", time.Millisecond, time.Second, 0},
		// Reads are dear: read once, after the last end; lag (3+2+1)/4 s.
		{"reads dear", time.Hour, 4 * time.Second, 1500 * time.Millisecond},
		// At τ = 1.5 s, reading at 2 s costs 2/4 + 0.25 s ÷ 1.5 s = 0.67;
		// at 1 s 0.75, at 3 s 1/4 + 0.75/1.5 = 0.75, at 4 s 1.5/1.5 = 1.
		{"balanced", 1500 * time.Millisecond, 2 * time.Second, 250 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			at, lag := bestFirstRead(dist, float64(tt.tau))
			if at != tt.want || time.Duration(lag) != tt.wantLag {
				t.Fatalf("bestFirstRead(τ=%s) = %s, lag %s; want %s, lag %s", tt.tau, at, time.Duration(lag), tt.want, tt.wantLag)
			}
		})
	}
}

// spreadModel feeds d n tasks of a model whose durations are uniform over
// [lo, hi], each read unbiased while running, as the cold reads and the
// exploring reads are.
func spreadModel(d *durations, r *rand.Rand, model string, n int, lo, hi time.Duration) {
	for range n {
		dur := lo + time.Duration(r.Int64N(int64(hi-lo)))
		reads := &taskReads{Unbiased: true, Readings: []ProgressSample{{At: dur / 4, Percent: 10}, {At: dur / 2, Percent: 40}}}
		// The readings say 10% → 40% over a quarter of the task: it ends at
		// dur/2 + 60 × (dur/4 ÷ 30) = dur.
		d.running(model, reads)
		d.learn(model, dur, reads)
	}
}

// TestFirstReadsSpendTheLagBudget: with two models, the run's expected lag
// at the first reads is lagBudget of its work, and the model of short tasks
// takes its first read later in its spread than the model of long tasks:
// a wasted share of a short task costs less slot time.
func TestFirstReadsSpendTheLagBudget(t *testing.T) {
	d := newDurations(&lockfile.File{})
	r := rand.New(rand.NewPCG(1, 2))
	spreadModel(d, r, "image", 48, time.Second, 3*time.Second)
	spreadModel(d, r, "video", 48, 5*time.Second, 15*time.Second)
	img, ok1 := d.firstReadAt("image", false)
	vid, ok2 := d.firstReadAt("video", false)
	if !ok1 || !ok2 {
		t.Fatal("first reads not placed")
	}
	shareDone := func(model string, at time.Duration) float64 {
		var done float64
		for _, m := range d.models[model].spread.dist {
			if m.At <= at {
				done += m.Share
			}
		}
		return done
	}
	fImg, fVid := shareDone("image", img), shareDone("video", vid)
	if fImg <= fVid {
		t.Errorf("done at the first read: images %.2f, videos %.2f; want more images", fImg, fVid)
	}
	var lag, work float64
	for _, m := range []string{"image", "video"} {
		ms := d.models[m]
		for _, m := range ms.spread.dist {
			lag += m.Share * math.Max(0, float64(ms.firstAt-m.At))
			work += m.Share * float64(m.At)
		}
	}
	if got := lag / work; math.Abs(got-lagBudget) > lagBudget/4 {
		t.Errorf("expected lag %.3f of the work, want about %.3f", got, lagBudget)
	}
}

// TestExploringReads: about one task in exploreEvery is read early, before
// the shortest task of its model ends; which ones is fixed by the task id.
func TestExploringReads(t *testing.T) {
	d := newDurations(&lockfile.File{})
	spreadModel(d, rand.New(rand.NewPCG(3, 4)), "m", 20, time.Second, 2*time.Second)
	explored := 0
	for i := range 1600 {
		id := fmt.Sprintf("task-%d", i)
		explore, unbiased := d.firstReadPlan("m", id)
		if again, _ := d.firstReadPlan("m", id); again != explore || unbiased != explore {
			t.Fatalf("%s: plan not stable, or an exploring read not unbiased", id)
		}
		if explore {
			explored++
		}
	}
	if explored < 1600/exploreEvery/2 || explored > 1600/exploreEvery*2 {
		t.Errorf("%d of 1600 tasks explore, want about %d", explored, 1600/exploreEvery)
	}
	early, _ := d.firstReadAt("m", true)
	if shortest := d.models["m"].spread.shortest(); early >= shortest {
		t.Errorf("exploring read at %s, want before the shortest task, %s", early, shortest)
	}
	if explore, unbiased := d.firstReadPlan("new", "x"); explore || !unbiased {
		t.Errorf("a model with no history: explore %v, unbiased %v; want every read unbiased", explore, unbiased)
	}
}

// TestColdReadsMoveEarlier: a model whose tasks all end before the first
// cold read (poll.initial) would never be seen running, so it could never
// learn its spread; its cold reads move earlier until they see one.
func TestColdReadsMoveEarlier(t *testing.T) {
	d := newDurations(&lockfile.File{})
	p := newAdaptivePoller(d, 2*time.Second, 30*time.Second)
	before := p.Wait(PollState{Model: "fast"})
	for range 5 {
		d.learn("fast", 2*time.Second, &taskReads{Unbiased: true}) // done at its first read
	}
	after := p.Wait(PollState{Model: "fast"})
	if after >= before/2 {
		t.Fatalf("cold first read %s → %s; want it at least halved", before, after)
	}
	// Observed durations are only those reads' times: not a model that
	// reports no progress, so its reads stay on the cold schedule.
	if d.byQuantiles("fast") {
		t.Fatal("a model seen only done is read at the quantiles of its read times")
	}
}
