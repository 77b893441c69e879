package apipod

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// validParams returns the smallest valid parameters for m: one input image
// when the model requires image_urls, one reference when it needs one.
func validParams(m *Model) map[string]any {
	params := map[string]any{}
	if slices.Contains(m.Required, "image_urls") || m.NeedsReference {
		params["image_urls"] = []any{"https://example.com/in.png"}
	}
	return params
}

func TestCheckRequestValidForEveryModel(t *testing.T) {
	ms := Models()
	if len(ms) != 17 {
		t.Fatalf("Models() has %d models, want the 17 of the product", len(ms))
	}
	for i, m := range ms {
		if i > 0 && ms[i-1].ID >= m.ID {
			t.Errorf("Models() is not sorted: %s before %s", ms[i-1].ID, m.ID)
		}
		t.Run(m.ID, func(t *testing.T) {
			if errs := CheckRequest(m.ID, "a red mug on a table", validParams(m)); errs != nil {
				t.Errorf("minimal request: %v", errs)
			}
			// A prompt of exactly the longest length is fine.
			if errs := CheckRequest(m.ID, strings.Repeat("é", m.PromptMax), validParams(m)); errs != nil {
				t.Errorf("prompt of %d characters: %v", m.PromptMax, errs)
			}
			// Every parameter at its default, and every enum value, passes.
			full := validParams(m)
			for _, p := range m.Params {
				switch {
				case p.Type == TypeURLs:
					full[p.Name] = []any{"https://example.com/" + p.Name}
				case p.Default != nil:
					full[p.Name] = p.Default
				}
				for _, v := range p.Enum {
					one := validParams(m)
					one[p.Name] = enumValue(p, v)
					if errs := CheckRequest(m.ID, "p", one); errs != nil {
						t.Errorf("%s=%s: %v", p.Name, v, errs)
					}
				}
			}
			if errs := CheckRequest(m.ID, "p", full); errs != nil {
				t.Errorf("every parameter at its default: %v", errs)
			}
			// As JSON decodes it (numbers are float64), for the fake server.
			var body map[string]any
			raw, _ := json.Marshal(full)
			if err := json.Unmarshal(raw, &body); err != nil {
				t.Fatal(err)
			}
			body["model"], body["prompt"] = m.ID, "p"
			if errs := ValidateBody(body); errs != nil {
				t.Errorf("JSON body %s: %v", raw, errs)
			}
		})
	}
}

func enumValue(p Param, v string) any {
	if p.Type == TypeInteger {
		var n int
		fmt.Sscan(v, &n)
		return n
	}
	return v
}

