package lockfile

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Options tunes a Store.
type Options struct {
	FlushInterval time.Duration    // minimum time between coalesced background writes; default 500ms
	Now           func() time.Time // clock for the owner info; default time.Now
}

// Store owns a lockfile for the duration of a run: it holds the exclusive lock,
// keeps the state in memory and writes it back.
type Store struct {
	path     string
	interval time.Duration
	owner    *ownerLock

	writeMu sync.Mutex // serializes writes, so Flush waits for a background write in progress

	mu        sync.Mutex // guards the fields below
	f         *File
	gen       uint64 // bumped by every Update
	saved     uint64 // gen of the last snapshot written
	lastWrite time.Time
	lastDur   time.Duration
	lastSize  int
	bgErr     error // first background write error not yet returned
	closed    bool

	bytes atomic.Int64
	wake  chan struct{} // buffered(1): an Update happened
	quit  chan struct{}
	done  chan struct{}
}

// Open takes the exclusive lock on path, loads the file as Load does and, if the
// file did not exist, writes it at once so that the Salt is durable before any
// request is made. If another live process holds the lock it returns *HeldError.
func Open(path string, opts Options) (*Store, error) {
	if opts.FlushInterval <= 0 {
		opts.FlushInterval = 500 * time.Millisecond
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	path, err := resolveLinks(path)
	if err != nil {
		return nil, err
	}
	owner, err := lockOwner(path, opts.Now())
	if err != nil {
		return nil, err
	}
	removeTemps(path)
	f, fresh, err := load(path)
	if err != nil {
		owner.release()
		return nil, err
	}
	s := &Store{
		path:     path,
		interval: opts.FlushInterval,
		owner:    owner,
		f:        f,
		wake:     make(chan struct{}, 1),
		quit:     make(chan struct{}),
		done:     make(chan struct{}),
	}
	if fresh {
		s.gen++
		if err := s.write(); err != nil {
			owner.release()
			return nil, err
		}
	}
	go s.run()
	return s, nil
}

// View calls fn with the state under the store's mutex; fn must not keep
// references to it.
func (s *Store) View(fn func(f *File)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fn(s.f)
}

// Update calls fn with the state under the store's mutex and schedules a
// coalesced background write; it never waits for the disk. fn must not keep
// references to the state. Changes made after Close are not written.
func (s *Store) Update(fn func(f *File)) {
	s.mu.Lock()
	fn(s.f)
	s.gen++
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Flush writes the state now if it changed since the last write and waits for
// the write. It also returns the first error of a background write since the
// previous Flush.
func (s *Store) Flush() error {
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return fmt.Errorf("flush lockfile %s: store is closed", s.path)
	}
	return s.flush()
}

// Close flushes, stops the background writer and releases the lock. Calling
// Close again does nothing.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	close(s.quit)
	<-s.done
	return errors.Join(s.flush(), s.owner.release())
}

// BytesWritten reports the total bytes written to the lockfile by this store.
func (s *Store) BytesWritten() int64 {
	return s.bytes.Load()
}

// flush is Flush without the closed check.
func (s *Store) flush() error {
	err := s.write()
	s.mu.Lock()
	if err == nil {
		err = s.bgErr
	}
	s.bgErr = nil
	s.mu.Unlock()
	return err
}

// run is the background writer: after an Update it waits until the effective
// interval has passed since the last write, then writes.
func (s *Store) run() {
	defer close(s.done)
	for {
		select {
		case <-s.wake:
		case <-s.quit:
			return
		}
		s.mu.Lock()
		wait := s.effectiveInterval() - time.Since(s.lastWrite)
		s.mu.Unlock()
		if wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-s.quit:
				t.Stop()
				return
			}
		}
		if err := s.write(); err != nil {
			s.mu.Lock()
			if s.bgErr == nil {
				s.bgErr = err
			}
			// Retry after another interval even without a new Update.
			s.lastWrite = time.Now()
			s.mu.Unlock()
			select {
			case s.wake <- struct{}{}:
			default:
			}
		}
	}
}

// effectiveInterval returns the minimum time between background writes. It is
// the largest of:
//   - the configured FlushInterval;
//   - 20 times the duration of the last write, so that writing (mostly fsync)
//     takes at most about 5% of the time on a slow disk;
//   - the last file size divided by 1 MiB/s, so that the lockfile is never
//     rewritten faster than 1 MiB/s on average.
//
// The last term is what keeps a run of N jobs from writing O(N²) bytes: the
// file grows with N and a fixed interval would rewrite all of it every tick,
// whereas a bandwidth cap makes the total bytes written linear in the run's
// duration whatever the file size. A crash loses at most one interval of
// updates, which the runner tolerates because idempotency keys are derived
// from the durable Salt. Call with s.mu held.
func (s *Store) effectiveInterval() time.Duration {
	const bytesPerSecond = 1 << 20
	d := s.interval
	d = max(d, 20*s.lastDur)
	d = max(d, time.Duration(s.lastSize)*time.Second/bytesPerSecond)
	return d
}

// write writes a snapshot of the state if it changed since the last write. The
// snapshot is marshaled under s.mu and written outside it, so Update never
// waits for the disk.
func (s *Store) write() error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	s.mu.Lock()
	if s.gen == s.saved {
		s.mu.Unlock()
		return nil
	}
	gen := s.gen
	data, err := marshal(s.f)
	s.mu.Unlock()
	if err != nil {
		return fmt.Errorf("encode lockfile %s: %w", s.path, err)
	}
	start := time.Now()
	if err := writeFile(s.path, data); err != nil {
		return err
	}
	s.bytes.Add(int64(len(data)))
	s.mu.Lock()
	s.saved = gen
	s.lastWrite = time.Now()
	s.lastDur = s.lastWrite.Sub(start)
	s.lastSize = len(data)
	s.mu.Unlock()
	return nil
}

// resolveLinks follows path while it is a symlink, even to a file that does
// not exist yet, and returns the file it ends at. A lockfile kept as a link
// (into a CI cache, say) must be written through: the atomic rename would
// otherwise replace the link with a plain file and leave the real one
// stale. The lock is taken beside the real file, so that two links to one
// lockfile exclude each other.
func resolveLinks(path string) (string, error) {
	for range 40 {
		fi, err := os.Lstat(path)
		if err != nil || fi.Mode()&os.ModeSymlink == 0 {
			return path, nil // a missing file is created where named
		}
		target, err := os.Readlink(path)
		if err != nil {
			return "", fmt.Errorf("lockfile %s: %w", path, err)
		}
		if !filepath.IsAbs(target) {
			target = filepath.Join(filepath.Dir(path), target)
		}
		path = target
	}
	return "", fmt.Errorf("lockfile %s: too many levels of symlinks", path)
}

// removeTemps deletes temp files left by a writer that crashed between
// creating and renaming them. The caller holds the lock, so none is in use.
func removeTemps(path string) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	entries, _ := os.ReadDir(dir)
	prefix, suffix, _ := strings.Cut(tempPattern(base), "*")
	for _, e := range entries {
		name := e.Name()
		if e.Type().IsRegular() && strings.HasPrefix(name, prefix) && strings.HasSuffix(name, suffix) {
			os.Remove(filepath.Join(dir, name))
		}
	}
}
