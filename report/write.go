package report

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Kinds are the report formats that WriteFile knows, sorted.
var Kinds = []string{"html", "json", "junit", "markdown"}

// Render writes the report of the given kind to w. dir is the folder the
// report will live in: the html report links to outputs relative to it.
func Render(w io.Writer, kind string, r *Run, dir string) error {
	switch kind {
	case "json":
		return WriteJSON(w, r)
	case "junit":
		return WriteJUnit(w, r)
	case "markdown":
		return WriteMarkdown(w, r)
	case "html":
		return WriteHTML(w, r, dir)
	}
	return fmt.Errorf("unknown report kind %q (want %s)", kind, strings.Join(Kinds, ", "))
}

// ValidKind reports whether kind is one of Kinds.
func ValidKind(kind string) bool { return slices.Contains(Kinds, kind) }

// WriteFile renders the report of the given kind to path atomically: into
// a temp file beside it, then renamed over it, so a reader never sees half
// a report. Missing folders are created.
func WriteFile(kind, path string, r *Run) (err error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return fmt.Errorf("%s report: %w", kind, err)
	}
	dir := filepath.Dir(abs)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("%s report: %w", kind, err)
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(abs)+"-*.tmp")
	if err != nil {
		return fmt.Errorf("%s report: %w", kind, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
			err = fmt.Errorf("%s report %s: %w", kind, path, err)
		}
	}()
	if err := Render(tmp, kind, r, dir); err != nil {
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), abs)
}

// WriteJSON writes the run as indented JSON: the documented, versioned
// format of Run.
func WriteJSON(w io.Writer, r *Run) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}
