package apipod

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// schemaRules transcribes, per model, what validate_test.go's openAPI table
// leaves out: the default and the integer bounds of each field as the OpenAPI
// request schema states them (../shared/apipod-api/openapi/*.yaml), and the
// limits the model pages state (../shared/apipod-api/models/*.md): most items
// per URL list, at least one reference, assetId:// support.
type schemaRules struct {
	defaults  map[string]any    // field -> schema default
	bounds    map[string][2]int // field -> schema minimum, maximum
	maxItems  map[string]int    // URL list -> most items (model pages)
	needsRef  bool              // "Provide at least one reference asset"
	assetIDs  bool              // "also accept ... assetId://{assetId}"
	createURL string
}

var (
	seedreamDefaults = map[string]any{"quality": "2K", "aspect_ratio": "1:1"}
	seedanceBounds   = map[string][2]int{"duration": {4, 15}}
	wanBounds        = map[string][2]int{"n": {1, 4}}
	r2vItems         = map[string]int{"image_urls": 9, "video_urls": 3, "audio_urls": 3}
)

func with(m map[string]any, kv ...any) map[string]any {
	out := make(map[string]any, len(m)+len(kv)/2)
	for k, v := range m {
		out[k] = v
	}
	for i := 0; i < len(kv); i += 2 {
		out[kv[i].(string)] = kv[i+1]
	}
	return out
}

func seedanceDefaults(ratio string) map[string]any {
	return map[string]any{"duration": 5, "resolution": "720p", "aspect_ratio": ratio, "watermark": false,
		"web_search": false, "generate_audio": true, "return_last_frame": false}
}

const (
	imagesURL = "/v1/images/generations"
	videosURL = "/v1/videos/generations"
)

var rulesOf = map[string]schemaRules{
	"nano-banana-2":          {defaults: map[string]any{"aspect_ratio": "1:1", "quality": "1K"}, createURL: imagesURL},
	"nano-banana-pro":        {defaults: map[string]any{"quality": "1K", "aspect_ratio": "1:1", "callback_url": ""}, createURL: imagesURL},
	"seedream-v4.5":          {defaults: with(seedreamDefaults, "callback_url", ""), createURL: imagesURL},
	"seedream-v4.5-edit":     {defaults: with(seedreamDefaults, "callback_url", ""), createURL: imagesURL},
	"seedream-5.0-lite":      {defaults: seedreamDefaults, createURL: imagesURL},
	"seedream-5.0-lite-edit": {defaults: seedreamDefaults, createURL: imagesURL},
	"wan2.7-image": {defaults: map[string]any{"size": "1K", "aspect_ratio": "16:9", "thinking_mode": true, "watermark": false, "n": 1},
		bounds: wanBounds, createURL: imagesURL},
	"wan2.7-image-edit": {defaults: map[string]any{"size": "1K", "watermark": false, "n": 1}, bounds: wanBounds, createURL: imagesURL},
	// The Pro schemas give n an enum but no minimum or maximum.
	"wan2.7-image-pro":      {defaults: map[string]any{"size": "2K", "aspect_ratio": "16:9", "thinking_mode": true, "watermark": false, "n": 1}, createURL: imagesURL},
	"wan2.7-image-pro-edit": {defaults: map[string]any{"size": "2K", "watermark": false, "n": 1}, createURL: imagesURL},
	"veo3-1-fast":           {defaults: map[string]any{"aspect_ratio": "16:9", "callback_url": ""}, createURL: videosURL},
	"seedance-2.0-t2v":      {defaults: seedanceDefaults("adaptive"), bounds: seedanceBounds, assetIDs: true, createURL: videosURL},
	"seedance-2.0-fast-t2v": {defaults: seedanceDefaults("adaptive"), bounds: seedanceBounds, assetIDs: true, createURL: videosURL},
	"seedance-2.0-i2v":      {defaults: seedanceDefaults("16:9"), bounds: seedanceBounds, assetIDs: true, createURL: videosURL},
	"seedance-2.0-fast-i2v": {defaults: seedanceDefaults("16:9"), bounds: seedanceBounds, assetIDs: true, createURL: videosURL},
	"seedance-2.0-r2v": {defaults: seedanceDefaults("adaptive"), bounds: seedanceBounds, maxItems: r2vItems,
		needsRef: true, assetIDs: true, createURL: videosURL},
	"seedance-2.0-fast-r2v": {defaults: seedanceDefaults("adaptive"), bounds: seedanceBounds, maxItems: r2vItems,
		needsRef: true, assetIDs: true, createURL: videosURL},
}

// fieldRule is one field of a model's OpenAPI schema, from openAPI and rulesOf.
type fieldRule struct {
	typ    string   // string, integer, boolean or array
	enum   []string // nil for none
	def    any      // nil for none
	bounds *[2]int  // nil for none
	max    int      // most items of a list, 0 for no limit
}

