package runner

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

func TestSpreadEstimate(t *testing.T) {
	s := time.Second
	exact := func(d time.Duration) observation { return observation{At: d} }
	ended := func(d time.Duration) observation { return observation{At: d, Ended: true} }
	tests := []struct {
		name string
		obs  []observation
		want []mass
	}{
		{"durations only", []observation{exact(4 * s), exact(1 * s), exact(3 * s), exact(2 * s)},
			[]mass{{1 * s, 0.25}, {2 * s, 0.25}, {3 * s, 0.25}, {4 * s, 0.25}}},
		// Two of four tasks ended by 2 s, and none was seen running below
		// it: their half lies somewhere under 2 s, put at 1 s.
		{"found done, nothing seen below", []observation{ended(2 * s), exact(3 * s), ended(2 * s), exact(4 * s)},
			[]mass{{1 * s, 0.5}, {3 * s, 0.25}, {4 * s, 0.25}}},
		// A task ended by 3 s goes with the durations seen below 3 s.
		{"found done, a duration below", []observation{exact(1 * s), ended(3 * s), exact(4 * s)},
			[]mass{{1 * s, 2.0 / 3}, {4 * s, 1.0 / 3}}},
		// Ended by 2 s may be exactly 2 s: it shares with the duration
		// there and with what lies below.
		{"tie", []observation{exact(2 * s), ended(2 * s), exact(4 * s)},
			[]mass{{1 * s, 1.0 / 3}, {2 * s, 1.0 / 3}, {4 * s, 1.0 / 3}}},
		{"found done only", []observation{ended(2 * s)}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var sp spread
			for _, o := range tt.obs {
				sp.add(o)
			}
			if len(sp.dist) != len(tt.want) {
				t.Fatalf("dist = %v, want %v", sp.dist, tt.want)
			}
			for i, m := range sp.dist {
				if m.At != tt.want[i].At || math.Abs(m.Share-tt.want[i].Share) > 1e-9 {
					t.Fatalf("dist = %v, want %v", sp.dist, tt.want)
				}
			}
		})
	}
}

// TestSpreadCountsTasksFoundDone: a model's tasks are read at a first-read
// time t0, and one in 16 early. Those done by t0 tell only that; the
// durations of those still running lean long. The estimate must count the
// done ones: the share done by t0 and the mean come out right, where the
// durations seen alone would put the mean a fifth too long.
func TestSpreadCountsTasksFoundDone(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	const t0 = 2 * time.Second
	var sp spread
	var seen, seenN float64
	for i := range spreadSamples {
		d := time.Second + time.Duration(r.Int64N(int64(2*time.Second))) // uniform over 1–3 s
		switch {
		case i%exploreEvery == 0 || d > t0:
			sp.add(observation{At: d})
			seen += d.Seconds()
			seenN++
		default:
			sp.add(observation{At: t0, Ended: true})
		}
	}
	var done float64
	for _, m := range sp.dist {
		if m.At <= t0 {
			done += m.Share
		}
	}
	if math.Abs(done-0.5) > 0.1 {
		t.Errorf("share done by %s = %.2f, want about 0.5", t0, done)
	}
	if got := time.Duration(sp.mean()).Seconds(); math.Abs(got-2) > 0.15 {
		t.Errorf("mean %.2f s, want about 2 s (the durations seen alone: %.2f s)", got, seen/seenN)
	}
}

// TestSpreadKeepsTheLatest: past spreadSamples, the oldest observation
// goes, so that a model that speeds up is seen to.
func TestSpreadKeepsTheLatest(t *testing.T) {
	var sp spread
	for range spreadSamples {
		sp.add(observation{At: 10 * time.Second})
	}
	for range spreadSamples {
		sp.add(observation{At: time.Second})
	}
	if len(sp.obs) != spreadSamples || sp.exact != spreadSamples || sp.mean() != float64(time.Second) {
		t.Fatalf("%d observations, %d durations, mean %s; want %d of 1 s", len(sp.obs), sp.exact, time.Duration(sp.mean()), spreadSamples)
	}
}
