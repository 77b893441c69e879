package lockfile

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"path/filepath"
	"strings"
	"time"
)

// Version is the lockfile format version this package reads and writes.
const Version = 1

// File is the lockfile's content.
type File struct {
	Version int    `json:"version"`
	Salt    string `json:"salt"` // random hex (16 bytes), created once when the file is first made; idempotency keys are derived from it
	// Jobs is keyed by job id; encoding/json sorts map keys, so jobs come out sorted by id.
	Jobs map[string]*Job `json:"jobs"`
}

// Job is the recorded state of one manifest job.
type Job struct {
	SpecHash    string          `json:"spec_hash"`
	Model       string          `json:"model"`
	Kind        string          `json:"kind"`              // "image" or "video"
	Backend     string          `json:"backend,omitempty"` // "sandbox" when produced by the built-in simulator
	Request     json.RawMessage `json:"request"`           // the create body sent
	Attempts    []*Attempt      `json:"attempts,omitempty"`
	Results     []string        `json:"results,omitempty"` // result URLs of the completed attempt
	CompletedAt time.Time       `json:"completed_at,omitzero"`
	ExpiresAt   time.Time       `json:"expires_at,omitzero"` // when Results stop being downloadable (~24h after completion)
	Outputs     []Output        `json:"outputs,omitempty"`
	Cost        string          `json:"cost,omitempty"`        // sum/last X-Request-Cost as reported
	DurationMS  int64           `json:"duration_ms,omitempty"` // submit → completed of the successful attempt
}

// Attempt is one submission of a job to the API.
type Attempt struct {
	N              int    `json:"n"` // 1-based, never reused within a job
	SpecHash       string `json:"spec_hash"`
	IdempotencyKey string `json:"idempotency_key"`
	TaskID         string `json:"task_id,omitempty"`
	// Status is "submitting", "pending", "processing", "completed", "failed",
	// "cancelled", "timed_out", or an unknown status string from the API kept verbatim.
	Status       string    `json:"status"`
	SubmittedAt  time.Time `json:"submitted_at,omitzero"`
	FinishedAt   time.Time `json:"finished_at,omitzero"`
	ErrorCode    string    `json:"error_code,omitempty"`
	ErrorMessage string    `json:"error_message,omitempty"`
	RequestID    string    `json:"request_id,omitempty"`
	Cost         string    `json:"cost,omitempty"`
}

// Output is one file written for a job.
type Output struct {
	Path    string    `json:"path"` // relative to the manifest's folder, slash-separated
	SHA256  string    `json:"sha256"`
	Bytes   int64     `json:"bytes"`
	ModTime time.Time `json:"mtime,omitzero"` // lets a plan skip re-hashing files whose size and mtime are unchanged
}

// LastAttempt returns the job's last attempt or nil.
func (j *Job) LastAttempt() *Attempt {
	if len(j.Attempts) == 0 {
		return nil
	}
	return j.Attempts[len(j.Attempts)-1]
}

// ForSpec reports whether the attempt was made for the spec hash h; an
// attempt recorded without one (by an older version) is taken as made for
// any.
func (a *Attempt) ForSpec(h string) bool {
	return a.SpecHash == "" || a.SpecHash == h
}

// Path returns the lockfile path for a manifest path: "dir/jobs.yaml" becomes
// "dir/jobs.lock". The extension .yaml or .yml is replaced; any other name gets
// ".lock" appended.
func Path(manifestPath string) string {
	ext := filepath.Ext(manifestPath)
	if strings.EqualFold(ext, ".yaml") || strings.EqualFold(ext, ".yml") {
		return strings.TrimSuffix(manifestPath, ext) + ".lock"
	}
	return manifestPath + ".lock"
}

// newFile returns an empty File with a fresh salt.
func newFile() *File {
	return &File{Version: Version, Salt: newSalt(), Jobs: map[string]*Job{}}
}

// newSalt returns 16 random bytes in hex.
func newSalt() string {
	b := make([]byte, 16)
	rand.Read(b) // never returns an error; it crashes the program instead
	return hex.EncodeToString(b)
}

// marshal encodes f indented by two spaces with a trailing newline. HTML
// characters are left unescaped so that prompts stay readable in diffs.
func marshal(f *File) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(f); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
