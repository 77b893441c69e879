package runner

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/apipod/apipod-batch/apipod"
	"github.com/apipod/apipod-batch/lockfile"
	"github.com/apipod/apipod-batch/manifest"
)

// Action is what a plan does with one job.
type Action int

// The actions of a plan, per the lockfile's rerun rules.
const (
	Skip       Action = iota // done and intact: nothing to send
	Create                   // not in the lockfile: generate
	Regenerate               // spec changed, --replace, or outputs lost for good
	Resume                   // a task is in flight: poll it, never resubmit
	Retry                    // the last attempt failed or timed out: a new attempt
	Download                 // outputs missing or changed while the URLs live
)

var actionNames = [...]string{"skip", "create", "regenerate", "resume", "retry", "download"}

func (a Action) String() string { return actionNames[a] }

// Symbol is the plan's one-character mark for the action.
func (a Action) Symbol() string {
	return [...]string{" ", "+", "~", "⟳", "!", "↻"}[a]
}

// Step is the plan for one job.
type Step struct {
	Job    *manifest.Job
	Action Action
	Reason string
	// Changes lists the request fields that differ from the recorded
	// request, when the job regenerates because its spec changed.
	Changes []Change
	// Upstream names the upstream jobs whose new results make this job
	// regenerate; empty when that is not why.
	Upstream []string
	// specChanged says the job's own spec changed, not only its upstream's.
	specChanged bool
	spec        *spec
}

// Symbol is the plan's mark for the step: the action's, except that a
// regeneration whose own spec is unchanged (an upstream job regenerates,
// --replace, results lost for good) is a replacement, "-/+".
func (s *Step) Symbol() string {
	if s.Action == Regenerate && !s.specChanged {
		return "-/+"
	}
	return s.Action.Symbol()
}

// SpecHash is the hash of what the job asks for, as the lockfile records it.
func (s *Step) SpecHash() string { return s.spec.hash }

// Orphan is a job in the lockfile that is no longer in the manifest. Apply
// keeps it; clean removes it with its outputs.
type Orphan struct {
	ID      string
	Model   string
	Outputs int
}

// Plan is what apply will do, one step per job in manifest order.
type Plan struct {
	Steps   []*Step
	Orphans []Orphan // sorted by id; empty when the plan is targeted
	prices  map[string]float64
}

// Counts returns how many steps have each action.
func (p *Plan) Counts() map[Action]int {
	c := make(map[Action]int)
	for _, s := range p.Steps {
		c[s.Action]++
	}
	return c
}

// Pending reports whether any step needs the network.
func (p *Plan) Pending() bool {
	for _, s := range p.Steps {
		if s.Action != Skip {
			return true
		}
	}
	return false
}

// PlanOptions tunes planning.
type PlanOptions struct {
	// Backend names where tasks run: "" for the APIPod API, "sandbox" for the
	// simulator. Work done by the other backend is regenerated.
	Backend string
	// Target, when set, limits the plan to the jobs it reports and the
	// upstream jobs they need, transitively.
	Target func(id string) bool
	// Replace reports the jobs to regenerate even if they are done.
	Replace func(id string) bool
	// Now is the time against which result URLs expire.
	Now time.Time
}

// MakePlan compares the manifest with the lockfile and the files on disk.
// It sends nothing. A job whose upstream job will have new results
// regenerates too, so it never keeps outputs made from stale inputs.
func MakePlan(m *manifest.Manifest, lock *lockfile.File, opts PlanOptions) (*Plan, error) {
	keep := targeted(m, opts.Target)
	p := &Plan{Steps: make([]*Step, 0, len(m.Jobs)), prices: prices(lock)}
	specs := make(map[string]*spec, len(m.Jobs))
	steps := make(map[string]*Step, len(m.Jobs))
	for _, j := range m.Jobs {
		if keep != nil && !keep[j.ID] {
			continue
		}
		sp, err := specOf(m, j, specs)
		if err != nil {
			return nil, err
		}
		lj := lock.Jobs[j.ID]
		st := &Step{Job: j, spec: sp}
		st.Action, st.Reason = decide(m.Dir, j, sp, lj, opts)
		if st.Reason == reasonSpecChanged {
			st.specChanged = true
			st.Changes = diffRequest(lj.Request, sp, j, lock)
		}
		p.Steps = append(p.Steps, st)
		steps[j.ID] = st
	}
	propagate(p.Steps, steps, lock, opts.Now)
	if keep == nil {
		p.Orphans = Orphans(m, lock)
	}
	return p, nil
}

// SpecHashes returns the spec hash of every job of m, by id: what the
// lockfile records a job's work against.
func SpecHashes(m *manifest.Manifest) (map[string]string, error) {
	specs := make(map[string]*spec, len(m.Jobs))
	hashes := make(map[string]string, len(m.Jobs))
	for _, j := range m.Jobs {
		sp, err := specOf(m, j, specs)
		if err != nil {
			return nil, err
		}
		hashes[j.ID] = sp.hash
	}
	return hashes, nil
}

