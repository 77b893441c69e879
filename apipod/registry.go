package apipod

import (
	"sort"
	"strings"

	"github.com/apipod/apipod-batch/internal/editdist"
)

// Kind is what a model produces; it picks the create and status routes.
type Kind string

// The two kinds of model.
const (
	KindImage Kind = "image"
	KindVideo Kind = "video"
)

// CreatePath is the route that creates a task of this kind.
func (k Kind) CreatePath() string { return "/v1/" + k.plural() + "/generations" }

// StatusPath is the route that reports on a task of this kind.
func (k Kind) StatusPath(taskID string) string { return "/v1/" + k.plural() + "/status/" + taskID }

func (k Kind) plural() string {
	if k == KindVideo {
		return "videos"
	}
	return "images"
}

// ParamType is the JSON type of a request field.
type ParamType string

// The request field types the models use.
const (
	TypeString  ParamType = "string"
	TypeInteger ParamType = "integer"
	TypeBoolean ParamType = "boolean"
	TypeURLs    ParamType = "array of URLs"
)

// Param is one request field of a model, as its OpenAPI schema states it.
type Param struct {
	Name     string
	Type     ParamType
	Enum     []string // allowed values, as text (integers too)
	Default  any      // nil when the schema gives none
	Min, Max *int     // inclusive bounds of integers
	MaxItems int      // limit on URL lists, 0 for none
	Doc      string
}

// Model is one public APIPod model and the rules of its create request.
type Model struct {
	ID        string
	Kind      Kind
	Summary   string
	PromptMin int
	PromptMax int
	Params    []Param
	Required  []string // fields besides model and prompt
	// NeedsReference means at least one of image_urls, video_urls or audio_urls
	// (the reference-to-video routes).
	NeedsReference bool
	// AssetIDs means URL fields also accept assetId:// references (Seedance).
	AssetIDs bool
}

// Param returns the named field of the model, or nil.
func (m *Model) Param(name string) *Param {
	for i := range m.Params {
		if m.Params[i].Name == name {
			return &m.Params[i]
		}
	}
	return nil
}

func intp(v int) *int { return &v }

func enum(vals ...string) []string { return vals }

var (
	durations4to15 = enum("4", "5", "6", "7", "8", "9", "10", "11", "12", "13", "14", "15")
	seedreamRatios = enum("1:1", "2:3", "3:2", "3:4", "4:3", "16:9", "9:16", "21:9")
	wideRatios     = enum("1:1", "1:4", "1:8", "2:3", "3:2", "3:4", "4:1", "4:3", "4:5", "5:4", "8:1", "9:16", "16:9", "21:9")
	seedanceRatios = enum("adaptive", "1:1", "3:4", "4:3", "9:16", "16:9", "21:9")
)

func imageURLs(max int) Param {
	return Param{Name: "image_urls", Type: TypeURLs, MaxItems: max, Doc: "input images"}
}

func callbackURL() Param {
	return Param{Name: "callback_url", Type: TypeString, Default: "", Doc: "webhook for the terminal state"}
}

func wanParams(sizes []string, sizeDefault string) []Param {
	return []Param{
		{Name: "size", Type: TypeString, Enum: sizes, Default: sizeDefault, Doc: "output resolution"},
		{Name: "watermark", Type: TypeBoolean, Default: false},
		{Name: "n", Type: TypeInteger, Enum: enum("1", "2", "3", "4"), Default: 1, Min: intp(1), Max: intp(4), Doc: "number of images"},
	}
}

func seedanceParams(resolutions []string, ratioDefault string, media ...Param) []Param {
	ps := append([]Param{}, media...)
	return append(ps,
		Param{Name: "duration", Type: TypeInteger, Enum: durations4to15, Default: 5, Min: intp(4), Max: intp(15), Doc: "seconds"},
		Param{Name: "resolution", Type: TypeString, Enum: resolutions, Default: "720p"},
		Param{Name: "aspect_ratio", Type: TypeString, Enum: seedanceRatios, Default: ratioDefault},
		Param{Name: "watermark", Type: TypeBoolean, Default: false},
		Param{Name: "web_search", Type: TypeBoolean, Default: false},
		Param{Name: "generate_audio", Type: TypeBoolean, Default: true},
		Param{Name: "return_last_frame", Type: TypeBoolean, Default: false},
	)
}

