package lockfile

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// sampleJob returns a job with every field set.
func sampleJob() *Job {
	t0 := time.Date(2025, 11, 28, 14, 2, 7, 0, time.UTC)
	return &Job{
		SpecHash: "sha256:abc",
		Model:    "flux-dev",
		Kind:     "image",
		Backend:  "sandbox",
		Request:  json.RawMessage(`{"prompt":"a cat","n":2}`),
		Attempts: []*Attempt{
			{N: 1, SpecHash: "sha256:abc", IdempotencyKey: "k1", TaskID: "t1", Status: "failed",
				SubmittedAt: t0, FinishedAt: t0.Add(time.Second), ErrorCode: "E_NSFW", ErrorMessage: "no", RequestID: "r1", Cost: "0.01"},
			{N: 2, SpecHash: "sha256:abc", IdempotencyKey: "k2", TaskID: "t2", Status: "completed",
				SubmittedAt: t0.Add(2 * time.Second), FinishedAt: t0.Add(5 * time.Second)},
		},
		Results:     []string{"https://cdn.example/1.png", "https://cdn.example/2.png"},
		CompletedAt: t0.Add(5 * time.Second),
		ExpiresAt:   t0.Add(24 * time.Hour),
		Outputs:     []Output{{Path: "out/cat-1.png", SHA256: "00ff", Bytes: 1234, ModTime: t0.Add(6 * time.Second)}},
		Cost:        "0.02",
		DurationMS:  3000,
	}
}

// equalJSON reports whether a and b hold the same JSON value.
func equalJSON(t *testing.T, a, b []byte) bool {
	t.Helper()
	var ca, cb bytes.Buffer
	if err := json.Compact(&ca, a); err != nil {
		t.Fatal(err)
	}
	if err := json.Compact(&cb, b); err != nil {
		t.Fatal(err)
	}
	return bytes.Equal(ca.Bytes(), cb.Bytes())
}

func TestLoadMissing(t *testing.T) {
	f, err := Load(filepath.Join(t.TempDir(), "jobs.lock"))
	if err != nil {
		t.Fatal(err)
	}
	if f.Version != Version || f.Jobs == nil || len(f.Jobs) != 0 {
		t.Errorf("Load of missing file = %+v, want empty", f)
	}
	if b, err := hex.DecodeString(f.Salt); err != nil || len(b) != 16 {
		t.Errorf("salt %q is not 16 bytes of hex", f.Salt)
	}
	g, _ := Load(filepath.Join(t.TempDir(), "jobs.lock"))
	if g.Salt == f.Salt {
		t.Error("two fresh files got the same salt")
	}
}

func TestLoadCorrupt(t *testing.T) {
	good, err := marshal(&File{Version: 1, Salt: "00", Jobs: map[string]*Job{"a": sampleJob()}})
	if err != nil {
		t.Fatal(err)
	}
	for name, content := range map[string]string{
		"truncated":  string(good[:len(good)/2]),
		"empty":      "",
		"not json":   "version = 1\n",
		"no version": `{"salt":"00","jobs":{}}`,
		"null job":   `{"version":1,"salt":"00","jobs":{"a":null}}`,
		"bad type":   `{"version":1,"salt":"00","jobs":{"a":{"attempts":"x"}}}`,
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "jobs.lock")
			if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := Load(path)
			var ce *CorruptError
			if !errors.As(err, &ce) || ce.Path != path {
				t.Fatalf("Load = %v, want *CorruptError for %s", err, path)
			}
			if !strings.Contains(err.Error(), "move it aside") {
				t.Errorf("error %q does not say what to do", err)
			}
		})
	}
}

func TestLoadFutureVersion(t *testing.T) {
	path := filepath.Join(t.TempDir(), "jobs.lock")
	// The body does not fit version 1; the version must be reported, not corruption.
	if err := os.WriteFile(path, []byte(`{"version":2,"jobs":[1,2]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Load(path)
	var ve *VersionError
	if !errors.As(err, &ve) || ve.Version != 2 {
		t.Fatalf("Load = %v, want *VersionError with version 2", err)
	}
	if !strings.Contains(err.Error(), "upgrade") {
		t.Errorf("error %q does not say what to do", err)
	}
}

func TestLoadMissingSalt(t *testing.T) {
	path := filepath.Join(t.TempDir(), "jobs.lock")
	if err := os.WriteFile(path, []byte(`{"version":1}`), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if f.Salt == "" || f.Jobs == nil {
		t.Errorf("Load = %+v, want a fresh salt and an empty job map", f)
	}
}

func TestWriteFileLeavesNoTemp(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "jobs.lock")
	if err := writeFile(path, []byte("one\n")); err != nil {
		t.Fatal(err)
	}
	if err := writeFile(path, []byte("two\n")); err != nil {
		t.Fatal(err)
	}
	assertOnly(t, dir, "jobs.lock")
	if data, _ := os.ReadFile(path); string(data) != "two\n" {
		t.Errorf("content = %q, want %q", data, "two\n")
	}
	if err := writeFile(filepath.Join(dir, "missing", "jobs.lock"), []byte("x")); err == nil {
		t.Error("writeFile into a missing folder succeeded")
	}
}

// assertOnly fails unless dir holds exactly the named entries.
func assertOnly(t *testing.T, dir string, names ...string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	if strings.Join(got, " ") != strings.Join(names, " ") {
		t.Errorf("%s holds %q, want %q", dir, got, names)
	}
}
