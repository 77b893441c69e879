package runner

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/apipod/apipod-batch/apipod"
	"github.com/apipod/apipod-batch/manifest"
)

// spec is what a job asks for, in the form that is sent and hashed.
type spec struct {
	kind apipod.Kind
	body []byte // the create request, canonical JSON
	hash string // hex sha256 of model, body, output template and upstream hashes
}

// buildSpec resolves a job into its request body and spec hash. upstream
// holds the spec hashes of the jobs it references, so that regenerating one
// of them regenerates this one too, while their changing URLs do not.
func buildSpec(j *manifest.Job, upstream []string) (*spec, error) {
	req := make(map[string]any, len(j.Params)+2)
	for k, v := range j.Params {
		req[k] = v
	}
	req["model"] = j.Model
	req["prompt"] = j.Prompt
	body, err := json.Marshal(req) // map keys come out sorted: the body is canonical
	if err != nil {
		return nil, fmt.Errorf("job %q: encode request: %w", j.ID, err)
	}
	h, err := json.Marshal(struct {
		Model    string          `json:"model"`
		Body     json.RawMessage `json:"body"`
		Output   string          `json:"output"`
		Upstream []string        `json:"upstream,omitempty"`
	}{j.Model, body, j.Output, upstream})
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(h)
	return &spec{kind: apipod.KindFor(j.Model), body: body, hash: hex.EncodeToString(sum[:])}, nil
}

// idempotencyKey derives the key of attempt n of a job. It depends only on
// what is on disk before the request leaves (the lockfile's salt, the job,
// its spec and the attempt number), so after a crash or a lost answer the
// same attempt sends the same key and APIPod replays instead of billing twice.
func idempotencyKey(salt, jobID, specHash string, n int) string {
	sum := sha256.Sum256([]byte(salt + "\x00" + jobID + "\x00" + specHash + "\x00" + strconv.Itoa(n)))
	return "apb1-" + hex.EncodeToString(sum[:20])
}