var (
	seedanceFull = enum("480p", "720p", "1080p", "4k")
	seedanceFast = enum("480p", "720p")
	references   = []Param{
		imageURLs(9),
		{Name: "video_urls", Type: TypeURLs, MaxItems: 3, Doc: "reference videos"},
		{Name: "audio_urls", Type: TypeURLs, MaxItems: 3, Doc: "reference audio, only with an image or video"},
	}
)

// models is the registry: one entry per public model id, transcribed from the
// OpenAPI request schemas and the model pages of the APIPod reference.
var models = []*Model{
	{ID: "nano-banana-2", Kind: KindImage, Summary: "Gemini image generation and editing, fast", PromptMax: 3993,
		Params: []Param{
			imageURLs(0),
			{Name: "aspect_ratio", Type: TypeString, Enum: wideRatios, Default: "1:1"},
			{Name: "quality", Type: TypeString, Enum: enum("512px", "1K", "2K", "4K"), Default: "1K", Doc: "output resolution"},
		}},
	{ID: "nano-banana-pro", Kind: KindImage, Summary: "Gemini image generation and editing, highest quality", PromptMax: 4000,
		Params: []Param{
			imageURLs(0),
			{Name: "quality", Type: TypeString, Enum: enum("1K", "2K", "4K"), Default: "1K", Doc: "output resolution"},
			{Name: "aspect_ratio", Type: TypeString, Enum: enum("1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9"), Default: "1:1"},
			callbackURL(),
		}},
	{ID: "seedream-v4.5", Kind: KindImage, Summary: "Seedream 4.5 text to image", PromptMax: 4000,
		Params: []Param{
			{Name: "quality", Type: TypeString, Enum: enum("2K", "4K"), Default: "2K", Doc: "output resolution"},
			{Name: "aspect_ratio", Type: TypeString, Enum: seedreamRatios, Default: "1:1"},
			callbackURL(),
		}},
	{ID: "seedream-v4.5-edit", Kind: KindImage, Summary: "Seedream 4.5 image editing", PromptMax: 4000, Required: []string{"image_urls"},
		Params: []Param{
			imageURLs(0),
			{Name: "quality", Type: TypeString, Enum: enum("2K", "4K"), Default: "2K", Doc: "output resolution"},
			{Name: "aspect_ratio", Type: TypeString, Enum: seedreamRatios, Default: "1:1"},
			callbackURL(),
		}},
	{ID: "seedream-5.0-lite", Kind: KindImage, Summary: "Seedream 5.0 Lite text to image", PromptMax: 2000,
		Params: []Param{
			{Name: "quality", Type: TypeString, Enum: enum("2K", "3K"), Default: "2K", Doc: "output resolution"},
			{Name: "aspect_ratio", Type: TypeString, Enum: seedreamRatios, Default: "1:1"},
		}},
	{ID: "seedream-5.0-lite-edit", Kind: KindImage, Summary: "Seedream 5.0 Lite image editing", PromptMax: 2000, Required: []string{"image_urls"},
		Params: []Param{
			imageURLs(0),
			{Name: "quality", Type: TypeString, Enum: enum("2K", "3K"), Default: "2K", Doc: "output resolution"},
			{Name: "aspect_ratio", Type: TypeString, Enum: seedreamRatios, Default: "1:1"},
		}},
	{ID: "wan2.7-image", Kind: KindImage, Summary: "Wan 2.7 text to image", PromptMax: 5000,
		Params: append(wanParams(enum("1K", "2K"), "1K"),
			Param{Name: "aspect_ratio", Type: TypeString, Enum: wideRatios, Default: "16:9"},
			Param{Name: "thinking_mode", Type: TypeBoolean, Default: true})},
	{ID: "wan2.7-image-edit", Kind: KindImage, Summary: "Wan 2.7 image editing", PromptMin: 1, PromptMax: 5000, Required: []string{"image_urls"},
		Params: append([]Param{imageURLs(0)}, wanParams(enum("1K", "2K"), "1K")...)},
	{ID: "wan2.7-image-pro", Kind: KindImage, Summary: "Wan 2.7 Pro text to image", PromptMax: 5000,
		Params: append(wanParams(enum("1K", "2K", "4K"), "2K"),
			Param{Name: "aspect_ratio", Type: TypeString, Enum: wideRatios, Default: "16:9"},
			Param{Name: "thinking_mode", Type: TypeBoolean, Default: true})},
	{ID: "wan2.7-image-pro-edit", Kind: KindImage, Summary: "Wan 2.7 Pro image editing", PromptMax: 5000, Required: []string{"image_urls"},
		Params: append([]Param{imageURLs(0)}, wanParams(enum("1K", "2K"), "2K")...)},
	{ID: "veo3-1-fast", Kind: KindVideo, Summary: "Google Veo 3.1 Fast text or image to video", PromptMax: 4000,
		Params: []Param{
			imageURLs(0),
			{Name: "aspect_ratio", Type: TypeString, Enum: enum("16:9", "9:16"), Default: "16:9"},
			callbackURL(),
		}},
	{ID: "seedance-2.0-t2v", Kind: KindVideo, Summary: "Seedance 2.0 text to video", PromptMax: 1000, AssetIDs: true,
		Params: seedanceParams(seedanceFull, "adaptive")},
	{ID: "seedance-2.0-i2v", Kind: KindVideo, Summary: "Seedance 2.0 image to video", PromptMax: 1000, AssetIDs: true, Required: []string{"image_urls"},
		Params: seedanceParams(seedanceFull, "16:9", imageURLs(0))},
	{ID: "seedance-2.0-r2v", Kind: KindVideo, Summary: "Seedance 2.0 reference to video", PromptMax: 1000, AssetIDs: true, NeedsReference: true,
		Params: seedanceParams(seedanceFull, "adaptive", references...)},
	{ID: "seedance-2.0-fast-t2v", Kind: KindVideo, Summary: "Seedance 2.0 Fast text to video", PromptMax: 1000, AssetIDs: true,
		Params: seedanceParams(seedanceFast, "adaptive")},
	{ID: "seedance-2.0-fast-i2v", Kind: KindVideo, Summary: "Seedance 2.0 Fast image to video", PromptMax: 1000, AssetIDs: true, Required: []string{"image_urls"},
		Params: seedanceParams(seedanceFast, "16:9", imageURLs(0))},
	{ID: "seedance-2.0-fast-r2v", Kind: KindVideo, Summary: "Seedance 2.0 Fast reference to video", PromptMax: 1000, AssetIDs: true, NeedsReference: true,
		Params: seedanceParams(seedanceFast, "adaptive", references...)},
}

