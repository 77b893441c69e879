// Package lockfile reads and writes jobs.lock, the state file that sits beside a
// jobs.yaml manifest and records, per job, the spec hash, every attempt with its
// idempotency key and task id, the result URLs and the output files.
//
// A Store owns the lockfile for one run: it holds an exclusive lock on a sidecar
// owner file, keeps the state in memory and writes it back atomically (temp file,
// fsync, rename, fsync of the folder), coalescing bursts of updates so that a run
// of N jobs writes O(N) bytes rather than O(N²).
package lockfile
