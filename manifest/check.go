package manifest

import "strings"

// ParamChecker checks the model and request fields of a job. The model
// registry implements it.
type ParamChecker interface {
	CheckJob(model, prompt string, params map[string]any) []Problem
}

// OutputCounter is an optional part of a ParamChecker: how many outputs a
// job of a model makes, when the registry knows, so that Check can refuse a
// reference to an output that will not exist.
type OutputCounter interface {
	Outputs(model string, params map[string]any) (n int, known bool)
}

// Problem is one rejected field. Field is "" (or "model") for the model
// itself, "prompt", a param name, or "name[i]" for item i of a list param
// (placed at that item when its position is known). Messages about the prompt or a param are
// shown after the field name ("prompt: is empty"); messages about the model
// are shown as they are.
type Problem struct {
	Field, Message string
}

// Check runs c on every job and returns Errors placed at the offending field,
// or nil. With settings.allow_unknown_models, a job whose model is rejected is
// not checked further.
func (m *Manifest) Check(c ParamChecker) error {
	var col collector
	for _, j := range m.Jobs {
		problems := c.CheckJob(j.Model, j.Prompt, j.Params)
		if m.Settings.AllowUnknownModels && hasModelProblem(problems) {
			continue
		}
		for _, pr := range problems {
			pos, msg := j.Pos, pr.Message
			switch pr.Field {
			case "", "model":
				pos = j.ModelPos
			case "prompt":
				pos, msg = j.PromptPos, "prompt: "+msg
			default:
				if at, ok := j.ParamPos[pr.Field]; ok {
					pos = at
				} else if name, _, isItem := strings.Cut(pr.Field, "["); isItem {
					pos = j.ParamPos[name]
				}
				msg = "params." + pr.Field + ": " + msg
			}
			if pos.Line == 0 {
				pos = j.Pos
			}
			col.add(pos, j.name, "%s", msg)
		}
	}
	if oc, ok := c.(OutputCounter); ok {
		m.checkIndexes(oc, &col)
	}
	return col.err()
}

// checkIndexes refuses ${jobs.ID.result[N]} where job ID makes N or fewer
// outputs.
func (m *Manifest) checkIndexes(oc OutputCounter, col *collector) {
	for _, j := range m.Jobs {
		for _, r := range j.refs {
			up := m.byID[r.id]
			if up == nil || r.index < 0 {
				continue
			}
			if n, known := oc.Outputs(up.Model, up.Params); known && r.index >= n {
				col.add(r.pos, j.name, "%s: job %q makes %d output(s), so the last is result[%d]", r.text, up.ID, n, n-1)
			}
		}
	}
}

func hasModelProblem(problems []Problem) bool {
	for _, pr := range problems {
		if pr.Field == "" || pr.Field == "model" {
			return true
		}
	}
	return false
}
