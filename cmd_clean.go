package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/apipod/apipod-batch/lockfile"
)

// cleanOptions are the inputs of `clean`.
type cleanOptions struct {
	global   *globalOptions
	manifest string
	all      bool
	yes      bool

	streams *streams
	// interactive says whether to ask first: stdin and stderr are terminals.
	interactive bool
}

func newCleanCmd(g *globalOptions, s *streams) *cobra.Command {
	opts := &cleanOptions{global: g, streams: s}
	cmd := &cobra.Command{
		Use:   "clean [MANIFEST]",
		Short: "Delete the outputs and lock entries of jobs no longer in the manifest",
		Long: "clean deletes the output files and lockfile entries of jobs that are in the lockfile but no\n" +
			"longer in the manifest; with --all, every output and the lockfile itself. It lists what it\n" +
			"will delete and, in a terminal, asks first unless --yes. It never deletes anything outside\n" +
			"output_dir, symlinks resolved, and takes the lockfile's lock like apply.",
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.manifest = manifestArg(args)
			opts.interactive = isTerminal(s.in) && isTerminal(s.err)
			return runClean(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.all, "all", false, "delete every output and the lockfile")
	cmd.Flags().BoolVarP(&opts.yes, "yes", "y", false, "do not ask for confirmation")
	return cmd
}

func runClean(ctx context.Context, opts *cleanOptions) error {
	m, err := loadManifest(opts.manifest, opts.global, opts.streams.err)
	if err != nil {
		return err
	}
	lockPath := lockfile.Path(opts.manifest)
	if _, err := os.Stat(lockPath); errors.Is(err, fs.ErrNotExist) {
		fmt.Fprintf(opts.streams.out, "Nothing to clean: %s does not exist.\n", lockPath)
		return nil
	}
	store, err := lockfile.Open(lockPath, lockfile.Options{})
	if err != nil {
		return err
	}
	defer store.Close()

	outDir, err := realDir(m.OutputDir())
	if err != nil {
		return err
	}
	// With output_dir "." (or any folder holding the manifest) these are
	// inside the output folder too; a lockfile that records one of them as
	// an output, hand-edited or merged from another branch, must not make
	// clean delete them.
	protected := protectedFiles(opts.manifest, lockPath)
	var ids []string
	var files []cleanFile
	var bad error
	store.View(func(f *lockfile.File) {
		// A job still in the manifest may record the very file an orphan
		// records too (a job renamed, its output template kept): that file
		// is the kept job's now, so it stays.
		kept := map[string]bool{}
		for id, lj := range f.Jobs {
			if opts.all || m.Job(id) == nil {
				continue
			}
			for _, o := range lj.Outputs {
				if file, err := deletable(outDir, filepath.Join(m.Dir, filepath.FromSlash(o.Path))); err == nil && file != "" {
					kept[file] = true
				}
			}
		}
		seen := map[string]bool{}
		for id, lj := range f.Jobs {
			if !opts.all && m.Job(id) != nil {
				continue
			}
			ids = append(ids, id)
			for _, o := range lj.Outputs {
				file, err := deletable(outDir, filepath.Join(m.Dir, filepath.FromSlash(o.Path)))
				if err == nil && file != "" {
					err = protected(file)
				}
				switch {
				case err != nil:
					bad = errors.Join(bad, fmt.Errorf("job %q: %w", id, err))
				case file != "" && !kept[file] && !seen[file]:
					// seen: two outputs (or two orphans) that recorded one
					// file list and delete it once.
					seen[file] = true
					files = append(files, cleanFile{shown: shownPath(opts.manifest, o.Path), real: file})
				}
			}
		}
	})
	if bad != nil {
		return fmt.Errorf("nothing was deleted: %w", bad)
	}
	slices.Sort(ids)
	slices.SortFunc(files, func(a, b cleanFile) int { return strings.Compare(a.shown, b.shown) })
	if len(ids) == 0 && !opts.all {
		fmt.Fprintln(opts.streams.out, "Nothing to clean: every job in the lockfile is in the manifest.")
		return nil
	}

	out := opts.streams.out
	fmt.Fprintf(out, "Will delete %s", countOf(len(files), "file"))
	if opts.all {
		fmt.Fprintf(out, " and %s:\n", lockPath)
	} else {
		fmt.Fprintf(out, " and %s from %s:\n", countOf(len(ids), "job"), lockPath)
	}
	for _, file := range files {
		fmt.Fprintf(out, "  %s\n", file.shown)
	}
	if !opts.all {
		for _, id := range ids {
			fmt.Fprintf(out, "  job %s\n", id)
		}
	}
	if opts.interactive && !opts.yes {
		ok, err := confirm(ctx, opts.streams.in, opts.streams.err, "Delete them?")
		if ctx.Err() != nil || (err == nil && !ok) {
			return errors.New("clean cancelled; nothing was deleted")
		}
		if err != nil {
			return fmt.Errorf("read the answer: %w; nothing was deleted", err)
		}
	}

	for _, file := range files {
		if err := os.Remove(file.real); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("delete output: %w", err)
		}
		removeEmptyDirs(outDir, filepath.Dir(file.real))
	}
	if opts.all {
		// The lock is still held; nothing rewrites the file after this.
		if err := os.Remove(lockPath); err != nil {
			return fmt.Errorf("delete lockfile: %w", err)
		}
	} else {
		store.Update(func(f *lockfile.File) {
			for _, id := range ids {
				delete(f.Jobs, id)
			}
		})
	}
	if err := store.Close(); err != nil {
		return fmt.Errorf("write lockfile: %w", err)
	}
	fmt.Fprintf(out, "Deleted %s.\n", countOf(len(files), "file"))
	return nil
}

