//go:build !(darwin || dragonfly || freebsd || linux || netbsd || openbsd)

package lockfile

import (
	"fmt"
	"os"
	"time"
)

// lockOwner records us in the owner file of the lockfile at path. On this
// platform there is no flock, so it does not exclude other runs.
func lockOwner(path string, now time.Time) (*ownerLock, error) {
	name := path + ownerSuffix
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	o := &ownerLock{path: name, f: f}
	if err := writeOwner(f, now); err != nil {
		o.release()
		return nil, fmt.Errorf("lock %s: write owner: %w", path, err)
	}
	return o, nil
}

// syncDir does nothing: folders cannot be synced on this platform, and a
// rename is as durable as the file system makes it.
func syncDir(string) error { return nil }
