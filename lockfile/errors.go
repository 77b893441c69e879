package lockfile

import (
	"fmt"
	"path/filepath"
	"time"
)

// HeldError reports that another live process holds the lockfile.
type HeldError struct {
	Path  string    // the lockfile path
	PID   int       // the holder's process id, 0 if unknown
	Host  string    // the holder's host name
	Since time.Time // when the holder took the lock
}

// Error returns, for example, `jobs.lock is held by pid 1234 on host "x" since 14:02:07`.
func (e *HeldError) Error() string {
	name := filepath.Base(e.Path)
	if e.PID == 0 {
		return fmt.Sprintf("%s is held by another process", name)
	}
	return fmt.Sprintf("%s is held by pid %d on host %q since %s",
		name, e.PID, e.Host, e.Since.Local().Format(time.TimeOnly))
}

// CorruptError reports a lockfile that cannot be decoded.
type CorruptError struct {
	Path string
	Err  error
}

// Error says what is wrong and what to do about it.
func (e *CorruptError) Error() string {
	return fmt.Sprintf("lockfile %s is corrupt: %v; restore it from version control or move it aside to start over", e.Path, e.Err)
}

// Unwrap returns the underlying decoding error.
func (e *CorruptError) Unwrap() error { return e.Err }

// VersionError reports a lockfile written by a newer apipod-batch.
type VersionError struct {
	Path    string
	Version int // the version found in the file
}

// Error says what is wrong and what to do about it.
func (e *VersionError) Error() string {
	return fmt.Sprintf("lockfile %s has version %d but this apipod-batch reads version %d; upgrade apipod-batch, or move the file aside to start over", e.Path, e.Version, Version)
}
