package runner

import (
	"context"
	"sync"
	"testing"
	"time"
)

// TestBudgetSettleReleasesWhatWasReserved: a settle must release the
// estimate its create reserved, not the model's estimate at settle time,
// which an earlier answer may have raised. Releasing more leaves the
// creates still in flight uncounted, and --max-cost is passed.
func TestBudgetSettleReleasesWhatWasReserved(t *testing.T) {
	b := budget{max: 0.20, estimate: func(string) float64 { return 0.01 }}
	var booked []booking
	for range 4 {
		bk, err := b.reserve(context.Background(), "m")
		if err != nil {
			t.Fatal(err)
		}
		booked = append(booked, bk)
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
		if _, err := b.reserve(context.Background(), "m"); err != nil {
			t.Fatalf("reserve %d: %v", i, err)
		}
	}
	if _, err := b.reserve(context.Background(), "m"); err == nil {
		t.Fatal("reserve passed the limit")
	}
}

// TestBudgetProbesAnUnpricedModel: with no price known, one create goes out
// alone and the others wait for its answer, then are priced by it; so a
// first run passes the limit by one task at most, not by the parallelism.
func TestBudgetProbesAnUnpricedModel(t *testing.T) {
	b := budget{max: 0.10}
	probe, err := b.reserve(context.Background(), "m")
	if err != nil || probe.probe == nil {
		t.Fatalf("first reserve: %+v, %v; want the probe", probe, err)
	}
	var wg sync.WaitGroup
	results := make(chan error, 4)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := b.reserve(context.Background(), "m")
			results <- err
		}()
	}
	time.Sleep(20 * time.Millisecond)
	if len(results) != 0 {
		t.Fatal("creates went out before the probe's price was known")
	}
	b.settle("m", probe, 0.04) // the probe costs 0.04: one more fits in 0.10
	wg.Wait()
	close(results)
	ok := 0
	for err := range results {
		if err == nil {
			ok++
		}
	}
	if ok != 1 {
		t.Fatalf("%d creates after the probe, want 1 within the limit", ok)
	}
	ctx, cancel := context.WithCancel(context.Background())
	b2 := budget{max: 1}
	if _, err := b2.reserve(ctx, "n"); err != nil {
		t.Fatal(err)
	}
	cancel()
	if _, err := b2.reserve(ctx, "n"); err == nil {
		t.Fatal("a wait for the probe outlived its context")
	}
}
