package lockfile

import (
	"encoding/json"
	"fmt"
	"os"
	"time"
)

// ownerSuffix names the sidecar file that carries the lock and the owner info.
const ownerSuffix = ".owner"

// ownerInfo is the content of the owner file.
type ownerInfo struct {
	PID     int       `json:"pid"`
	Host    string    `json:"host"`
	Started time.Time `json:"started"`
}

// ownerLock is a held lock on a lockfile's owner file.
type ownerLock struct {
	path string // the owner file
	f    *os.File
}

// release removes the owner file, then closes it, which drops the lock.
// Removing first means a process that opened the old file and then gets the
// lock sees it is no longer at the path and tries again.
func (o *ownerLock) release() error {
	err := os.Remove(o.path)
	if os.IsNotExist(err) {
		err = nil
	}
	if cerr := o.f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("release lock: %w", err)
	}
	return nil
}

// writeOwner replaces the content of the owner file f with our info.
func writeOwner(f *os.File, started time.Time) error {
	host, _ := os.Hostname()
	data, err := json.Marshal(ownerInfo{PID: os.Getpid(), Host: host, Started: started})
	if err != nil {
		return err
	}
	if err := f.Truncate(0); err != nil {
		return err
	}
	_, err = f.WriteAt(append(data, '\n'), 0)
	return err
}
