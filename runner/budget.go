package runner

import (
	"fmt"
	"sync"
)

// budget enforces --max-cost: a create may leave only if what this run has
// spent, plus the estimates of creates still waiting for their answer, plus
// its own estimate stays within the limit. The estimate of a model is its
// recorded average, else the highest cost seen for it in this run; a model
// with neither is estimated at zero, so the first task of a new model can
// overshoot by its own price.
type budget struct {
	max      float64
	estimate func(model string) float64

	mu       sync.Mutex
	spent    float64
	reserved float64
	seen     map[string]float64
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

// reserve books the estimate of one create of model and returns it, for
// settle to release, or says the limit would be passed.
func (b *budget) reserve(model string) (float64, error) {
	if b.max <= 0 {
		return 0, nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	est := b.guess(model)
	if b.spent+b.reserved+est > b.max {
		return 0, &BudgetError{Max: b.max, Spent: b.spent + b.reserved, Next: est}
	}
	b.reserved += est
	return est, nil
}

// settle replaces a create's reservation, what reserve returned, with its
// reported cost. It must release exactly what was booked: the model's
// guess may have grown since (seen), and releasing the new guess would
// drop other creates still in flight from the books.
func (b *budget) settle(model string, reserved, cost float64) {
	if b.max <= 0 {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.reserved = max(0, b.reserved-reserved)
	b.spent += cost
	if b.seen == nil {
		b.seen = map[string]float64{}
	}
	b.seen[model] = max(b.seen[model], cost)
}
