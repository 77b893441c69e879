package lockfile

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"
)

// tenThousand is a lockfile of 10,000 done jobs, each as a run records it.
func tenThousand() map[string]*Job {
	now := time.Now().UTC()
	jobs := make(map[string]*Job, 10000)
	for i := range 10000 {
		id := fmt.Sprintf("job-%05d", i)
		jobs[id] = &Job{
			SpecHash: fmt.Sprintf("%064x", i), Model: "nano-banana-2", Kind: "image",
			Request: []byte(fmt.Sprintf(`{"model":"nano-banana-2","prompt":"product shot %d","aspect_ratio":"1:1"}`, i)),
			Attempts: []*Attempt{{N: 1, SpecHash: fmt.Sprintf("%064x", i), IdempotencyKey: "apb1-0123456789abcdef0123456789abcdef01234567",
				TaskID: "img_0123456789", Status: "completed", SubmittedAt: now, FinishedAt: now, RequestID: "req_0123", Cost: "0.0400"}},
			Results:     []string{"https://cdn.example.com/files/img_0123456789/0.png"},
			CompletedAt: now, ExpiresAt: now.Add(24 * time.Hour),
			Outputs: []Output{{Path: "out/" + id + "/0.png", SHA256: fmt.Sprintf("%064x", i), Bytes: 123456, ModTime: now}},
			Cost:    "0.0400", DurationMS: 2100,
		}
	}
	return jobs
}

// BenchmarkFlush10k writes a 10,000-job lockfile after a change: marshal,
// temp file, fsync, rename, fsync of the folder.
func BenchmarkFlush10k(b *testing.B) {
	s, err := Open(filepath.Join(b.TempDir(), "jobs.lock"), Options{FlushInterval: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	s.Update(func(f *File) { f.Jobs = tenThousand() })
	if err := s.Flush(); err != nil {
		b.Fatal(err)
	}
	size := s.BytesWritten()
	b.SetBytes(size)
	for b.Loop() {
		s.Update(func(f *File) { f.Jobs["job-00042"].Cost = "0.0500" })
		if err := s.Flush(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkUpdate10k is the cost a runner pays per state change on a
// 10,000-job lockfile: the writes are coalesced in the background.
func BenchmarkUpdate10k(b *testing.B) {
	s, err := Open(filepath.Join(b.TempDir(), "jobs.lock"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	s.Update(func(f *File) { f.Jobs = tenThousand() })
	i := 0
	for b.Loop() {
		i++
		s.Update(func(f *File) { f.Jobs[fmt.Sprintf("job-%05d", i%10000)].DurationMS = int64(i) })
	}
	b.ReportMetric(float64(s.BytesWritten())/float64(b.N), "written-B/op")
}