// aliases maps spellings users write to public ids: the version with dots or
// dashes, with or without a "v", and the route names of the reference pages.
// Ids that differ from a public id only in case resolve too (see ResolveAlias).
var aliases = map[string]string{
	"nano-banana2":                         "nano-banana-2",
	"nanobanana-2":                         "nano-banana-2",
	"nanobanana-pro":                       "nano-banana-pro",
	"seedream-4.5":                         "seedream-v4.5",
	"seedream-4-5":                         "seedream-v4.5",
	"seedream4.5":                          "seedream-v4.5",
	"seedream-4.5-edit":                    "seedream-v4.5-edit",
	"seedream-4-5-edit":                    "seedream-v4.5-edit",
	"seedream4.5-edit":                     "seedream-v4.5-edit",
	"seedream-v5.0-lite":                   "seedream-5.0-lite",
	"seedream-5-0-lite":                    "seedream-5.0-lite",
	"seedream-v5.0-lite-edit":              "seedream-5.0-lite-edit",
	"seedream-5-0-lite-edit":               "seedream-5.0-lite-edit",
	"wan-2.7-image":                        "wan2.7-image",
	"wan2-7-image":                         "wan2.7-image",
	"wan-2.7-image-edit":                   "wan2.7-image-edit",
	"wan2-7-image-edit":                    "wan2.7-image-edit",
	"wan-2.7-image-pro":                    "wan2.7-image-pro",
	"wan2-7-image-pro":                     "wan2.7-image-pro",
	"wan-2.7-image-pro-edit":               "wan2.7-image-pro-edit",
	"wan2-7-image-pro-edit":                "wan2.7-image-pro-edit",
	"veo-3.1-fast":                         "veo3-1-fast",
	"veo3.1-fast":                          "veo3-1-fast",
	"veo-3-1-fast":                         "veo3-1-fast",
	"seedance-2-0-t2v":                     "seedance-2.0-t2v",
	"seedance-2.0-text-to-video":           "seedance-2.0-t2v",
	"seedance-2-0-i2v":                     "seedance-2.0-i2v",
	"seedance-2.0-image-to-video":          "seedance-2.0-i2v",
	"seedance-2-0-r2v":                     "seedance-2.0-r2v",
	"seedance-2.0-reference-to-video":      "seedance-2.0-r2v",
	"seedance-2-0-fast-t2v":                "seedance-2.0-fast-t2v",
	"seedance-2.0-fast-text-to-video":      "seedance-2.0-fast-t2v",
	"seedance-2-0-fast-i2v":                "seedance-2.0-fast-i2v",
	"seedance-2.0-fast-image-to-video":     "seedance-2.0-fast-i2v",
	"seedance-2-0-fast-r2v":                "seedance-2.0-fast-r2v",
	"seedance-2.0-fast-reference-to-video": "seedance-2.0-fast-r2v",
}

