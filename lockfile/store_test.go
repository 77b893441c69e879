package lockfile

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
	"time"
)

// open opens a store on dir/jobs.lock with a short flush interval and closes
// it at the end of the test.
func open(t *testing.T, dir string) *Store {
	t.Helper()
	s, err := Open(filepath.Join(dir, "jobs.lock"), Options{FlushInterval: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestOpenWritesSaltAtOnce(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	var salt string
	s.View(func(f *File) { salt = f.Salt })
	f, err := Load(filepath.Join(dir, "jobs.lock"))
	if err != nil {
		t.Fatal(err)
	}
	if f.Salt == "" || f.Salt != salt {
		t.Errorf("salt on disk %q, in memory %q", f.Salt, salt)
	}
	if s.BytesWritten() == 0 {
		t.Error("BytesWritten = 0 after writing a new file")
	}
}

func TestOpenWritesMissingSalt(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "jobs.lock")
	if err := os.WriteFile(path, []byte(`{"version":1,"jobs":{}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	s := open(t, dir)
	var salt string
	s.View(func(f *File) { salt = f.Salt })
	if f, err := Load(path); err != nil || f.Salt != salt {
		t.Errorf("salt on disk %q (%v), in memory %q", f.Salt, err, salt)
	}
}

func TestOpenExistingDoesNotWrite(t *testing.T) {
	dir := t.TempDir()
	open(t, dir).Close()
	s := open(t, dir)
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	if n := s.BytesWritten(); n != 0 {
		t.Errorf("BytesWritten = %d without changes, want 0", n)
	}
}

func TestRoundTrip(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "jobs.lock")
	s := open(t, dir)
	want := sampleJob()
	s.Update(func(f *File) { f.Jobs["cat"] = want })
	var salt string
	s.View(func(f *File) { salt = f.Salt })
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	assertOnly(t, dir, "jobs.lock")

	f, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if f.Version != Version || f.Salt != salt || len(f.Jobs) != 1 {
		t.Fatalf("loaded %+v", f)
	}
	got := f.Jobs["cat"]
	if !equalJSON(t, got.Request, want.Request) {
		t.Errorf("request = %s, want %s", got.Request, want.Request)
	}
	got.Request, want.Request = nil, nil
	if !reflect.DeepEqual(got, want) {
		t.Errorf("job = %+v, want %+v", got, want)
	}

	// A second store reads what the first wrote.
	s2 := open(t, dir)
	s2.View(func(f *File) {
		if f.Salt != salt || f.Jobs["cat"] == nil {
			t.Errorf("reopened state = %+v", f)
		}
	})
}

func TestCoalescing(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	start := s.BytesWritten()
	const n = 1000
	for i := range n {
		s.Update(func(f *File) { f.Jobs[fmt.Sprintf("job-%04d", i)] = sampleJob() })
	}
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(filepath.Join(dir, "jobs.lock"))
	if err != nil {
		t.Fatal(err)
	}
	// Every write is at most the final size, so this bounds the write count.
	writes := float64(s.BytesWritten()-start) / float64(info.Size())
	t.Logf("%d updates: %d bytes written, %.1f final files' worth", n, s.BytesWritten()-start, writes)
	if writes > 20 {
		t.Errorf("%d updates wrote %.1f files' worth, want O(1)", n, writes)
	}
	f, err := Load(filepath.Join(dir, "jobs.lock"))
	if err != nil || len(f.Jobs) != n {
		t.Fatalf("Load after Flush: %d jobs, %v", len(f.Jobs), err)
	}
}

func TestBackgroundWrite(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	s.Update(func(f *File) { f.Jobs["a"] = sampleJob() })
	deadline := time.Now().Add(5 * time.Second)
	for {
		f, err := Load(filepath.Join(dir, "jobs.lock"))
		if err != nil {
			t.Fatal(err)
		}
		if f.Jobs["a"] != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("update not written in the background")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestConcurrentUpdates(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range 100 {
				s.Update(func(f *File) { f.Jobs[fmt.Sprintf("%d-%d", w, i)] = &Job{Model: "m"} })
				s.View(func(f *File) { _ = len(f.Jobs) })
				if i%25 == 0 {
					if err := s.Flush(); err != nil {
						t.Error(err)
					}
				}
			}
		})
	}
	wg.Wait()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	f, err := Load(filepath.Join(dir, "jobs.lock"))
	if err != nil || len(f.Jobs) != 800 {
		t.Fatalf("Load: %d jobs, %v", len(f.Jobs), err)
	}
}

func TestBackgroundErrorReported(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "m")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	s := open(t, dir)
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	s.Update(func(f *File) { f.Jobs["a"] = sampleJob() })
	time.Sleep(100 * time.Millisecond) // several intervals: the background write fails
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	// Whether the background writer has retried successfully or Flush writes
	// now, the earlier failure must be reported once.
	if err := s.Flush(); err == nil {
		t.Error("Flush after a failed background write returned nil")
	}
	if err := s.Flush(); err != nil {
		t.Errorf("second Flush = %v, want nil", err)
	}
	if f, err := Load(filepath.Join(dir, "jobs.lock")); err != nil || f.Jobs["a"] == nil {
		t.Errorf("state not written after the folder came back: %v", err)
	}
}

func TestOpenCorruptLeavesFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "jobs.lock")
	content := []byte(`{"version":1,"salt":"00","jobs":{"a":{"mod`)
	if err := os.WriteFile(path, content, 0o644); err != nil {
		t.Fatal(err)
	}
	for range 2 { // the failed Open must release the lock
		_, err := Open(path, Options{})
		var ce *CorruptError
		if !errors.As(err, &ce) {
			t.Fatalf("Open = %v, want *CorruptError", err)
		}
	}
	if data, _ := os.ReadFile(path); string(data) != string(content) {
		t.Errorf("corrupt file changed to %q", data)
	}
	assertOnly(t, dir, "jobs.lock")
}

func TestOpenFutureVersionLeavesFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "jobs.lock")
	content := []byte(`{"version":99}`)
	if err := os.WriteFile(path, content, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Open(path, Options{})
	var ve *VersionError
	if !errors.As(err, &ve) {
		t.Fatalf("Open = %v, want *VersionError", err)
	}
	if data, _ := os.ReadFile(path); string(data) != string(content) {
		t.Errorf("future-version file changed to %q", data)
	}
}

func TestOpenRemovesStaleTemps(t *testing.T) {
	dir := t.TempDir()
	stale := filepath.Join(dir, ".jobs.lock-123.tmp")
	if err := os.WriteFile(stale, []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(dir, ".other.lock-1.tmp")
	if err := os.WriteFile(other, []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	open(t, dir).Close()
	assertOnly(t, dir, ".other.lock-1.tmp", "jobs.lock")
}

func TestCloseTwiceAndFlushAfterClose(t *testing.T) {
	s := open(t, t.TempDir())
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close = %v, want nil", err)
	}
	if err := s.Flush(); err == nil {
		t.Error("Flush after Close returned nil")
	}
}

func TestEffectiveInterval(t *testing.T) {
	s := &Store{interval: 500 * time.Millisecond}
	if d := s.effectiveInterval(); d != 500*time.Millisecond {
		t.Errorf("small file: %v, want the flush interval", d)
	}
	s.lastDur = 100 * time.Millisecond
	if d := s.effectiveInterval(); d != 2*time.Second {
		t.Errorf("slow write: %v, want 20× its duration", d)
	}
	s.lastSize = 8 << 20
	if d := s.effectiveInterval(); d != 8*time.Second {
		t.Errorf("8 MiB file: %v, want 8s", d)
	}
}

// A lockfile that is a symlink (into a CI cache or a shared folder) is
// written through: renaming over the link would leave the real file stale,
// and the idempotency keys recorded since would be lost with the workspace.
// The lock is taken beside the real file, so two links to it exclude each
// other.
func TestSymlinkedLockfileIsWrittenThrough(t *testing.T) {
	dir, cache := t.TempDir(), t.TempDir()
	real := filepath.Join(cache, "jobs.lock")
	if err := os.WriteFile(real, []byte(`{"version":1,"salt":"00","jobs":{}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "jobs.lock")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	s, err := Open(link, Options{FlushInterval: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Open(filepath.Join(cache, "jobs.lock"), Options{}); !errors.As(err, new(*HeldError)) {
		t.Errorf("second Open through the real path: %v, want HeldError", err)
	}
	s.Update(func(f *File) { f.Jobs["a"] = &Job{Model: "m"} })
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("the link was replaced: %v, %v", fi.Mode(), err)
	}
	f, err := Load(real)
	if err != nil || f.Jobs["a"] == nil {
		t.Fatalf("the real file was not updated: %v, %+v", err, f)
	}
}

// A dangling link (its cache not restored yet) is created through too.
func TestDanglingSymlinkedLockfile(t *testing.T) {
	dir, cache := t.TempDir(), t.TempDir()
	real := filepath.Join(cache, "jobs.lock")
	link := filepath.Join(dir, "jobs.lock")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	s, err := Open(link, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("the link was replaced: %v", err)
	}
	if _, err := os.Stat(real); err != nil {
		t.Fatalf("the real file was not created: %v", err)
	}
}
