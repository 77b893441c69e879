package lockfile

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Load reads a lockfile. A missing file gives an empty File with a fresh Salt
// and no error. A file that is not a valid lockfile gives *CorruptError and one
// with a version newer than Version gives *VersionError; Load never replaces
// such a file.
func Load(path string) (*File, error) {
	f, _, err := load(path)
	return f, err
}

// load is Load that also reports whether the returned File has no durable copy
// yet: the file was missing, or it lacked a salt and got a fresh one.
func load(path string) (f *File, fresh bool, err error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return newFile(), true, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("read lockfile: %w", err)
	}
	f, err = decode(path, data)
	if err != nil {
		return nil, false, err
	}
	if f.Salt == "" {
		f.Salt = newSalt()
		fresh = true
	}
	return f, fresh, nil
}

// decode parses data, checking the version before the body so that a newer
// format is reported as such rather than as corruption.
func decode(path string, data []byte) (*File, error) {
	var head struct {
		Version int `json:"version"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return nil, &CorruptError{Path: path, Err: err}
	}
	switch {
	case head.Version > Version:
		return nil, &VersionError{Path: path, Version: head.Version}
	case head.Version < 1:
		return nil, &CorruptError{Path: path, Err: fmt.Errorf("invalid version %d", head.Version)}
	}
	f := &File{}
	if err := json.Unmarshal(data, f); err != nil {
		return nil, &CorruptError{Path: path, Err: err}
	}
	if f.Jobs == nil {
		f.Jobs = map[string]*Job{}
	}
	for id, j := range f.Jobs {
		if j == nil {
			return nil, &CorruptError{Path: path, Err: fmt.Errorf("job %q is null", id)}
		}
		for i, a := range j.Attempts {
			if a == nil {
				return nil, &CorruptError{Path: path, Err: fmt.Errorf("job %q: attempt %d is null", id, i+1)}
			}
		}
	}
	return f, nil
}

// writeFile replaces path with data atomically: it writes a temp file in the
// same folder, syncs it, renames it over path and syncs the folder, so that a
// crash at any instant leaves either the old or the new complete file.
func writeFile(path string, data []byte) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, tempPattern(base))
	if err != nil {
		return fmt.Errorf("write lockfile: %w", err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
			err = fmt.Errorf("write lockfile %s: %w", path, err)
		}
	}()
	if _, err := tmp.Write(data); err != nil {
		return err
	}
	// CreateTemp makes the file 0600; the lockfile holds no secrets and is meant
	// to be committed, so give it the usual mode.
	if err := tmp.Chmod(0o644); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("sync folder: %w", err)
	}
	return nil
}

// tempPattern is the os.CreateTemp pattern for temp files of the lockfile base.
func tempPattern(base string) string {
	return "." + base + "-*.tmp"
}
