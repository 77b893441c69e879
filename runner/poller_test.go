package runner

import (
	"testing"
	"time"

	"github.com/apipod/apipod-batch/lockfile"
)

// fakeModel teaches d tasks that queue for the first fifth of their
// duration and then report progress evenly, as the fake API's do.
func fakeModel(d *durations, model string, n int) {
	for i := range n {
		dur := time.Duration(1000+100*i) * time.Millisecond
		var rs []ProgressSample
		for _, share := range []float64{0.4, 0.6} {
			rs = append(rs, ProgressSample{At: time.Duration(share * float64(dur)), Percent: int(100 * (share - 0.2) / 0.8)})
		}
		d.learn(model, dur, &taskReads{Readings: rs})
	}
}

func TestAdaptivePollerWaits(t *testing.T) {
	const initial, longest = 2 * time.Second, 30 * time.Second
	cold := newAdaptivePoller(newDurations(&lockfile.File{}), initial, longest)
	warm := newDurations(&lockfile.File{})
	fakeModel(warm, "m", 20)
	hot := newAdaptivePoller(warm, initial, longest)
	near := func(got, want time.Duration) bool { return got >= want*85/100 && got <= want*115/100 }
	tests := []struct {
		name string
		p    *adaptivePoller
		s    PollState
		want time.Duration
	}{
		{"resumed task is read at once", cold, PollState{Model: "m", Resumed: true}, 0},
		{"cold model: poll.initial", cold, PollState{Model: "m"}, initial},
		{"cold model backs off", cold, PollState{Model: "m", Polls: 2, Elapsed: 5 * time.Second}, initial * 64 / 25},
		{"cold model with two readings: rate", cold, PollState{Model: "m", Polls: 2, Elapsed: 2 * time.Second,
			Progress: []ProgressSample{{At: time.Second, Percent: 10}, {At: 2 * time.Second, Percent: 30}}}, 4*time.Second + 120*time.Millisecond},
		// A task of 2 s read at 1 s reports (1 − 0.4) ÷ 1.6 = 37%: it ends at 2 s.
		{"learned curve: one reading predicts the end", hot, PollState{Model: "m", Polls: 1, Elapsed: time.Second,
			Progress: []ProgressSample{{At: time.Second, Percent: 37}}}, time.Second},
		{"never longer than poll.max", cold, PollState{Model: "m", Polls: 30, Elapsed: time.Hour}, longest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.p.Wait(tt.s)
			if tt.want == 0 && got != 0 || tt.want != 0 && !near(got, tt.want) {
				t.Fatalf("Wait = %s, want about %s", got, tt.want)
			}
		})
	}
}

func TestFixedCadence(t *testing.T) {
	f := FixedCadence(1)
	for _, tt := range []struct {
		elapsed, want time.Duration
	}{{0, 3 * time.Second}, {29 * time.Second, 3 * time.Second}, {31 * time.Second, 8 * time.Second}, {3 * time.Minute, 20 * time.Second}} {
		if got := f.Wait(PollState{Elapsed: tt.elapsed}); got != tt.want {
			t.Errorf("at %s: %s, want %s", tt.elapsed, got, tt.want)
		}
	}
}

// TestColdBackoffNeverOverflows reads a task of a model with no history
// many times, as a long video with settings.timeout of an hour is: the
// backoff must settle at poll.max, not overflow into negative waits that
// the floor turns into a read every few milliseconds.
func TestColdBackoffNeverOverflows(t *testing.T) {
	const initial, longest = 2 * time.Second, 30 * time.Second
	cold := newAdaptivePoller(newDurations(&lockfile.File{}), initial, longest)
	for polls := 10; polls <= 400; polls++ {
		got := cold.Wait(PollState{Model: "m", Polls: polls, Elapsed: time.Duration(polls) * longest})
		if got < longest*85/100 {
			t.Fatalf("after %d polls: Wait = %s, want about %s", polls, got, longest)
		}
	}
}

// TestWaitsStayWithinPollMax: settings.poll.max is the longest wait, also
// after the ±10% jitter that keeps tasks from polling in step.
func TestWaitsStayWithinPollMax(t *testing.T) {
	const initial, longest = 2 * time.Second, 30 * time.Second
	cold := newAdaptivePoller(newDurations(&lockfile.File{}), initial, longest)
	warm := newDurations(&lockfile.File{})
	for i := range 5 {
		warm.learn("m", time.Duration(10+i)*time.Minute, &taskReads{}) // no progress reported
	}
	hot := newAdaptivePoller(warm, initial, longest)
	for range 200 {
		for _, w := range []time.Duration{
			cold.Wait(PollState{Model: "m", Polls: 30, Elapsed: time.Hour}),
			hot.Wait(PollState{Model: "m", Polls: 0}),
			hot.Wait(PollState{Model: "m", Polls: 9, Elapsed: time.Hour}),
		} {
			if w > longest || w <= 0 {
				t.Fatalf("Wait = %s, want within (0, %s]", w, longest)
			}
		}
	}
}

// TestHistorySeedsFirstRead: durations recorded in the lockfile by earlier
// runs place the first read of a new run's tasks, before any task of the
// run has finished.
func TestHistorySeedsFirstRead(t *testing.T) {
	f := &lockfile.File{Jobs: map[string]*lockfile.Job{}}
	for i, ms := range []int64{2000, 2100, 2200, 2300, 2400, 2500} {
		f.Jobs[string(rune('a'+i))] = &lockfile.Job{Model: "m", DurationMS: ms}
	}
	d := newDurations(f)
	first, ok := d.firstReadAt("m", false)
	if !ok || first < 2*time.Second || first > 2500*time.Millisecond {
		t.Fatalf("first read %s, %v; want within the recorded 2s–2.5s", first, ok)
	}
	p := newAdaptivePoller(d, 2*time.Second, 30*time.Second)
	if w := p.Wait(PollState{Model: "m"}); w < first || w > first+100*time.Millisecond {
		t.Fatalf("first wait %s, want just after %s", w, first)
	}
}
