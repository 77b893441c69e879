package manifest

import (
	"path"
	"strconv"
	"strings"
)

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
		m.checkManyOutputs(oc, &col)
		m.checkSharedFiles(oc, &col)
	}
	return col.err()
}

// checkManyOutputs refuses an output template that gives one path for every
// output of a job that makes several (n: 2 without {n}): each download would
// overwrite the one before, after all of them were paid for, and the
// lockfile would record one path with two checksums, so the job would look
// drifted forever.
func (m *Manifest) checkManyOutputs(oc OutputCounter, col *collector) {
	for _, j := range m.Jobs {
		n, known := oc.Outputs(j.Model, j.Params)
		if !known || n < 2 {
			continue
		}
		first, err0 := j.renderOutput("0", "png")
		second, err1 := j.renderOutput("1", "png")
		if err0 != nil || err1 != nil || path.Clean(first) != path.Clean(second) {
			continue
		}
		col.add(j.OutputPos, j.name, "output: %q gives one path for the %d outputs of job %q; add {n} to the template", j.Output, n, j.ID)
	}
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

// mediaExts are the extensions a result file may get for {ext}: a template
// that writes one of them literally can meet a template that writes {ext}.
var mediaExts = map[string]bool{"png": true, "jpg": true, "jpeg": true, "webp": true, "gif": true, "mp4": true, "webm": true, "mov": true}

// checkSharedFiles refuses two jobs whose templates differ but name one file
// for some output, such as "a/0.png" beside the default "{job}/{n}.{ext}" of
// job a, or "shots/1.{ext}" beside "shots/{n}.{ext}" of a job with n: 2. The
// parse-time check compares templates as written and cannot see these; left
// alone, each job would overwrite the other's file and both would look
// drifted, to be downloaded again, and regenerated (paid) once the URLs
// expire, on every apply.
func (m *Manifest) checkSharedFiles(oc OutputCounter, col *collector) {
	const anyExt = "\x00"
	type writer struct {
		job *Job
		ext string // the literal extension, or anyExt for {ext}
	}
	owners := map[string]writer{}
	for _, j := range m.Jobs {
		n, known := oc.Outputs(j.Model, j.Params)
		if !known || n < 1 {
			n = 1
		}
		for i := range n {
			p, err := j.renderOutput(strconv.Itoa(i), anyExt)
			if err != nil {
				break
			}
			// Paths that differ only in case are one file on macOS and Windows.
			key, ext := strings.ToLower(path.Clean(p)), ""
			if dot := strings.LastIndexByte(key, '.'); dot > strings.LastIndexByte(key, '/') {
				if e := key[dot+1:]; e == anyExt || mediaExts[e] {
					key, ext = key[:dot], e
				}
			}
			w, seen := owners[key]
			if !seen {
				owners[key] = writer{j, ext}
				continue
			}
			if w.job == j || (w.ext != ext && w.ext != anyExt && ext != anyExt) {
				continue
			}
			col.add(j.OutputPos, j.name, "output: job %q writes %s, which job %q writes too; add {job} or {matrix.KEY} to the template",
				j.ID, strings.ReplaceAll(path.Clean(p), anyExt, "{ext}"), w.job.ID)
			break
		}
	}
}