// specOf builds a job's spec after those of the jobs it references, whose
// hashes are part of it. The manifest has already refused cycles; memo
// keeps the walk linear.
func specOf(m *manifest.Manifest, j *manifest.Job, memo map[string]*spec) (*spec, error) {
	if sp, ok := memo[j.ID]; ok {
		return sp, nil
	}
	upstream := make([]string, 0, len(j.Needs))
	for _, id := range j.Needs {
		up := m.Job(id)
		if up == nil {
			return nil, fmt.Errorf("job %q: references unknown job %q", j.ID, id)
		}
		sp, err := specOf(m, up, memo)
		if err != nil {
			return nil, err
		}
		upstream = append(upstream, sp.hash)
	}
	sp, err := buildSpec(j, upstream)
	if err != nil {
		return nil, err
	}
	memo[j.ID] = sp
	return sp, nil
}

// reasonSpecChanged is decide's reason when the recorded spec hash differs.
const reasonSpecChanged = "spec changed"

// reasonResend is an attempt whose create left without its answer being
// recorded (a lost answer, a crash, an API that never answered).
const reasonResend = "create sent, its answer not recorded"

// Resends reports whether apply sends the step's last create again, with
// its key, rather than polling a task: the API replays the create if it
// made the task, so nothing is paid twice.
func (s *Step) Resends() bool { return s.Action == Resume && s.Reason == reasonResend }

// decide picks the action for one job from its lock entry and its files.
func decide(root string, j *manifest.Job, sp *spec, lj *lockfile.Job, opts PlanOptions) (Action, string) {
	if lj == nil {
		return Create, "new"
	}
	if opts.Replace != nil && opts.Replace(j.ID) {
		return Regenerate, "--replace"
	}
	if lj.SpecHash != sp.hash {
		return Regenerate, reasonSpecChanged
	}
	if lj.Backend != opts.Backend {
		if lj.Backend == "sandbox" {
			return Regenerate, "made by the sandbox"
		}
		return Regenerate, "made by the APIPod API, now running in the sandbox"
	}
	last := lj.LastAttempt()
	if last != nil && inFlight(last.Status) {
		if !last.ForSpec(sp.hash) {
			// A run that regenerated the job recorded the new spec but
			// stopped before making an attempt for it (held by 402 or
			// --max-cost, or a crash between the two writes): the task in
			// flight is the old spec's, and its outputs are not this one's.
			return Regenerate, "the task in flight was made for an earlier spec"
		}
		if last.TaskID == "" {
			return Resume, reasonResend
		}
		return Resume, "in flight since " + last.SubmittedAt.Local().Format("15:04:05")
	}
	if len(lj.Results) > 0 && last != nil && last.Status == apipod.StatusCompleted {
		problem := CheckOutputs(root, lj)
		switch {
		case problem == "":
			return Skip, "up to date"
		case opts.Backend == "sandbox":
			return Regenerate, problem + "; the result URLs of an in-process sandbox end with its run"
		case opts.Now.Before(lj.ExpiresAt):
			return Download, problem
		default:
			return Regenerate, problem + " and the result URLs expired"
		}
	}
	if last != nil {
		msg := last.Status
		if last.ErrorMessage != "" {
			msg += ": " + last.ErrorMessage
		}
		return Retry, "last attempt " + msg
	}
	return Create, "never submitted"
}

// inFlight reports whether an attempt may still finish upstream. Statuses
// this version does not know are taken as in flight: polling again is safe,
// resubmitting is not.
func inFlight(status string) bool {
	switch status {
	case apipod.StatusCompleted, apipod.StatusFailed, apipod.StatusCancelled, statusTimedOut, statusLost:
		return false
	}
	return true
}

// Attempt statuses the runner adds to the API's.
const (
	statusSubmitting = "submitting" // the key is chosen; the create answer is not recorded yet
	statusTimedOut   = "timed_out"  // the job's deadline passed while polling
	statusLost       = "lost"       // the API no longer knows the task (404 on status)
)

// CheckOutputs returns "" when every recorded output of a job is on disk
// unchanged, else what is wrong with the first that is not; root is the
// manifest's folder. A file whose size and modification time match the
// record is trusted without rehashing.
func CheckOutputs(root string, lj *lockfile.Job) string {
	if len(lj.Outputs) < len(lj.Results) {
		return "download unfinished"
	}
	for _, o := range lj.Outputs {
		path := filepath.Join(root, filepath.FromSlash(o.Path))
		fi, err := os.Stat(path)
		if err != nil {
			return o.Path + " missing"
		}
		if fi.Size() != o.Bytes {
			return fmt.Sprintf("%s changed (%d bytes, recorded %d)", o.Path, fi.Size(), o.Bytes)
		}
		if !o.ModTime.IsZero() && fi.ModTime().Equal(o.ModTime) {
			continue
		}
		if sum, err := hashFile(path); err != nil || sum != o.SHA256 {
			return o.Path + " modified"
		}
	}
	return ""
}

func hashFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
