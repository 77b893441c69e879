package runner

import "time"

// EventKind names a change in a job's life.
type EventKind string

// The events Apply reports, in the order a job usually sees them.
const (
	EventSkipped    EventKind = "skipped"    // up to date, nothing sent
	EventSubmitted  EventKind = "submitted"  // a task was created (or its creation replayed)
	EventResumed    EventKind = "resumed"    // polling a task left in flight by an earlier run
	EventStatus     EventKind = "status"     // the task's status or progress changed
	EventRetrying   EventKind = "retrying"   // the attempt failed; a new one follows
	EventCompleted  EventKind = "completed"  // the task finished with results
	EventDownloaded EventKind = "downloaded" // every output is on disk: the job is done
	EventFailed     EventKind = "failed"     // the job gave up in this run
	EventHeld       EventKind = "held"       // not submitted: the run stopped taking new work
	EventBlocked    EventKind = "blocked"    // not submitted: an upstream job has no results
)

// Event is one change in one job.
type Event struct {
	Time     time.Time
	Kind     EventKind
	Job      string
	Model    string
	Attempt  int
	TaskID   string
	Status   string
	Progress int
	Replayed bool  // the create answer was a replay of an earlier request
	Outputs  int   // files written, for EventDownloaded
	Err      error // for EventRetrying, EventFailed, EventHeld and EventBlocked
}

// Observer receives events as they happen, from many goroutines at once.
type Observer interface {
	Event(Event)
}

// ObserverFunc adapts a function to Observer.
type ObserverFunc func(Event)

// Event calls f.
func (f ObserverFunc) Event(e Event) { f(e) }
