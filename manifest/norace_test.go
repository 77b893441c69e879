//go:build !race

package manifest

// raceEnabled slows time budgets down: the race detector makes parsing
// several times slower.
const raceEnabled = false
