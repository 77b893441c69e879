package runner

import "github.com/apipod/apipod-batch/lockfile"

// Estimate is the expected spend of the tasks a plan submits.
type Estimate struct {
	Cost     float64        // the recorded average price of each task to submit, summed
	Tasks    int            // tasks to submit: jobs to generate, regenerate or retry
	Unpriced map[string]int // tasks to submit whose model has no recorded price, by model
}

// Price is the average recorded cost of one task of a model, or 0 when the
// lockfile has none; it suits Config.Estimate.
func (p *Plan) Price(model string) float64 { return p.prices[model] }

// Estimate prices the tasks the plan submits at the lockfile's averages.
// Resumed tasks are paid for already and downloads are free.
func (p *Plan) Estimate() Estimate {
	e := Estimate{Unpriced: map[string]int{}}
	for _, s := range p.Steps {
		if !s.submits() {
			continue
		}
		e.Tasks++
		if c, ok := p.prices[s.Job.Model]; ok {
			e.Cost += c
		} else {
			e.Unpriced[s.Job.Model]++
		}
	}
	return e
}

// prices averages the recorded cost of every attempt that has one, per model.
func prices(lock *lockfile.File) map[string]float64 {
	sum, n := map[string]float64{}, map[string]int{}
	for _, lj := range lock.Jobs {
		for _, a := range lj.Attempts {
			if c := parseCost(a.Cost); c > 0 {
				sum[lj.Model] += c
				n[lj.Model]++
			}
		}
	}
	for m := range sum {
		sum[m] /= float64(n[m])
	}
	return sum
}