// fieldRules joins the two transcriptions of one model's schema.
func fieldRules(t *testing.T, id string) map[string]fieldRule {
	t.Helper()
	out := make(map[string]fieldRule)
	r := rulesOf[id]
	for _, p := range openAPI[id].params {
		head, enum, hasEnum := strings.Cut(p, "=")
		name, typ, _ := strings.Cut(head, ":")
		f := fieldRule{typ: typ, def: r.defaults[name], max: r.maxItems[name]}
		if hasEnum {
			f.enum = strings.Split(enum, "|")
		}
		if b, ok := r.bounds[name]; ok {
			f.bounds = &b
		}
		out[name] = f
	}
	for name := range r.defaults {
		if _, ok := out[name]; !ok {
			t.Fatalf("rulesOf[%s] has a default for %s, which openAPI does not list", id, name)
		}
	}
	return out
}

// buildRequest makes a request for model id from the transcribed schema
// alone: the longest prompt allowed, every field at its default, and every
// URL list as full as allowed (audio only beside images, as the pages say).
func buildRequest(id string, rules map[string]fieldRule) (string, map[string]any) {
	spec := openAPI[id]
	prompt := strings.Repeat("ü", spec.promptMax)
	params := make(map[string]any)
	for name, f := range rules {
		switch {
		case f.typ == "array":
			n := max(f.max, 1)
			list := make([]any, n)
			for i := range list {
				list[i] = fmt.Sprintf("https://cdn.example.com/%s/%d", name, i)
			}
			params[name] = list
		case f.def != nil:
			params[name] = f.def
		}
	}
	return prompt, params
}

// checkField reports how value breaks rule f, or "".
func checkField(f fieldRule, v any) string {
	switch f.typ {
	case "string":
		s, ok := v.(string)
		if !ok || (f.enum != nil && !slices.Contains(f.enum, s)) {
			return fmt.Sprintf("%v is not a string in %v", v, f.enum)
		}
	case "integer":
		n, ok := v.(int)
		if !ok || (f.enum != nil && !slices.Contains(f.enum, strconv.Itoa(n))) ||
			(f.bounds != nil && (n < f.bounds[0] || n > f.bounds[1])) {
			return fmt.Sprintf("%v is not an integer in %v within %v", v, f.enum, f.bounds)
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			return fmt.Sprintf("%v is not a boolean", v)
		}
	case "array":
		l, ok := v.([]any)
		if !ok || (f.max > 0 && len(l) > f.max) {
			return fmt.Sprintf("%v is not a list of at most %d", v, f.max)
		}
	}
	return ""
}

// TestRequestPerModelMatchesOpenAPI builds one valid request per model from
// the transcribed schema, checks every field of it against the schema's
// rules and the registry's, and checks that the registry accepts it and
// rejects each field pushed one step past its rule.
func TestRequestPerModelMatchesOpenAPI(t *testing.T) {
	if len(rulesOf) != len(Models()) {
		t.Fatalf("rulesOf has %d models, the registry %d", len(rulesOf), len(Models()))
	}
	for id, r := range rulesOf {
		t.Run(id, func(t *testing.T) {
			m, ok := LookupModel(id)
			if !ok {
				t.Fatalf("%s is not in the registry", id)
			}
			if got := m.Kind.CreatePath(); got != r.createURL {
				t.Errorf("create path %s, want %s", got, r.createURL)
			}
			if m.NeedsReference != r.needsRef || m.AssetIDs != r.assetIDs {
				t.Errorf("NeedsReference %v AssetIDs %v, want %v %v", m.NeedsReference, m.AssetIDs, r.needsRef, r.assetIDs)
			}
			rules := fieldRules(t, id)
			prompt, params := buildRequest(id, rules)
			for name, v := range params {
				f := rules[name]
				if msg := checkField(f, v); msg != "" {
					t.Errorf("built field %s: %s", name, msg)
				}
				p := m.Param(name)
				if p == nil {
					t.Errorf("registry lacks field %s", name)
					continue
				}
				if !reflect.DeepEqual(p.Default, f.def) && !(f.def == nil && p.Type == TypeURLs) {
					t.Errorf("%s: registry default %#v, schema %#v", name, p.Default, f.def)
				}
				if p.MaxItems != f.max {
					t.Errorf("%s: registry allows %d items, model page %d", name, p.MaxItems, f.max)
				}
				checkBounds(t, p, f)
			}
			if errs := CheckRequest(id, prompt, params); errs != nil {
				t.Fatalf("registry rejects the valid request: %v", errs)
			}
			if errs := ValidateBody(jsonBody(t, id, prompt, params)); errs != nil {
				t.Errorf("registry rejects the valid request as JSON: %v", errs)
			}
			for name, f := range rules {
				bad, ok := pastRule(f, params[name])
				if !ok {
					continue
				}
				if msg := checkField(f, bad); msg == "" {
					t.Fatalf("%s: %v is meant to break the schema", name, bad)
				}
				if errs := CheckRequest(id, prompt, with(params, name, bad)); len(errs) != 1 || errs[0].Field != name {
					t.Errorf("%s=%v: registry says %v, want one problem with %s", name, bad, errs, name)
				}
			}
			if errs := CheckRequest(id, prompt+"ü", params); len(errs) != 1 || errs[0].Field != "prompt" {
				t.Errorf("prompt of %d characters: %v, want one problem with prompt", openAPI[id].promptMax+1, errs)
			}
		})
	}
}

