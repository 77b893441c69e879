package manifest

import "strings"

// ParamChecker checks the model and request fields of a job. The model
// registry implements it.
type ParamChecker interface {
	CheckJob(model, prompt string, params map[string]any) []Problem
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
	return col.err()
}

func hasModelProblem(problems []Problem) bool {
	for _, pr := range problems {
		if pr.Field == "" || pr.Field == "model" {
			return true
		}
	}
	return false
}