// protectedFiles returns a check that refuses to delete the manifest, its
// lockfile or the lock's owner file, compared as files (so links and case
// folding do not hide them).
func protectedFiles(manifestPath, lockPath string) func(file string) error {
	var infos []fs.FileInfo
	for _, p := range []string{manifestPath, lockPath, lockPath + ".owner"} {
		if fi, err := os.Stat(p); err == nil {
			infos = append(infos, fi)
		}
	}
	return func(file string) error {
		fi, err := os.Lstat(file)
		if err != nil {
			return nil
		}
		for _, p := range infos {
			if os.SameFile(fi, p) {
				return fmt.Errorf("%s is the manifest or its lockfile, not an output", file)
			}
		}
		return nil
	}
}

// cleanFile is an output to delete: as the user knows it, and resolved.
type cleanFile struct{ shown, real string }

// realDir resolves the symlinks of the output folder; a folder that does
// not exist is taken as it is named.
func realDir(dir string) (string, error) {
	real, err := filepath.EvalSymlinks(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return filepath.Clean(dir), nil
	}
	if err != nil {
		return "", fmt.Errorf("output folder: %w", err)
	}
	return real, nil
}

// deletable returns the file to delete for a recorded output, its folder's
// symlinks resolved, or "" when it is gone already. An output that resolves
// outside the output folder is an error: clean never deletes it.
func deletable(outDir, path string) (string, error) {
	parent, err := filepath.EvalSymlinks(filepath.Dir(path))
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	file := filepath.Join(parent, filepath.Base(path))
	if rel, err := filepath.Rel(outDir, file); err != nil || rel == "." || !filepath.IsLocal(rel) {
		return "", fmt.Errorf("%s is outside the output folder %s", path, outDir)
	}
	if _, err := os.Lstat(file); errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	return file, nil
}

// removeEmptyDirs removes dir and its parents while they are empty, up to
// but not including the output folder.
func removeEmptyDirs(outDir, dir string) {
	for dir != outDir && len(dir) > len(outDir) {
		if os.Remove(dir) != nil {
			return
		}
		dir = filepath.Dir(dir)
	}
}
