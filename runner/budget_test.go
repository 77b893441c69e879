package runner

import "testing"

// TestBudgetSettleReleasesWhatWasReserved: a settle must release the
// estimate its create reserved, not the model's estimate at settle time,
// which an earlier answer may have raised. Releasing more leaves the
// creates still in flight uncounted, and --max-cost is passed.
func TestBudgetSettleReleasesWhatWasReserved(t *testing.T) {
	b := budget{max: 0.20, estimate: func(string) float64 { return 0.01 }}
	var booked []float64
	for range 4 {
		est, err := b.reserve("m")
		if err != nil {
			t.Fatal(err)
		}
		booked = append(booked, est)
	}
	// The first two answers cost 0.04 each: two creates of 0.01 still wait.
	b.settle("m", booked[0], 0.04)
	b.settle("m", booked[1], 0.04)
	if b.reserved < 0.019 {
		t.Fatalf("reserved %.4f after two settles, want 0.02 for the two creates in flight", b.reserved)
	}
	// 0.08 spent + 0.02 in flight + 0.04 for each new one: two fit, the
	// third would pass 0.20.
	for i := range 2 {
		if _, err := b.reserve("m"); err != nil {
			t.Fatalf("reserve %d: %v", i, err)
		}
	}
	if _, err := b.reserve("m"); err == nil {
		t.Fatal("reserve passed the limit")
	}
}
