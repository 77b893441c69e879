package runner

import (
	"github.com/apipod/apipod-batch/apipod"
	"github.com/apipod/apipod-batch/lockfile"
)

// LockState is what the lockfile and the files on disk say of a job, as
// the status command shows it.
type LockState string

// The recorded states of a job.
const (
	LockNew      LockState = "new"       // not in the lockfile, or never submitted
	LockOutdated LockState = "outdated"  // recorded for another spec: apply regenerates it
	LockInFlight LockState = "in_flight" // a task may still finish: apply polls it
	LockFailed   LockState = "failed"    // the last attempt ended without results
	LockDrifted  LockState = "drifted"   // done, but outputs are missing or changed on disk
	LockDone     LockState = "done"      // done, outputs intact
	LockOrphaned LockState = "orphaned"  // in the lockfile, no longer in the manifest
)

// LockStateOf reads a job's recorded state. lj is its lock entry (nil if
// none), specHash its current spec hash ("" for a job no longer in the
// manifest) and root the manifest's folder. The detail says what is wrong
// for failed and drifted jobs.
func LockStateOf(root string, lj *lockfile.Job, specHash string) (state LockState, detail string) {
	var last *lockfile.Attempt
	if lj != nil {
		last = lj.LastAttempt()
	}
	switch {
	case specHash == "":
		return LockOrphaned, ""
	case last == nil:
		return LockNew, ""
	case lj.SpecHash != specHash, !last.ForSpec(specHash):
		return LockOutdated, ""
	case inFlight(last.Status):
		return LockInFlight, ""
	case last.Status != apipod.StatusCompleted:
		detail = last.Status
		if last.ErrorMessage != "" {
			detail += ": " + last.ErrorMessage
		}
		return LockFailed, detail
	}
	if problem := CheckOutputs(root, lj); problem != "" {
		return LockDrifted, problem
	}
	return LockDone, ""
}
