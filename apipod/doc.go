// Package apipod is a client for the APIPod image and video generation API:
// creating tasks, reading their status and downloading their results, with
// retries, idempotency keys and typed errors. It also holds the model
// registry, the rules each model's create request must follow.
//
// The package knows nothing of manifests or lockfiles; callers hand it
// request bodies and get tasks and files back.
package apipod
