package apipod

import (
	"fmt"
	"math"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// FieldError is one rejected part of a create request. Field is "model",
// "prompt" or a parameter name.
type FieldError struct {
	Field   string
	Message string
}

func (e FieldError) Error() string { return e.Field + ": " + e.Message }

// referencePrefix marks a job reference that is resolved only at run time;
// such list items are checked once they hold real URLs.
const referencePrefix = "${jobs."

// CheckRequest checks a create request for a model against the registry and
// returns every problem, or nil. An alias is checked as the model it stands
// for (see ResolveAlias); callers that send the request send the public id.
// An unknown model is one problem naming the closest known ids.
func CheckRequest(model, prompt string, params map[string]any) []FieldError {
	if id := ResolveAlias(model); id != "" {
		model = id
	}
	m, ok := LookupModel(model)
	if !ok {
		msg := fmt.Sprintf("unknown model %q", model)
		if s := SuggestModels(model); len(s) > 0 {
			msg += "; did you mean " + quoteList(s) + "?"
		}
		return []FieldError{{Field: "model", Message: msg}}
	}
	var errs []FieldError
	add := func(field, format string, args ...any) {
		errs = append(errs, FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	n := utf8.RuneCountInString(prompt)
	if m.PromptMax > 0 && n > m.PromptMax {
		add("prompt", "is %d characters; %s allows at most %d", n, m.ID, m.PromptMax)
	}
	if strings.TrimSpace(prompt) == "" || n < m.PromptMin {
		add("prompt", "is empty; %s needs a prompt", m.ID)
	}
	names := make([]string, 0, len(params))
	for k := range params {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, name := range names {
		p := m.Param(name)
		if p == nil {
			add(name, "is not a parameter of %s; it takes %s", m.ID, paramNames(m))
			continue
		}
		if p.Type == TypeURLs {
			for _, msg := range p.checkURLs(m, params[name]) {
				add(name, "%s", msg)
			}
		} else if msg := p.check(m, params[name]); msg != "" {
			add(name, "%s", msg)
		}
	}
	for _, r := range m.Required {
		v, ok := params[r]
		switch {
		case !ok:
			add(r, "is required by %s", m.ID)
		case isList(v) && listLen(v) == 0:
			add(r, "is an empty list; %s needs at least one item", m.ID)
		}
	}
	if m.NeedsReference && listLen(params["image_urls"])+listLen(params["video_urls"])+listLen(params["audio_urls"]) == 0 {
		add("image_urls", "%s needs at least one reference: image_urls, video_urls or audio_urls", m.ID)
	}
	if listLen(params["audio_urls"]) > 0 && listLen(params["image_urls"])+listLen(params["video_urls"]) == 0 {
		add("audio_urls", "audio cannot be given on its own; add image_urls or video_urls")
	}
	return errs
}

// ValidateBody checks a decoded JSON create body, as the API does.
func ValidateBody(body map[string]any) []FieldError {
	model, _ := body["model"].(string)
	prompt, ok := body["prompt"].(string)
	if !ok {
		return []FieldError{{Field: "prompt", Message: "is required and must be a string"}}
	}
	params := make(map[string]any, len(body))
	for k, v := range body {
		if k != "model" && k != "prompt" {
			params[k] = v
		}
	}
	return CheckRequest(model, prompt, params)
}

// check returns what is wrong with v as a value of the scalar p, or "".
func (p *Param) check(m *Model, v any) string {
	switch p.Type {
	case TypeString:
		s, ok := v.(string)
		if !ok {
			return fmt.Sprintf("want a string, got %s", describe(v))
		}
		if len(p.Enum) > 0 && !contains(p.Enum, s) {
			return fmt.Sprintf("%q is not allowed for %s; use one of %s", s, m.ID, strings.Join(p.Enum, ", "))
		}
	case TypeInteger:
		i, ok := asInt(v)
		if !ok {
			return fmt.Sprintf("want an integer, got %s", describe(v))
		}
		if (p.Min != nil && i < *p.Min) || (p.Max != nil && i > *p.Max) ||
			(len(p.Enum) > 0 && !contains(p.Enum, strconv.Itoa(i))) {
			return fmt.Sprintf("%d is out of range for %s; use %s", i, m.ID, p.rangeText())
		}
	case TypeBoolean:
		if _, ok := v.(bool); !ok {
			return fmt.Sprintf("want true or false, got %s", describe(v))
		}
	}
	return ""
}

// checkURLs returns what is wrong with v as a URL list: one message about
// the whole list, or one per bad item, each starting "item N: ".
func (p *Param) checkURLs(m *Model, v any) []string {
	items, ok := v.([]any)
	if ss, isStrings := v.([]string); isStrings {
		for _, s := range ss {
			items = append(items, s)
		}
		ok = true
	}
	if !ok {
		return []string{fmt.Sprintf("want a list of URLs, got %s", describe(v))}
	}
	if p.MaxItems > 0 && len(items) > p.MaxItems {
		return []string{fmt.Sprintf("has %d items; %s allows at most %d", len(items), m.ID, p.MaxItems)}
	}
	var msgs []string
	for i, it := range items {
		s, ok := it.(string)
		if !ok {
			msgs = append(msgs, fmt.Sprintf("%s%d: want a URL string, got %s", itemPrefix, i, describe(it)))
		} else if msg := checkURL(m, s); msg != "" {
			msgs = append(msgs, fmt.Sprintf("%s%d: %s", itemPrefix, i, msg))
		}
	}
	return msgs
}

// itemPrefix starts the message about one item of a list; FieldError.Item
// reads it back.
const itemPrefix = "item "

// Item returns the index of the list item a problem is about and the message
// without its "item N: " prefix, or ok false when it is about the whole field.
func (e FieldError) Item() (index int, msg string, ok bool) {
	rest, found := strings.CutPrefix(e.Message, itemPrefix)
	num, msg, found2 := strings.Cut(rest, ": ")
	if !found || !found2 {
		return 0, "", false
	}
	index, err := strconv.Atoi(num)
	if err != nil {
		return 0, "", false
	}
	return index, msg, true
}

func checkURL(m *Model, s string) string {
	switch {
	case strings.HasPrefix(s, "https://"), strings.HasPrefix(s, "http://"):
		if u, err := url.Parse(s); err != nil || u.Host == "" {
			return fmt.Sprintf("%q is not a URL", s)
		}
		return ""
	case strings.HasPrefix(s, referencePrefix):
		return ""
	case strings.HasPrefix(s, "assetId://"):
		if m.AssetIDs {
			return ""
		}
		return fmt.Sprintf("%q: assetId:// references work only with Seedance models; give an http(s) URL", s)
	}
	scheme, _, hasScheme := strings.Cut(s, "://")
	switch {
	case hasScheme && scheme != "file":
		return fmt.Sprintf("%q is not an http(s) URL; APIPod fetches inputs over http(s) only", s)
	case !hasScheme && looksLikeHost(s):
		return fmt.Sprintf("%q is not an http(s) URL; did you mean %q?", s, "https://"+s)
	}
	how := "upload it somewhere APIPod can fetch it and give its http(s) URL"
	if m.AssetIDs {
		how += ", or add it to the Seedance asset library and give assetId://…"
	}
	return fmt.Sprintf("%q is a local file, not an http(s) URL; %s", s, how)
}

// looksLikeHost reports whether s is a URL written without its scheme: a
// host name such as example.com (ending in letters), then a path.
func looksLikeHost(s string) bool {
	host, path, ok := strings.Cut(s, "/")
	dot := strings.LastIndexByte(host, '.')
	if !ok || path == "" || dot <= 0 || len(host)-dot < 3 {
		return false
	}
	for _, r := range host[dot+1:] {
		if r < 'a' || r > 'z' {
			return false
		}
	}
	return true
}

func (p *Param) rangeText() string {
	if p.Min != nil && p.Max != nil {
		return fmt.Sprintf("%d to %d", *p.Min, *p.Max)
	}
	return "one of " + strings.Join(p.Enum, ", ")
}

// asInt accepts integers as YAML decodes them (int) and as JSON does (float64).
func asInt(v any) (int, bool) {
	switch n := v.(type) {
	case int:
		return n, true
	case int64:
		return int(n), true
	case float64:
		if n == math.Trunc(n) && math.Abs(n) < 1<<31 {
			return int(n), true
		}
	}
	return 0, false
}

func isList(v any) bool {
	switch v.(type) {
	case []any, []string:
		return true
	}
	return false
}

func listLen(v any) int {
	switch l := v.(type) {
	case []any:
		return len(l)
	case []string:
		return len(l)
	}
	return 0
}

func describe(v any) string {
	switch x := v.(type) {
	case nil:
		return "nothing"
	case string:
		return fmt.Sprintf("string %q", x)
	case bool:
		return fmt.Sprintf("boolean %v", x)
	case int, int64, float64:
		return fmt.Sprintf("number %v", x)
	case []any, []string:
		return "a list"
	case map[string]any:
		return "a map"
	}
	return fmt.Sprintf("%T", v)
}

func paramNames(m *Model) string {
	names := make([]string, len(m.Params))
	for i, p := range m.Params {
		names[i] = p.Name
	}
	return strings.Join(names, ", ")
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func quoteList(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = strconv.Quote(s)
	}
	return strings.Join(q, " or ")
}
