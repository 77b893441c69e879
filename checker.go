package main

import (
	"github.com/apipod/apipod-batch/apipod"
	"github.com/apipod/apipod-batch/manifest"
)

// registryChecker lets the manifest check jobs against the model registry
// without either package knowing the other.
type registryChecker struct{}

var _ manifest.ParamChecker = registryChecker{}

func (registryChecker) CheckJob(model, prompt string, params map[string]any) []manifest.Problem {
	errs := apipod.CheckRequest(model, prompt, params)
	out := make([]manifest.Problem, len(errs))
	for i, e := range errs {
		out[i] = manifest.Problem{Field: e.Field, Message: e.Message}
	}
	return out
}

// loadManifest reads, expands and checks a manifest: the checks every
// command runs before it touches the lockfile or the network.
func loadManifest(path string, g *globalOptions) (*manifest.Manifest, error) {
	vars, err := g.varMap()
	if err != nil {
		return nil, err
	}
	m, err := manifest.Load(path, vars)
	if err != nil {
		return nil, err
	}
	if err := m.Check(registryChecker{}); err != nil {
		return nil, err
	}
	return m, nil
}
