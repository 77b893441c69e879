package lockfile

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// FuzzLoad feeds arbitrary bytes to the lockfile decoder: it never panics;
// it refuses with a *CorruptError or *VersionError that says what to do,
// or returns a File whose jobs and attempts are all there and that
// survives a save and a reload unchanged.
func FuzzLoad(f *testing.F) {
	good, err := marshal(&File{Version: 1, Salt: "00", Jobs: map[string]*Job{"a": sampleJob()}})
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{
		string(good),
		string(good[:len(good)/2]),
		string(good[:len(good)-2]),
		"",
		"{}",
		`{"version":1}`,
		`{"version":2,"jobs":[1,2]}`,
		`{"version":1e9}`,
		`{"version":-1,"jobs":{}}`,
		`{"version":1,"salt":"00","jobs":{"a":null}}`,
		`{"version":1,"salt":"00","jobs":{"a":{"attempts":[null]}}}`,
		`{"version":1,"salt":"00","jobs":{"a":{"attempts":[{"n":1},null]}}}`,
		`{"version":1,"jobs":{"a":{"request":{"model":"x"},"outputs":[{"path":"out/a/0.png"}]}}}`,
		`{"version":1,"jobs":{"a":{"completed_at":"not a time"}}}`,
		"\xef\xbb\xbf{\"version\":1}",
		`{"version":1,"version":2}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		lf, err := decode("jobs.lock", data)
		if err != nil {
			var ce *CorruptError
			var ve *VersionError
			switch {
			case errors.As(err, &ce):
				if !strings.Contains(err.Error(), "move it aside") {
					t.Fatalf("corrupt without a way out: %v", err)
				}
			case errors.As(err, &ve):
				if !strings.Contains(err.Error(), "upgrade") {
					t.Fatalf("too new without a way out: %v", err)
				}
			default:
				t.Fatalf("error %T %v, want *CorruptError or *VersionError", err, err)
			}
			return
		}
		if lf.Jobs == nil || lf.Version < 1 || lf.Version > Version {
			t.Fatalf("decoded %+v", lf)
		}
		for id, j := range lf.Jobs {
			if j == nil {
				t.Fatalf("job %q is nil", id)
			}
			for _, a := range j.Attempts {
				if a == nil {
					t.Fatalf("job %q has a nil attempt", id)
				}
			}
			_ = j.LastAttempt()
		}
		once, err := marshal(lf)
		if err != nil {
			t.Fatalf("a decoded file does not encode: %v", err)
		}
		again, err := decode("jobs.lock", once)
		if err != nil {
			t.Fatalf("a saved file does not load: %v\n%s", err, once)
		}
		twice, err := marshal(again)
		if err != nil || !bytes.Equal(once, twice) {
			t.Fatalf("save and reload changed the file:\n%s\n%s", once, twice)
		}
	})
}
