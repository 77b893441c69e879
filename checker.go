package main

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"strings"

	"github.com/apipod/apipod-batch/apipod"
	"github.com/apipod/apipod-batch/manifest"
	"github.com/apipod/apipod-batch/runner"
)

// registryChecker lets the manifest check jobs against the model registry
// without either package knowing the other.
type registryChecker struct{}

var (
	_ manifest.ParamChecker  = registryChecker{}
	_ manifest.OutputCounter = registryChecker{}
)

// Outputs says how many results a job of a model makes.
func (registryChecker) Outputs(model string, params map[string]any) (int, bool) {
	return apipod.Outputs(model, params)
}

// CheckJob checks one job's request against the registry. A problem with one
// item of a URL list is placed at that item; an unknown model without a close
// match gets a hint on where the known ids are listed.
func (registryChecker) CheckJob(model, prompt string, params map[string]any) []manifest.Problem {
	errs := apipod.CheckRequest(model, prompt, params)
	out := make([]manifest.Problem, len(errs))
	for i, e := range errs {
		field, msg := e.Field, e.Message
		if idx, rest, ok := e.Item(); ok {
			field, msg = fmt.Sprintf("%s[%d]", e.Field, idx), rest
		}
		if field == "model" && !strings.Contains(msg, "did you mean") {
			msg += `; "apipod-batch models" lists the known ids, and settings.allow_unknown_models: true lets a newer one through`
		}
		out[i] = manifest.Problem{Field: field, Message: msg}
	}
	return out
}

// missingManifestError is a manifest path with no file behind it.
type missingManifestError struct {
	path string
	err  error
}

func (e *missingManifestError) Error() string { return e.err.Error() }
func (e *missingManifestError) Unwrap() error { return e.err }

// Hint says where manifests come from.
func (e *missingManifestError) Hint() string {
	if e.path == "jobs.yaml" {
		return "no jobs.yaml here: give the manifest's path, or write a starter one with apipod-batch init"
	}
	return "give the path of an existing manifest, or write a starter one with apipod-batch init"
}

// loadManifest reads, expands and checks a manifest: the checks every
// command runs before it touches the lockfile or the network. A model alias
// becomes the public id it stands for, before anything hashes the job, with
// a note on notes; so does a model let through by allow_unknown_models.
func loadManifest(path string, g *globalOptions, notes io.Writer) (*manifest.Manifest, error) {
	vars, err := g.varMap()
	if err != nil {
		return nil, err
	}
	m, err := manifest.Load(path, vars)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, &missingManifestError{path: path, err: err}
	}
	if err != nil {
		return nil, err
	}
	for _, n := range resolveModels(m) {
		fmt.Fprintln(notes, n)
	}
	if err := m.Check(registryChecker{}); err != nil {
		return nil, err
	}
	// The one check that looks at the disk: a folder on an output's way
	// that is a symlink out of output_dir.
	if err := runner.CheckOutputFolders(m); err != nil {
		return nil, err
	}
	return m, nil
}

// resolveModels replaces every model alias in m by its public id and returns
// the notes that say so, one per place in the file and model, in file order;
// a note about a model that several jobs inherit names none of them.
// With allow_unknown_models it also notes each model it does not know.
func resolveModels(m *manifest.Manifest) []string {
	seen := make(map[string]*manifest.Error)
	var notes []*manifest.Error
	note := func(j *manifest.Job, format string, args ...any) {
		key := j.ModelPos.String() + "\x00" + j.Model
		switch e := seen[key]; {
		case e == nil:
			seen[key] = &manifest.Error{Pos: j.ModelPos, Job: writtenID(j), Msg: "note: " + fmt.Sprintf(format, args...)}
			notes = append(notes, seen[key])
		case e.Job != writtenID(j):
			e.Job = "" // a model in defaults: the note is about no one job
		}
	}
	for _, j := range m.Jobs {
		if id := apipod.ResolveAlias(j.Model); id != "" {
			note(j, "model %q is called %q; using that", j.Model, id)
			j.Model = id
		} else if _, known := apipod.LookupModel(j.Model); !known && m.Settings.AllowUnknownModels {
			note(j, "model %q is not in this release's registry; its request is not checked (settings.allow_unknown_models)", j.Model)
		}
	}
	slices.SortStableFunc(notes, func(a, b *manifest.Error) int {
		return cmp.Or(cmp.Compare(a.Pos.Line, b.Pos.Line), cmp.Compare(a.Pos.Col, b.Pos.Col))
	})
	out := make([]string, len(notes))
	for i, n := range notes {
		out[i] = n.Error()
	}
	return out
}

// writtenID is the job's id as written in the manifest: a matrix job's id
// without the values that expansion appended (job ids hold no dots).
func writtenID(j *manifest.Job) string {
	id, _, _ := strings.Cut(j.ID, ".")
	return id
}
