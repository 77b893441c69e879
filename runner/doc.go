// Package runner turns a manifest and a lockfile into work and does it.
//
// Plan is pure: it compares each job's spec hash, recorded attempts and
// output files with the lockfile's rules and says, per job, whether to skip,
// resume, retry, regenerate or download again. Apply carries a plan out:
// tasks are submitted under a concurrency limit, polled with backoff until
// they end, their results downloaded and every step recorded in the lockfile,
// so that an interrupted run can be resumed without paying twice.
//
// The runner never writes to the terminal: it reports through an Observer
// and returns a Result for the caller to render.
package runner
