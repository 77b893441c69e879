//go:build darwin || dragonfly || freebsd || linux || netbsd || openbsd

package lockfile

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
	"time"
)

// lockOwner takes the exclusive lock of the lockfile at path: flock(LOCK_EX|LOCK_NB)
// on the sidecar owner file, into which it then writes our pid, host and start
// time. The kernel drops a flock when its holder dies, so the lock of a killed
// run is taken over here without any staleness check; its owner info is simply
// overwritten. If a live process holds the lock it returns *HeldError.
func lockOwner(path string, now time.Time) (*ownerLock, error) {
	name := path + ownerSuffix
	// The holder removes the owner file before unlocking, so the file we lock
	// may have been unlinked in between; then we try again with the new one.
	for range 10 {
		f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o644)
		if err != nil {
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
			if !errors.Is(err, syscall.EWOULDBLOCK) {
				f.Close()
				return nil, fmt.Errorf("lock %s: %w", path, err)
			}
			info := readOwner(f)
			f.Close()
			return nil, &HeldError{Path: path, PID: info.PID, Host: info.Host, Since: info.Started}
		}
		if !samePath(f, name) {
			f.Close()
			continue
		}
		if err := writeOwner(f, now); err != nil {
			o := &ownerLock{path: name, f: f}
			return nil, errors.Join(fmt.Errorf("lock %s: write owner: %w", path, err), o.release())
		}
		return &ownerLock{path: name, f: f}, nil
	}
	return nil, fmt.Errorf("lock %s: owner file keeps changing", path)
}

// samePath reports whether the open file f is still the file at name.
func samePath(f *os.File, name string) bool {
	a, err := f.Stat()
	if err != nil {
		return false
	}
	b, err := os.Stat(name)
	return err == nil && os.SameFile(a, b)
}

// syncDir fsyncs the folder dir so that a rename in it is durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	// Some file systems cannot sync a folder; the rename is as durable as
	// they make it.
	if errors.Is(err, syscall.EINVAL) || errors.Is(err, syscall.ENOTSUP) {
		err = nil
	}
	return errors.Join(err, d.Close())
}

// readOwner reads the owner info from f. A holder writes it just after taking
// the lock, so an empty or partial file is retried for a short while.
func readOwner(f *os.File) ownerInfo {
	var info ownerInfo
	for range 20 {
		data, err := io.ReadAll(io.NewSectionReader(f, 0, 1<<16))
		if err == nil && json.Unmarshal(data, &info) == nil && info.PID != 0 {
			return info
		}
		time.Sleep(10 * time.Millisecond)
	}
	return ownerInfo{}
}
