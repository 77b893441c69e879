package manifest

import (
	"path/filepath"
	"time"
)

// Manifest is a parsed, expanded and interpolated manifest.
type Manifest struct {
	Path     string // as given to Load or Parse
	Dir      string // folder of the manifest; relative paths resolve against it
	Version  int
	Settings Settings
	Vars     map[string]string // manifest vars with the caller's overrides applied
	Jobs     []*Job            // sorted by ID

	byID map[string]*Job
}

// Job returns the job with the given id, or nil if there is none.
func (m *Manifest) Job(id string) *Job {
	return m.byID[id]
}

// OutputDir returns the absolute, clean folder that outputs are written to.
func (m *Manifest) OutputDir() string {
	if filepath.IsAbs(m.Settings.OutputDir) {
		return filepath.Clean(m.Settings.OutputDir)
	}
	return filepath.Join(m.Dir, m.Settings.OutputDir)
}

// Settings are the run settings of a manifest, with defaults filled in.
type Settings struct {
	Parallelism        int           // tasks in flight at once; default 4
	ImageParallelism   int           // image tasks in flight at once; 0 when not limited apart
	VideoParallelism   int           // video tasks in flight at once; 0 when not limited apart
	RateLimit          float64       // API requests per second; 0 for no limit
	OutputDir          string        // default "out", relative to the manifest's folder
	Timeout            time.Duration // per-job deadline; 0 means the per-kind default
	Retries            int           // new attempts after a failed task; default 2
	Poll               Poll
	AllowUnknownModels bool  // settings.allow_unknown_models
	MaxDownload        int64 // bytes; a result file larger than this fails its job; 0 means the client's default (2 GiB)
}

// Poll is the status polling backoff: it starts at Initial and grows to Max.
type Poll struct {
	Initial, Max time.Duration // defaults 2s and 30s; Initial <= Max
}

// Job is one generation job, after matrix expansion, defaults merge and
// interpolation.
//
// Strings that hold a job reference (${jobs.ID.result[N]} or, as a whole list
// element, ${jobs.ID.result}) keep it verbatim, and also keep their $${
// escapes; Resolve replaces the references with upstream outputs once those
// exist. All other strings are final.
type Job struct {
	ID     string
	Model  string
	Prompt string
	Params map[string]any // values: string, int, float64, bool, []any, map[string]any
	Output string         // output template; default "{job}/{n}.{ext}"
	Tags   []string

	Pos       Pos            // position of the job's key
	ModelPos  Pos            // position of the model value (maybe in defaults)
	PromptPos Pos            // position of the prompt value (maybe in defaults)
	OutputPos Pos            // position of the output value; the job's Pos when defaulted
	ParamPos  map[string]Pos // position of each param's value, by param name; list items also as "name[i]"

	Matrix map[string]string // the matrix values of an expanded job, nil otherwise
	Needs  []string          // ids of upstream jobs referenced with ${jobs.ID...}, sorted

	name       string         // the id as written in the manifest, before matrix expansion
	refs       []ref          // every job reference, for the checks across jobs
	promptRefs bool           // whether Prompt holds a job reference
	tmpl       map[string]any // Params with refString for strings holding a job reference; nil if none do
}
