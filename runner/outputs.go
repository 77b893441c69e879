package runner

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/apipod/apipod-batch/apipod"
	"github.com/apipod/apipod-batch/lockfile"
	"github.com/apipod/apipod-batch/manifest"
)

// startDownload fetches a completed job's results. After a fresh completion
// it runs in the background so the generation slot is free at once; for a
// plan's Download step (recorded results, lost files) it runs inline and
// reports false when the URLs have expired, so the caller can regenerate.
func (r *run) startDownload(ctx context.Context, st *Step, jr *JobResult, inline bool) bool {
	var results []string
	r.cfg.Store.View(func(f *lockfile.File) { results = append(results, f.Jobs[st.Job.ID].Results...) })
	if !inline {
		r.downloads.Add(1)
		go func() {
			defer r.downloads.Done()
			r.downloadAll(r.dlCtx, st, jr, results, false)
		}()
		return true
	}
	err := r.downloadAll(ctx, st, jr, results, true)
	var de *apipod.DownloadError
	if errors.As(err, &de) && de.Expired {
		jr.State, jr.Err = StatePending, nil
		return false
	}
	return true
}

// downloadAll writes every result of a job and records the outputs; the job
// is done when all are on disk. An expired URL fails the job unless the
// download is inline, whose caller regenerates instead.
func (r *run) downloadAll(ctx context.Context, st *Step, jr *JobResult, results []string, inline bool) error {
	select {
	case r.dlSem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-r.dlSem }()
	outputs := make([]lockfile.Output, 0, len(results))
	paths := make([]string, 0, len(results))
	for n, url := range results {
		d, err := r.cfg.API.Download(ctx, url, func(ext string) (string, error) {
			return outputPath(r.m, st.Job, n, ext)
		})
		if err != nil {
			if ctx.Err() != nil {
				return err
			}
			var de *apipod.DownloadError
			// Not st.Action == Download: the fresh results of a download
			// step that regenerated come here too, and must fail if dead.
			if errors.As(err, &de) && de.Expired && inline {
				return err
			}
			r.fail(st, jr, fmt.Errorf("output %d: %w", n, err), false)
			return err
		}
		rel, err := filepath.Rel(r.m.Dir, d.Path)
		if err != nil {
			rel = d.Path
		}
		o := lockfile.Output{Path: filepath.ToSlash(rel), SHA256: d.SHA256, Bytes: d.Bytes}
		if fi, err := os.Stat(d.Path); err == nil {
			o.ModTime = fi.ModTime()
		}
		outputs = append(outputs, o)
		paths = append(paths, o.Path)
	}
	r.cfg.Store.Update(func(f *lockfile.File) { f.Jobs[st.Job.ID].Outputs = outputs })
	jr.State, jr.Outputs = StateDone, paths
	r.emit(Event{Kind: EventDownloaded, Job: jr.ID, Model: jr.Model, TaskID: jr.TaskID, Outputs: len(outputs)})
	return nil
}

// outputPath expands a job's output template for result n and makes sure
// the path stays inside the output folder, whatever the template, the
// matrix values or the server-supplied extension hold.
func outputPath(m *manifest.Manifest, j *manifest.Job, n int, ext string) (string, error) {
	rel := j.OutputPath(n, ext)
	if !filepath.IsLocal(rel) {
		return "", fmt.Errorf("output path %q leaves the output folder", rel)
	}
	if err := noSymlinkOut(m.OutputDir(), rel); err != nil {
		return "", err
	}
	return filepath.Join(m.OutputDir(), rel), nil
}

// noSymlinkOut refuses an output path rel under dir when a folder on the
// way already exists as a symlink to somewhere outside dir: writing
// through it would put a file elsewhere. Links that stay inside dir are
// fine, and so is dir itself being a link.
func noSymlinkOut(dir, rel string) error {
	root, err := filepath.EvalSymlinks(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil // nothing exists yet, so nothing on the way is a link
	}
	if err != nil {
		return err
	}
	return noSymlinkUnder(dir, root, rel)
}

// noSymlinkUnder is noSymlinkOut with dir's real path, root, resolved once
// by the caller.
func noSymlinkUnder(dir, root, rel string) error {
	cur := dir
	for _, part := range strings.Split(filepath.Dir(rel), string(filepath.Separator)) {
		if part == "." {
			continue
		}
		cur = filepath.Join(cur, part)
		fi, err := os.Lstat(cur)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			continue
		}
		target, err := filepath.EvalSymlinks(cur)
		if err != nil {
			return fmt.Errorf("output path %q: folder %s is a broken symlink", rel, cur)
		}
		if inside, err := filepath.Rel(root, target); err != nil || !filepath.IsLocal(inside) {
			return fmt.Errorf("output path %q: folder %s is a symlink to %s, outside the output folder", rel, cur, target)
		}
	}
	return nil
}

// ownFiles are the absolute paths of apipod-batch's own files for m: the
// manifest, its lockfile and the lock's owner file.
func ownFiles(m *manifest.Manifest) []string {
	lock := lockfile.Path(m.Path)
	var out []string
	for _, own := range []string{m.Path, lock, lock + ".owner"} {
		if abs, err := filepath.Abs(own); err == nil {
			out = append(out, abs)
		}
	}
	return out
}

// CheckOutputFolders refuses, before anything is sent, output templates that
// would write through an existing folder that is a symlink to somewhere
// outside the output folder, or over the manifest, its lockfile or the
// lock's owner file (possible with output_dir: .). Each problem is placed at the job's output
// template; a template shared by many jobs (a matrix) is reported once per
// folder.
func CheckOutputFolders(m *manifest.Manifest) error {
	var errs manifest.Errors
	seen := map[string]bool{}
	dir, own := m.OutputDir(), ownFiles(m)
	root, err := filepath.EvalSymlinks(dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	for _, j := range m.Jobs {
		rel := j.OutputPath(0, "{ext}")
		if !filepath.IsLocal(rel) {
			continue // the manifest refuses these itself
		}
		key := j.OutputPos.String() + "\x00" + filepath.Dir(rel)
		if seen[key] {
			continue
		}
		seen[key] = true
		if root != "" { // with no output folder yet, nothing on the way is a link
			if err := noSymlinkUnder(dir, root, rel); err != nil {
				errs = append(errs, &manifest.Error{Pos: j.OutputPos, Job: j.ID, Msg: err.Error()})
			}
		}
		path := filepath.Join(dir, rel)
		for _, f := range own {
			if strings.EqualFold(f, path) {
				errs = append(errs, &manifest.Error{Pos: j.OutputPos, Job: j.ID,
					Msg: fmt.Sprintf("output path %q would overwrite %s; choose another output template", rel, filepath.Base(f))})
			}
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return errs
}
