package manifest

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// manyJobs is a manifest of small jobs, the costliest shape per byte, of
// at least size bytes.
func manyJobs(size int) []byte {
	var b strings.Builder
	b.WriteString("version: 1\ndefaults: {model: nano-banana-2}\njobs:\n")
	for i := 0; b.Len() < size; i++ {
		fmt.Fprintf(&b, "  job-%06d:\n    prompt: \"product shot number %d on a white table\"\n", i, i)
	}
	return []byte(b.String())
}

// laughs is a billion-laughs document: levels of aliases, each ten times
// the one before.
func laughs(levels int) []byte {
	var b strings.Builder
	b.WriteString("version: 1\nvars:\n  l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n")
	for i := 1; i <= levels; i++ {
		refs := strings.TrimSuffix(strings.Repeat(fmt.Sprintf("*l%d, ", i-1), 10), ", ")
		fmt.Fprintf(&b, "  l%d: &l%d [%s]\n", i, i, refs)
	}
	return []byte(b.String())
}

// TestHostileManifestsAreBounded proves that huge, deep, alias-bombed, binary
// and multi-document manifests are refused (or, at the size limit, read) in
// bounded time and memory, with a clear message.
func TestHostileManifestsAreBounded(t *testing.T) {
	// The time budget only catches runaway cost (an alias bomb expanding,
	// a quadratic walk): it is far above the measured times so that a
	// busy machine cannot fail it. The allocation bounds are the real test.
	budget := 10 * time.Second
	if raceEnabled {
		budget *= 6
	}
	tests := []struct {
		name     string
		data     []byte
		ok       bool   // parses without problems
		inErr    string // text of the first problem
		maxAlloc uint64 // bytes allocated at most
	}{
		{"7 MiB of jobs", manyJobs(7 << 20), true, "", 512 << 20},
		{"over 8 MiB", manyJobs(9 << 20), false, "manifest is larger than 8 MiB", 1 << 20},
		{"a million open brackets", []byte("version: 1\njobs: " + strings.Repeat("[", 1<<20)), false, "exceeded max depth", 64 << 20},
		{"nested flow mappings", []byte("version: 1\njobs: " + strings.Repeat("{a: ", 200_000)), false, "exceeded max depth", 64 << 20},
		{"nested block sequences", []byte("version: 1\njobs:\n" + strings.Repeat("- ", 100_000) + "x\n"), false, "exceeded max depth", 64 << 20},
		{"billion laughs", laughs(9), false, "YAML aliases (*l0) are not supported", 4 << 20},
		{"not UTF-8", append([]byte("version: 1\njobs:\n  a: {prompt: \""), 0xff, 0xfe, 0x00, '"', '}'), false, "not valid UTF-8", 1 << 20},
		{"binary junk", []byte("\x00\x01\x02\x03\xff\xd8\xff\xe0JFIF"), false, "not valid UTF-8", 1 << 20},
		{"two documents", []byte("version: 1\njobs: {a: {model: nano-banana-2, prompt: p}}\n---\nversion: 1\n"), false, "one YAML document", 1 << 20},
		{"a thousand documents", []byte(strings.Repeat("---\nversion: 1\n", 1000)), false, "one YAML document", 4 << 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			start := time.Now()
			m, err := Parse("hostile.yaml", tt.data, nil)
			took := time.Since(start)
			runtime.ReadMemStats(&after)
			alloc := after.TotalAlloc - before.TotalAlloc
			t.Logf("%d bytes: %s, %d MiB allocated", len(tt.data), took.Round(time.Millisecond), alloc>>20)
			if took > budget {
				t.Errorf("took %s, want under %s", took, budget)
			}
			if alloc > tt.maxAlloc {
				t.Errorf("allocated %d MiB, want at most %d MiB", alloc>>20, tt.maxAlloc>>20)
			}
			if tt.ok {
				if err != nil || len(m.Jobs) == 0 {
					t.Fatalf("err = %.300v", err)
				}
				return
			}
			var errs Errors
			if !errors.As(err, &errs) || !strings.Contains(errs[0].Msg, tt.inErr) || !strings.HasPrefix(errs[0].Error(), "hostile.yaml") {
				t.Fatalf("err = %.300v, want a problem with %q", err, tt.inErr)
			}
		})
	}
}

// TestLoadReadsBoundedBytes gives Load a 1 GiB (sparse) file: it reads no
// more than the limit before refusing it.
func TestLoadReadsBoundedBytes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "huge.yaml")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(1 << 30); err != nil {
		t.Skipf("no sparse files: %v", err)
	}
	f.Close()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err = Load(path, nil)
	runtime.ReadMemStats(&after)
	var errs Errors
	if !errors.As(err, &errs) || !strings.Contains(errs[0].Msg, "larger than 8 MiB") {
		t.Fatalf("err = %v", err)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 64<<20 {
		t.Fatalf("allocated %d MiB for a file it refuses", alloc>>20)
	}
}