// checkBounds compares the registry's integer bounds with the schema's; a
// schema without bounds leaves them to the enum, so the registry's must
// admit every enum value.
func checkBounds(t *testing.T, p *Param, f fieldRule) {
	t.Helper()
	if f.bounds != nil {
		if p.Min == nil || p.Max == nil || *p.Min != f.bounds[0] || *p.Max != f.bounds[1] {
			t.Errorf("%s: registry bounds %s..%s, schema %v", p.Name, bound(p.Min), bound(p.Max), *f.bounds)
		}
		return
	}
	for _, e := range f.enum {
		n, err := strconv.Atoi(e)
		if err == nil && ((p.Min != nil && n < *p.Min) || (p.Max != nil && n > *p.Max)) {
			t.Errorf("%s: registry bounds exclude enum value %d", p.Name, n)
		}
	}
}

func bound(b *int) string {
	if b == nil {
		return "none"
	}
	return strconv.Itoa(*b)
}

// pastRule returns a value one step past f's rule, starting from valid
// value v, or false when f has no rule to break but its type.
func pastRule(f fieldRule, v any) (any, bool) {
	switch {
	case f.typ == "string" && f.enum != nil:
		return "not-" + f.enum[0], true
	case f.typ == "integer" && f.bounds != nil:
		return f.bounds[1] + 1, true
	case f.typ == "integer" && f.enum != nil:
		return 0, true
	case f.typ == "array" && f.max > 0:
		return append(slices.Clone(v.([]any)), "https://cdn.example.com/one-more"), true
	case f.typ == "boolean":
		return "true", true
	}
	return nil, false
}

func jsonBody(t *testing.T, id, prompt string, params map[string]any) map[string]any {
	t.Helper()
	raw, err := json.Marshal(with(params, "model", id, "prompt", prompt))
	if err != nil {
		t.Fatal(err)
	}
	var body map[string]any
	if err := json.Unmarshal(raw, &body); err != nil {
		t.Fatal(err)
	}
	return body
}

func TestAliases(t *testing.T) {
	for alias, want := range map[string]string{
		"veo-3.1-fast": "veo3-1-fast", "veo3.1-fast": "veo3-1-fast", "VEO3-1-FAST": "veo3-1-fast",
		"seedream-4.5": "seedream-v4.5", "seedream-4.5-edit": "seedream-v4.5-edit",
		"wan-2.7-image-pro": "wan2.7-image-pro", "seedance-2.0-reference-to-video": "seedance-2.0-r2v",
		"seedance-2-0-fast-i2v": "seedance-2.0-fast-i2v", "veo3-1-fast": "", "veo3-fast": "",
	} {
		if got := ResolveAlias(alias); got != want {
			t.Errorf("ResolveAlias(%q) = %q, want %q", alias, got, want)
		}
	}
	if got, want := Aliases("veo3-1-fast"), []string{"veo-3-1-fast", "veo-3.1-fast", "veo3.1-fast"}; !slices.Equal(got, want) {
		t.Errorf("Aliases(veo3-1-fast) = %v, want %v", got, want)
	}
	for alias := range aliases {
		if alias != strings.ToLower(alias) {
			t.Errorf("alias %q must be lower case: ResolveAlias looks aliases up in lower case", alias)
		}
	}
	for _, m := range Models() {
		if len(Aliases(m.ID)) == 0 {
			t.Errorf("%s has no alias", m.ID)
		}
	}
}

func TestKindFor(t *testing.T) {
	for id, want := range map[string]Kind{
		"veo3-1-fast": KindVideo, "nano-banana-2": KindImage, "seedance-3.0-t2v": KindVideo,
		"kling-2.5-turbo": KindVideo, "some-new-video-model": KindVideo, "flux-2-pro": KindImage,
	} {
		if got := KindFor(id); got != want {
			t.Errorf("KindFor(%q) = %s, want %s", id, got, want)
		}
	}
}
