package runner

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

	"github.com/apipod/apipod-batch/apipod"
	"github.com/apipod/apipod-batch/lockfile"
)

var (
	errDeadline = errors.New("deadline passed before the task finished")
	errLost     = errors.New("the API no longer knows this task")
)

// timeout is the job's deadline, counted from submission.
func (r *run) timeout(st *Step) time.Duration {
	if t := r.m.Settings.Timeout; t > 0 {
		return t
	}
	if st.spec.kind == apipod.KindVideo {
		return DefaultVideoTimeout
	}
	return DefaultImageTimeout
}

// poll reads a task's status until it ends or the job's deadline passes,
// waiting a growing, jittered interval between reads (settings.poll bounds
// it). A resumed task is read at once: it may have finished meanwhile.
func (r *run) poll(ctx context.Context, st *Step, att *lockfile.Attempt) (*apipod.Task, error) {
	poll := r.m.Settings.Poll
	deadline := att.SubmittedAt.Add(r.timeout(st))
	delay := poll.Initial
	if st.Action == Resume {
		delay = 0
	}
	lastStatus, lastProgress := att.Status, -1
	for {
		if delay > 0 {
			wait := jitter(delay)
			if left := deadline.Sub(r.cfg.Now()); wait > left {
				wait = max(left, 0)
			}
			if err := r.cfg.Sleep(ctx, wait); err != nil {
				return nil, err
			}
		}
		delay = min(max(time.Duration(float64(delay)*1.6), poll.Initial), poll.Max)
		task, err := r.cfg.API.Status(ctx, st.spec.kind, att.TaskID)
		if err != nil {
			var apiErr *apipod.APIError
			switch {
			case ctx.Err() != nil:
				return nil, ctx.Err()
			case errors.As(err, &apiErr) && apiErr.NotFound():
				return nil, errLost
			case errors.As(err, &apiErr) && apiErr.Fatal():
				return nil, err
			}
			// The client already retried; keep polling until the deadline.
			if !r.cfg.Now().Before(deadline) {
				return nil, errors.Join(errDeadline, err)
			}
			continue
		}
		if task.Done() {
			return task, nil
		}
		if task.Status != lastStatus || task.Progress != lastProgress {
			if task.Status != lastStatus {
				r.finishAttempt(st.Job.ID, att.N, func(a *lockfile.Attempt) { a.Status = task.Status })
			}
			lastStatus, lastProgress = task.Status, task.Progress
			r.emit(Event{Kind: EventStatus, Job: st.Job.ID, Model: st.Job.Model, Attempt: att.N,
				TaskID: att.TaskID, Status: task.Status, Progress: task.Progress})
		}
		if !r.cfg.Now().Before(deadline) {
			return nil, errDeadline
		}
	}
}

// jitter spreads a wait over ±20% so tasks started together do not poll in step.
func jitter(d time.Duration) time.Duration {
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}