func TestCheckRequestViolations(t *testing.T) {
	nine := make([]any, 9)
	ten := make([]any, 10)
	for i := range ten {
		ten[i] = fmt.Sprintf("https://example.com/%d.png", i)
	}
	copy(nine, ten)
	one := []any{"https://example.com/in.png"}
	tests := []struct {
		name   string
		model  string
		prompt string
		params map[string]any
		// want lists the fields at fault, in order, each with words its
		// message must hold; nil means valid.
		want []FieldError
	}{
		{name: "enum", model: "nano-banana-2", params: map[string]any{"quality": "8K"},
			want: []FieldError{{"quality", `"8K"|512px, 1K, 2K, 4K`}}},
		{name: "enum of another model", model: "nano-banana-pro", params: map[string]any{"quality": "512px"},
			want: []FieldError{{"quality", "512px|1K, 2K, 4K"}}},
		{name: "enum is case sensitive", model: "seedance-2.0-t2v", params: map[string]any{"resolution": "4K"},
			want: []FieldError{{"resolution", "4k"}}},
		{name: "fast models stop at 720p", model: "seedance-2.0-fast-t2v", params: map[string]any{"resolution": "1080p"},
			want: []FieldError{{"resolution", "480p, 720p"}}},
		{name: "integer below range", model: "seedance-2.0-t2v", params: map[string]any{"duration": 3},
			want: []FieldError{{"duration", "3|4 to 15"}}},
		{name: "integer above range", model: "seedance-2.0-fast-r2v", params: map[string]any{"duration": 16, "video_urls": one},
			want: []FieldError{{"duration", "16|4 to 15"}}},
		{name: "integer range bounds", model: "seedance-2.0-t2v", params: map[string]any{"duration": 15}},
		{name: "integer from JSON", model: "wan2.7-image", params: map[string]any{"n": 4.0}},
		{name: "n above range", model: "wan2.7-image-pro", params: map[string]any{"n": 5},
			want: []FieldError{{"n", "5|1 to 4"}}},
		{name: "fraction for an integer", model: "wan2.7-image", params: map[string]any{"n": 2.5},
			want: []FieldError{{"n", "integer|2.5"}}},
		{name: "string for an integer", model: "seedance-2.0-t2v", params: map[string]any{"duration": "5"},
			want: []FieldError{{"duration", `integer|"5"`}}},
		{name: "number for a string", model: "veo3-1-fast", params: map[string]any{"aspect_ratio": 1.5},
			want: []FieldError{{"aspect_ratio", "string|1.5"}}},
		{name: "string for a boolean", model: "wan2.7-image", params: map[string]any{"watermark": "yes"},
			want: []FieldError{{"watermark", `true or false|"yes"`}}},
		{name: "string for a list", model: "nano-banana-2", params: map[string]any{"image_urls": "https://example.com/a.png"},
			want: []FieldError{{"image_urls", "list of URLs"}}},
		{name: "number in a list", model: "nano-banana-2", params: map[string]any{"image_urls": []any{"https://example.com/a.png", 7}},
			want: []FieldError{{"image_urls", "item 1|number 7"}}},
		{name: "null value", model: "nano-banana-2", params: map[string]any{"quality": nil},
			want: []FieldError{{"quality", "nothing"}}},
		{name: "unknown parameter lists the allowed ones", model: "nano-banana-2", params: map[string]any{"negative_prompt": "blur"},
			want: []FieldError{{"negative_prompt", "nano-banana-2|image_urls|aspect_ratio|quality"}}},
		{name: "parameter of another model", model: "seedream-5.0-lite", params: map[string]any{"callback_url": "https://example.com/hook"},
			want: []FieldError{{"callback_url", "quality, aspect_ratio"}}},
		{name: "missing required", model: "seedream-v4.5-edit", params: map[string]any{},
			want: []FieldError{{"image_urls", "required|seedream-v4.5-edit"}}},
		{name: "required list empty", model: "wan2.7-image-edit", params: map[string]any{"image_urls": []any{}},
			want: []FieldError{{"image_urls", "wan2.7-image-edit"}}},
		{name: "required list as []string", model: "seedance-2.0-i2v", params: map[string]any{"image_urls": []string{"https://example.com/a.png"}}},
		{name: "prompt too long", model: "seedream-5.0-lite", prompt: strings.Repeat("a", 2001),
			want: []FieldError{{"prompt", "2001|2000"}}},
		{name: "prompt length counts characters", model: "seedance-2.0-t2v", prompt: strings.Repeat("日", 1001),
			want: []FieldError{{"prompt", "1001|1000"}}},
		{name: "prompt empty", model: "veo3-1-fast", prompt: " \n\t",
			want: []FieldError{{"prompt", "empty"}}},
		{name: "audio without image or video", model: "seedance-2.0-r2v", params: map[string]any{"audio_urls": []any{"https://example.com/a.mp3"}},
			want: []FieldError{{"audio_urls", "image_urls or video_urls"}}},
		{name: "audio with a video", model: "seedance-2.0-r2v",
			params: map[string]any{"audio_urls": []any{"https://example.com/a.mp3"}, "video_urls": []any{"https://example.com/v.mp4"}}},
		{name: "reference missing", model: "seedance-2.0-fast-r2v", params: map[string]any{"duration": 5},
			want: []FieldError{{"image_urls", "at least one reference"}}},
		{name: "reference lists empty", model: "seedance-2.0-r2v", params: map[string]any{"image_urls": []any{}, "video_urls": []any{}},
			want: []FieldError{{"image_urls", "at least one reference"}}},
		{name: "nine images", model: "seedance-2.0-r2v", params: map[string]any{"image_urls": nine}},
		{name: "ten images", model: "seedance-2.0-r2v", params: map[string]any{"image_urls": ten},
			want: []FieldError{{"image_urls", "10|9"}}},
		{name: "four videos", model: "seedance-2.0-fast-r2v", params: map[string]any{"video_urls": ten[:4]},
			want: []FieldError{{"video_urls", "4|3"}}},
		{name: "assetId for seedance", model: "seedance-2.0-i2v", params: map[string]any{"image_urls": []any{"assetId://asset-20260101-abc"}}},
		{name: "assetId for seedance references", model: "seedance-2.0-fast-r2v",
			params: map[string]any{"video_urls": []any{"assetId://v1"}, "audio_urls": []any{"assetId://a1"}}},
		{name: "assetId refused for nano-banana-2", model: "nano-banana-2", params: map[string]any{"image_urls": []any{"assetId://asset-1"}},
			want: []FieldError{{"image_urls", "assetId://asset-1|Seedance"}}},
		{name: "local path", model: "seedream-v4.5-edit", params: map[string]any{"image_urls": []any{"./photos/in.png"}},
			want: []FieldError{{"image_urls", "./photos/in.png|http"}}},
		{name: "absolute path", model: "nano-banana-pro", params: map[string]any{"image_urls": []any{"https://example.com/a.png", "/home/me/in.png"}},
			want: []FieldError{{"image_urls", "item 1|/home/me/in.png"}}},
		{name: "file URL", model: "veo3-1-fast", params: map[string]any{"image_urls": []any{"file:///tmp/in.png"}},
			want: []FieldError{{"image_urls", "file:///tmp/in.png"}}},
		{name: "windows path", model: "nano-banana-2", params: map[string]any{"image_urls": []any{`C:\in.png`}},
			want: []FieldError{{"image_urls", "in.png"}}},
		{name: "URL without a host", model: "nano-banana-2", params: map[string]any{"image_urls": []any{"https:///etc/passwd"}},
			want: []FieldError{{"image_urls", "https:///etc/passwd"}}},
		{name: "scheme only", model: "nano-banana-2", params: map[string]any{"image_urls": []any{"https://"}},
			want: []FieldError{{"image_urls", "not a URL"}}},
		{name: "short host", model: "nano-banana-2", params: map[string]any{"image_urls": []any{"http://a", "http://localhost:8080/x.png"}}},
		{name: "job reference resolved later", model: "seedream-v4.5-edit", params: map[string]any{"image_urls": []any{"${jobs.base.result[0]}"}}},
		// An alias is checked as the model it stands for (the manifest
		// loader notes the public id and sends that).
		{name: "alias", model: "nano-banana2", params: map[string]any{"quality": "512px"}},
		{name: "alias checked as its model", model: "nano-banana2", params: map[string]any{"quality": "8K", "n": 2},
			want: []FieldError{{"n", "nano-banana-2|image_urls, aspect_ratio, quality"}, {"quality", `"8K"|nano-banana-2`}}},
		{name: "id in another case", model: "Seedream-V4.5", params: map[string]any{"quality": "4K"}},
		{name: "unknown model, typo", model: "seedrem-v4.5",
			want: []FieldError{{"model", `"seedrem-v4.5"|did you mean "seedream-v4.5"`}}},
		{name: "unknown model, nothing close", model: "dall-e-3",
			want: []FieldError{{"model", `"dall-e-3"`}}},
		{name: "every problem at once", model: "seedance-2.0-i2v", prompt: strings.Repeat("x", 1001),
			params: map[string]any{"duration": 20, "resolution": "8k", "style": "noir"},
			want:   []FieldError{{"prompt", "1001"}, {"duration", "20"}, {"resolution", "8k"}, {"style", "not a parameter"}, {"image_urls", "required"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prompt := tt.prompt
			if prompt == "" {
				prompt = "a red mug"
			}
			got := CheckRequest(tt.model, prompt, tt.params)
			if len(got) != len(tt.want) {
				t.Fatalf("CheckRequest = %v, want %d problems: %v", got, len(tt.want), tt.want)
			}
			for i, w := range tt.want {
				if got[i].Field != w.Field {
					t.Errorf("problem %d is about %q (%s), want %q", i, got[i].Field, got[i].Message, w.Field)
				}
				for _, word := range strings.Split(w.Message, "|") {
					if !strings.Contains(got[i].Message, word) {
						t.Errorf("%s: message %q does not mention %q", got[i].Field, got[i].Message, word)
					}
				}
				if got[i].Error() != got[i].Field+": "+got[i].Message {
					t.Errorf("Error() = %q", got[i].Error())
				}
			}
		})
	}
}

func TestSuggestModels(t *testing.T) {
	tests := []struct {
		typo  string
		first string
	}{
		{"seedrem-v4.5", "seedream-v4.5"},
		{"seedream-v4.5-edt", "seedream-v4.5-edit"},
		{"Nano-Banana-Pro", "nano-banana-pro"},
		{"wan2.7-image-por", "wan2.7-image-pro"},
		{"seedance-2.0-fast", "seedance-2.0-fast-i2v"},
		{"veo3-1", "veo3-1-fast"},
	}
	for _, tt := range tests {
		got := SuggestModels(tt.typo)
		if len(got) == 0 || got[0] != tt.first || len(got) > 3 {
			t.Errorf("SuggestModels(%q) = %v, want %q first, at most 3", tt.typo, got, tt.first)
		}
	}
	for alias, want := range map[string]string{"nano-banana2": "nano-banana-2", "NANO-BANANA2": "nano-banana-2",
		"veo-3.1-fast": "veo3-1-fast", "Seedream-V4.5": "seedream-v4.5", "nano-banana-2": "", "seedrem-v4.5": ""} {
		if got := ResolveAlias(alias); got != want {
			t.Errorf("ResolveAlias(%q) = %q, want %q", alias, got, want)
		}
	}
	if got := SuggestModels("dall-e-3"); len(got) != 0 {
		t.Errorf("SuggestModels(dall-e-3) = %v, want none", got)
	}
	for alias, id := range aliases {
		if _, ok := LookupModel(id); !ok {
			t.Errorf("alias %s names unknown model %s", alias, id)
		}
		if _, ok := LookupModel(alias); ok {
			t.Errorf("alias %s is also a model id", alias)
		}
	}
}

func TestValidateBody(t *testing.T) {
	tests := []struct {
		body  string
		field string // "" for valid
	}{
		{`{"model":"seedance-2.0-t2v","prompt":"a clip","duration":10,"generate_audio":false}`, ""},
		{`{"model":"wan2.7-image-edit","prompt":"make it blue","image_urls":["https://example.com/a.png"],"n":2}`, ""},
		{`{"model":"wan2.7-image-edit","image_urls":["https://example.com/a.png"]}`, "prompt"},
		{`{"model":"veo3-1-fast","prompt":42}`, "prompt"},
		{`{"prompt":"p"}`, "model"},
		{`{"model":"veo3-1-fast","prompt":"p","aspect_ratio":"1:1"}`, "aspect_ratio"},
	}
	for _, tt := range tests {
		var body map[string]any
		if err := json.Unmarshal([]byte(tt.body), &body); err != nil {
			t.Fatal(err)
		}
		errs := ValidateBody(body)
		switch {
		case tt.field == "" && errs != nil:
			t.Errorf("%s: %v", tt.body, errs)
		case tt.field != "" && (len(errs) != 1 || errs[0].Field != tt.field):
			t.Errorf("%s: %v, want one problem with %s", tt.body, errs, tt.field)
		}
	}
}

// openAPI is the request schema of each model, transcribed by hand from
// ../shared/apipod-api/openapi/*.yaml (the tests must not read that folder):
// the route kind, the prompt's length limits, the required fields besides
// model and prompt, and each parameter as name:type, with its enum after
// "=" (values separated by "|").
var openAPI = map[string]struct {
	kind                 Kind
	promptMin, promptMax int
	required             []string
	params               []string
}{
	// nano-banana--nano-banana-2.yaml
	"nano-banana-2": {KindImage, 0, 3993, nil, []string{
		"image_urls:array",
		"aspect_ratio:string=1:1|1:4|1:8|2:3|3:2|3:4|4:1|4:3|4:5|5:4|8:1|9:16|16:9|21:9",
		"quality:string=512px|1K|2K|4K",
	}},
	// nano-banana--nano-banana-pro.yaml
	"nano-banana-pro": {KindImage, 0, 4000, nil, []string{
		"image_urls:array",
		"quality:string=1K|2K|4K",
		"aspect_ratio:string=1:1|2:3|3:2|3:4|4:3|4:5|5:4|9:16|16:9|21:9",
		"callback_url:string",
	}},
	// seedream--4-5-text-to-image.yaml
	"seedream-v4.5": {KindImage, 0, 4000, nil, []string{
		"quality:string=2K|4K",
		"aspect_ratio:string=1:1|2:3|3:2|3:4|4:3|16:9|9:16|21:9",
		"callback_url:string",
	}},
	// seedream--4-5-image-to-image.yaml
	"seedream-v4.5-edit": {KindImage, 0, 4000, []string{"image_urls"}, []string{
		"image_urls:array",
		"quality:string=2K|4K",
		"aspect_ratio:string=1:1|2:3|3:2|3:4|4:3|16:9|9:16|21:9",
		"callback_url:string",
	}},
	// seedream--5-0-lite-text-to-image.yaml
	"seedream-5.0-lite": {KindImage, 0, 2000, nil, []string{
		"quality:string=2K|3K",
		"aspect_ratio:string=1:1|2:3|3:2|3:4|4:3|16:9|9:16|21:9",
	}},
	// seedream--5-0-lite-image-to-image.yaml
	"seedream-5.0-lite-edit": {KindImage, 0, 2000, []string{"image_urls"}, []string{
		"image_urls:array",
		"quality:string=2K|3K",
		"aspect_ratio:string=1:1|2:3|3:2|3:4|4:3|16:9|9:16|21:9",
	}},
	// wan--2-7-text-to-image.yaml
	"wan2.7-image": {KindImage, 0, 5000, nil, []string{
		"size:string=1K|2K",
		"aspect_ratio:string=1:1|1:4|1:8|2:3|3:2|3:4|4:1|4:3|4:5|5:4|8:1|9:16|16:9|21:9",
		"thinking_mode:boolean",
		"watermark:boolean",
		"n:integer=1|2|3|4",
	}},
	// wan--2-7-image-to-image.yaml
	"wan2.7-image-edit": {KindImage, 1, 5000, []string{"image_urls"}, []string{
		"image_urls:array",
		"size:string=1K|2K",
		"watermark:boolean",
		"n:integer=1|2|3|4",
	}},
	// wan--2-7-text-to-image-pro.yaml
	"wan2.7-image-pro": {KindImage, 0, 5000, nil, []string{
		"size:string=1K|2K|4K",
		"aspect_ratio:string=1:1|1:4|1:8|2:3|3:2|3:4|4:1|4:3|4:5|5:4|8:1|16:9|9:16|21:9",
		"thinking_mode:boolean",
		"watermark:boolean",
		"n:integer=1|2|3|4",
	}},
	// wan--2-7-image-to-image-pro.yaml
	"wan2.7-image-pro-edit": {KindImage, 0, 5000, []string{"image_urls"}, []string{
		"image_urls:array",
		"size:string=1K|2K",
		"watermark:boolean",
		"n:integer=1|2|3|4",
	}},
	// veo--3-1-fast.yaml
	"veo3-1-fast": {KindVideo, 0, 4000, nil, []string{
		"image_urls:array",
		"aspect_ratio:string=16:9|9:16",
		"callback_url:string",
	}},
	// seedance--2-0-text-to-video.yaml
	"seedance-2.0-t2v": {KindVideo, 0, 1000, nil, []string{
		"duration:integer=4|5|6|7|8|9|10|11|12|13|14|15",
		"resolution:string=480p|720p|1080p|4k",
		"aspect_ratio:string=adaptive|16:9|4:3|1:1|3:4|9:16|21:9",
		"web_search:boolean",
		"watermark:boolean",
		"generate_audio:boolean",
		"return_last_frame:boolean",
	}},
	// seedance--2-0-image-to-video.yaml
	"seedance-2.0-i2v": {KindVideo, 0, 1000, []string{"image_urls"}, []string{
		"image_urls:array",
		"duration:integer=4|5|6|7|8|9|10|11|12|13|14|15",
		"resolution:string=480p|720p|1080p|4k",
		"aspect_ratio:string=adaptive|4:3|1:1|3:4|9:16|16:9|21:9",
		"watermark:boolean",
		"web_search:boolean",
		"generate_audio:boolean",
		"return_last_frame:boolean",
	}},
	// seedance--2-0-reference-to-video.yaml
	"seedance-2.0-r2v": {KindVideo, 0, 1000, nil, []string{
		"image_urls:array",
		"video_urls:array",
		"audio_urls:array",
		"duration:integer=4|5|6|7|8|9|10|11|12|13|14|15",
		"resolution:string=480p|720p|1080p|4k",
		"aspect_ratio:string=adaptive|1:1|3:4|4:3|9:16|16:9|21:9",
		"watermark:boolean",
		"web_search:boolean",
		"generate_audio:boolean",
		"return_last_frame:boolean",
	}},
	// seedance--2-0-fast-text-to-video.yaml
	"seedance-2.0-fast-t2v": {KindVideo, 0, 1000, nil, []string{
		"resolution:string=480p|720p",
		"aspect_ratio:string=adaptive|16:9|4:3|1:1|3:4|9:16|21:9",
		"duration:integer=4|5|6|7|8|9|10|11|12|13|14|15",
		"web_search:boolean",
		"generate_audio:boolean",
		"watermark:boolean",
		"return_last_frame:boolean",
	}},
	// seedance--2-0-fast-image-to-video.yaml
	"seedance-2.0-fast-i2v": {KindVideo, 0, 1000, []string{"image_urls"}, []string{
		"duration:integer=4|5|6|7|8|9|10|11|12|13|14|15",
		"watermark:boolean",
		"image_urls:array",
		"resolution:string=480p|720p",
		"web_search:boolean",
		"aspect_ratio:string=adaptive|4:3|1:1|3:4|9:16|16:9|21:9",
		"generate_audio:boolean",
		"return_last_frame:boolean",
	}},
	// seedance--2-0-fast-reference-to-video.yaml
	"seedance-2.0-fast-r2v": {KindVideo, 0, 1000, nil, []string{
		"duration:integer=4|5|6|7|8|9|10|11|12|13|14|15",
		"watermark:boolean",
		"audio_urls:array",
		"image_urls:array",
		"resolution:string=480p|720p",
		"video_urls:array",
		"web_search:boolean",
		"aspect_ratio:string=adaptive|1:1|3:4|4:3|9:16|16:9|21:9",
		"generate_audio:boolean",
		"return_last_frame:boolean",
	}},
}

// schemaOf renders a registry parameter as the openAPI table writes it, with
// the enum sorted so that the order of the schema does not matter.
func schemaOf(p Param) string {
	typ := map[ParamType]string{TypeString: "string", TypeInteger: "integer", TypeBoolean: "boolean", TypeURLs: "array"}[p.Type]
	s := p.Name + ":" + typ
	if len(p.Enum) > 0 {
		s += "=" + strings.Join(slices.Sorted(slices.Values(p.Enum)), "|")
	}
	return s
}

func sortEnum(s string) string {
	head, enum, ok := strings.Cut(s, "=")
	if !ok {
		return s
	}
	return head + "=" + strings.Join(slices.Sorted(slices.Values(strings.Split(enum, "|"))), "|")
}

func TestRegistryMatchesOpenAPI(t *testing.T) {
	for _, m := range Models() {
		if _, ok := openAPI[m.ID]; !ok {
			t.Errorf("registry model %s has no OpenAPI schema", m.ID)
		}
	}
	for id, spec := range openAPI {
		t.Run(id, func(t *testing.T) {
			m, ok := LookupModel(id)
			if !ok {
				t.Fatalf("model %s of the OpenAPI files is not in the registry", id)
			}
			if m.Kind != spec.kind || m.PromptMin != spec.promptMin || m.PromptMax != spec.promptMax {
				t.Errorf("kind %s prompt %d..%d, want %s %d..%d", m.Kind, m.PromptMin, m.PromptMax, spec.kind, spec.promptMin, spec.promptMax)
			}
			if !slices.Equal(m.Required, spec.required) {
				t.Errorf("required %v, want %v", m.Required, spec.required)
			}
			var got, want []string
			for _, p := range m.Params {
				got = append(got, schemaOf(p))
			}
			for _, p := range spec.params {
				want = append(want, sortEnum(p))
			}
			slices.Sort(got)
			slices.Sort(want)
			for _, p := range want {
				if !slices.Contains(got, p) {
					t.Errorf("registry lacks %s", p)
				}
			}
			for _, p := range got {
				if !slices.Contains(want, p) {
					t.Errorf("registry has %s, which the schema does not", p)
				}
			}
			// Defaults must pass the parameter's own rules.
			for _, p := range m.Params {
				if p.Default == nil || p.Type == TypeURLs {
					continue
				}
				if msg := p.check(m, p.Default); msg != "" {
					t.Errorf("default of %s: %s", p.Name, msg)
				}
			}
		})
	}
}
