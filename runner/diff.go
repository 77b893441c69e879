package runner

import (
	"bytes"
	"encoding/json"
	"reflect"
	"slices"
	"strings"

	"github.com/apipod/apipod-batch/lockfile"
	"github.com/apipod/apipod-batch/manifest"
)

// Change is one field of a job's create request that differs from the
// request recorded in the lockfile.
type Change struct {
	Field string
	Old   json.RawMessage // compact JSON; nil when the recorded request lacks the field
	New   json.RawMessage // compact JSON; nil when the field is gone
}

// diffRequest compares the recorded request with the job's new one, model
// and prompt first, then the other fields by name. The lockfile records the
// request as sent, with job references replaced by upstream URLs, so a
// field also counts as unchanged when it equals the new request resolved
// with the upstream results on record.
func diffRequest(recorded json.RawMessage, sp *spec, j *manifest.Job, lock *lockfile.File) []Change {
	old, err := decodeRequest(recorded)
	if err != nil {
		return nil
	}
	news := []map[string]any{}
	for _, body := range [][]byte{sp.body, resolvedRequest(j, lock)} {
		if n, err := decodeRequest(body); err == nil && n != nil {
			news = append(news, n)
		}
	}
	if len(news) == 0 {
		return nil
	}
	fields := make([]string, 0, len(old)+len(news[0]))
	for _, m := range []map[string]any{old, news[0]} {
		for f := range m {
			if !slices.Contains(fields, f) {
				fields = append(fields, f)
			}
		}
	}
	slices.SortFunc(fields, func(a, b string) int {
		return strings.Compare(fieldOrder(a), fieldOrder(b))
	})
	var changes []Change
	for _, f := range fields {
		ov, inOld := old[f]
		same := false
		for _, n := range news {
			nv, inNew := n[f]
			same = same || inOld == inNew && reflect.DeepEqual(ov, nv)
		}
		if same {
			continue
		}
		c := Change{Field: f}
		if inOld {
			c.Old = compact(ov)
		}
		if nv, ok := news[0][f]; ok {
			c.New = compact(nv)
		}
		changes = append(changes, c)
	}
	return changes
}

// fieldOrder sorts model and prompt before the parameters.
func fieldOrder(f string) string {
	switch f {
	case "model":
		return "0"
	case "prompt":
		return "1"
	}
	return "2" + f
}

func decodeRequest(body []byte) (map[string]any, error) {
	if len(body) == 0 {
		return nil, nil
	}
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	var m map[string]any
	return m, d.Decode(&m)
}

func compact(v any) json.RawMessage {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if enc.Encode(v) != nil {
		return nil
	}
	return bytes.TrimSpace(b.Bytes())
}

// resolvedRequest is the job's request with its job references replaced by
// the upstream results on record, or nil when it has none or they cannot
// be resolved.
func resolvedRequest(j *manifest.Job, lock *lockfile.File) []byte {
	if len(j.Needs) == 0 {
		return nil
	}
	prompt, params, err := j.Resolve(func(id string) []string {
		if up := lock.Jobs[id]; up != nil {
			return up.Results
		}
		return nil
	})
	if err != nil {
		return nil
	}
	req := make(map[string]any, len(params)+2)
	for k, v := range params {
		req[k] = v
	}
	req["model"], req["prompt"] = j.Model, prompt
	body, err := json.Marshal(req)
	if err != nil {
		return nil
	}
	return body
}
