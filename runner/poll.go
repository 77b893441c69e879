package runner

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/apipod/apipod-batch/apipod"
	"github.com/apipod/apipod-batch/lockfile"
)

var (
	errDeadline = errors.New("deadline passed before the task finished")
	errLost     = errors.New("the API no longer knows this task")
)

// deadlinePassed is errDeadline with the last status the task reported,
// which may be one this version does not know.
func deadlinePassed(status string) error {
	return fmt.Errorf("%w (last status %q)", errDeadline, status)
}

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
// waiting between reads as the poller says.
// It also returns what the reads saw, from which the poller learns.
func (r *run) poll(ctx context.Context, st *Step, att *lockfile.Attempt) (*apipod.Task, *taskReads, error) {
	deadline := att.SubmittedAt.Add(r.timeout(st))
	ps := PollState{Model: st.Job.Model, Resumed: st.Action == Resume}
	reads := &taskReads{}
	if !ps.Resumed {
		ps.Explore, reads.Unbiased = r.durs.firstReadPlan(st.Job.Model, att.TaskID)
		reads.Explored = ps.Explore
	}
	lastStatus, lastProgress := att.Status, -1
	for {
		ps.Elapsed = r.cfg.Now().Sub(att.SubmittedAt)
		if wait := r.poller.Wait(ps); wait > 0 {
			if left := deadline.Sub(r.cfg.Now()); wait > left {
				wait = max(left, 0)
			}
			if err := r.cfg.Sleep(ctx, wait); err != nil {
				return nil, nil, err
			}
		}
		ps.Polls++
		// A reading is dated when its request leaves, not when its answer
		// comes back: a read aimed at the end it predicts then reaches the
		// server at that end, not a round trip after it.
		sent := r.cfg.Now().Sub(att.SubmittedAt)
		task, err := r.cfg.API.Status(ctx, st.spec.kind, att.TaskID)
		if err != nil {
			var apiErr *apipod.APIError
			switch {
			case ctx.Err() != nil:
				return nil, nil, ctx.Err()
			case errors.As(err, &apiErr) && apiErr.NotFound():
				return nil, nil, errLost
			case errors.As(err, &apiErr) && apiErr.Fatal():
				return nil, nil, err
			}
			// The client already retried; keep polling until the deadline.
			if !r.cfg.Now().Before(deadline) {
				return nil, nil, errors.Join(deadlinePassed(lastStatus), err)
			}
			continue
		}
		if task.Done() {
			reads.DoneAt = sent
			return task, reads, nil
		}
		if task.Progress > 0 && task.Progress < 100 {
			reads.Readings = append(reads.Readings, ProgressSample{At: sent, Percent: task.Progress})
			ps.Progress = reads.Readings
			if !ps.Resumed {
				r.durs.running(st.Job.Model, reads)
			}
		} else if task.Status == apipod.StatusProcessing {
			reads.Silent++
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
			return nil, nil, deadlinePassed(lastStatus)
		}
	}
}
