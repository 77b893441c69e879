// Package clock is the waiting the API client and the runner share. Both
// take a Sleep function so that tests can replace it; this is the real one.
package clock

import (
	"context"
	"time"
)

// Sleep waits for d, or until ctx ends, whichever comes first; it returns
// ctx's error in the second case.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
