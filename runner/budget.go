package runner

import (
	"context"
	"fmt"
	"sync"
)

// budget enforces --max-cost: a create may leave only if what this run has
// spent, plus the estimates of creates still waiting for their answer, plus
// its own estimate stays within the limit. The estimate of a model is its
// recorded average, else the highest cost seen for it in this run. A model
// with neither has one create at a time until an answer reports its price
// (the probe), so a first run can pass the limit by one task's price, not
// by the parallelism times it.
type budget struct {
	max      float64
	estimate func(model string) float64

	mu       sync.Mutex
	spent    float64
	reserved float64
	seen     map[string]float64
	probing  map[string]chan struct{} // closed when the model's probe settles
}

// booking is what reserve set aside for one create, for settle to release.
type booking struct {
	amount float64
	probe  chan struct{} // set when this create learns an unpriced model's cost
}

// BudgetError says the run stopped submitting because of --max-cost.
type BudgetError struct {
	Max, Spent, Next float64
}

func (e *BudgetError) Error() string {
	return fmt.Sprintf("stopped submitting new tasks: the next one (about %.4f) would take this run's cost from %.4f past the limit of %.4f",
		e.Next, e.Spent, e.Max)
}

func (b *budget) guess(model string) float64 {
	var est float64
	if b.estimate != nil {
		est = b.estimate(model)
	}
	return max(est, b.seen[model])
}

// reserve books the estimate of one create of model, or says the limit
// would be passed. For a model with no price yet it waits while another
// create of the model is out learning it; it returns ctx's error if ctx
// ends first.
func (b *budget) reserve(ctx context.Context, model string) (booking, error) {
	if b.max <= 0 {
		return booking{}, nil
	}
	for {
		b.mu.Lock()
		est := b.guess(model)
		if b.spent+b.reserved+est > b.max {
			b.mu.Unlock()
			return booking{}, &BudgetError{Max: b.max, Spent: b.spent + b.reserved, Next: est}
		}
		if est > 0 {
			b.reserved += est
			b.mu.Unlock()
			return booking{amount: est}, nil
		}
		if wait, busy := b.probing[model]; busy {
			b.mu.Unlock()
			select {
			case <-ctx.Done():
				return booking{}, ctx.Err()
			case <-wait:
				continue
			}
		}
		if b.probing == nil {
			b.probing = map[string]chan struct{}{}
		}
		probe := make(chan struct{})
		b.probing[model] = probe
		b.mu.Unlock()
		return booking{probe: probe}, nil
	}
}

// settle replaces a booking with the create's reported cost (0 when it was
// not sent). It releases exactly what was booked: the model's guess may
// have grown since, and releasing the new guess would drop other creates
// still in flight from the books.
func (b *budget) settle(model string, bk booking, cost float64) {
	if b.max <= 0 {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.reserved = max(0, b.reserved-bk.amount)
	b.spent += cost
	if b.seen == nil {
		b.seen = map[string]float64{}
	}
	b.seen[model] = max(b.seen[model], cost)
	if bk.probe != nil {
		delete(b.probing, model)
		close(bk.probe)
	}
}
