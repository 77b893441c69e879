//go:build !long

package runner_test

// long runs the chaos and crash tests at full size: go test -tags long ./...
const long = false