var byID = func() map[string]*Model {
	m := make(map[string]*Model, len(models))
	for _, mod := range models {
		m[mod.ID] = mod
	}
	return m
}()

// LookupModel returns the model with a public id, or nil and false.
func LookupModel(id string) (*Model, bool) {
	m, ok := byID[id]
	return m, ok
}

// ResolveAlias returns the public id that id stands for: the target of a known
// alias, or the public id that id differs from only in case. It returns ""
// when id is a public id itself or unknown.
func ResolveAlias(id string) string {
	if _, ok := byID[id]; ok {
		return ""
	}
	lower := strings.ToLower(id)
	if to, ok := aliases[lower]; ok {
		return to
	}
	if _, ok := byID[lower]; ok {
		return lower
	}
	return ""
}

// Aliases returns the aliases of a public id, sorted.
func Aliases(id string) []string {
	var out []string
	for a, to := range aliases {
		if to == id {
			out = append(out, a)
		}
	}
	sort.Strings(out)
	return out
}

// Models returns every model, sorted by id.
func Models() []*Model {
	out := append([]*Model(nil), models...)
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// SuggestModels returns the known ids closest to a mistyped one, best first.
func SuggestModels(id string) []string {
	type cand struct {
		id string
		d  int
	}
	var cs []cand
	for _, m := range models {
		d := editdist.Distance(strings.ToLower(id), m.ID)
		if d <= len(m.ID)/3+1 || strings.Contains(m.ID, strings.ToLower(id)) && len(id) >= 3 {
			cs = append(cs, cand{m.ID, d})
		}
	}
	sort.Slice(cs, func(i, j int) bool {
		if cs[i].d != cs[j].d {
			return cs[i].d < cs[j].d
		}
		return cs[i].id < cs[j].id
	})
	var out []string
	for i := 0; i < len(cs) && i < 3; i++ {
		out = append(out, cs[i].id)
	}
	return out
}

// KindFor returns the kind of a model: the registry's for a known id, else a
// guess from the id (video model ids name a video family or route), so that
// settings.allow_unknown_models can reach models newer than this release.
func KindFor(id string) Kind {
	if m, ok := LookupModel(id); ok {
		return m.Kind
	}
	lower := strings.ToLower(id)
	for _, hint := range []string{"video", "veo", "seedance", "kling", "sora", "t2v", "i2v", "r2v", "hailuo", "runway"} {
		if strings.Contains(lower, hint) {
			return KindVideo
		}
	}
	return KindImage
}

// Outputs returns how many results a task of the model makes with params:
// the `n` parameter where the model has one, else one. It is false for an
// unknown model.
func Outputs(model string, params map[string]any) (int, bool) {
	m, ok := LookupModel(model)
	if !ok {
		return 0, false
	}
	p := m.Param("n")
	if p == nil {
		return 1, true
	}
	if v, ok := params["n"]; ok {
		if n, ok := asInt(v); ok && n > 0 {
			return n, true
		}
		return 0, false
	}
	if n, ok := asInt(p.Default); ok {
		return n, true
	}
	return 1, true
}
