// Package manifest reads apipod-batch manifests: YAML files that describe image
// and video generation jobs.
//
// Parse and Load turn a version-1 manifest into a Manifest whose jobs are
// expanded (matrix), merged with the defaults and interpolated (${var.NAME},
// ${matrix.KEY}; ${jobs.ID.result[N]} references are recorded and kept for the
// runner). Every problem found is reported at once as Errors, each placed at the
// file, line and column it concerns. The package knows nothing of HTTP: model
// and parameter rules come in through a ParamChecker.
package manifest
