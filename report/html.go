package report

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"net/url"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"
)

//go:embed html.tmpl
var htmlSource string

var htmlTemplate = template.Must(template.New("report").Parse(htmlSource))

// htmlPage is the data of html.tmpl.
type htmlPage struct {
	Run                  *Run
	Elapsed, Cost        string
	Cards                []htmlCard
	Tags, Models, States []string
}

// htmlCard is one job on the contact sheet.
type htmlCard struct {
	JobRun
	Media    []htmlMedia
	KeyParam []string // "aspect_ratio 16:9", scalar params only
	Short    string   // the prompt's first words, the summary of its <details>
	Duration string
	CostText string
}

// htmlMedia is one output, linked relative to the report's folder.
type htmlMedia struct {
	Href  string
	Video bool
	Name  string
}

// WriteHTML writes the run as a self-contained contact sheet: a grid of
// cards, one per job, with thumbnails linking to the full files (relative
// to dir, the report's folder), inline videos, the prompt folded, and
// filters by tag, model and state in plain JavaScript. It needs no server
// and no network: open it from disk.
func WriteHTML(w io.Writer, r *Run, dir string) error {
	p := htmlPage{Run: r, Elapsed: dur(r.Elapsed()), Cost: money(r.Summary.RunCost)}
	for _, j := range r.Jobs {
		c := htmlCard{JobRun: j, Short: shorten(j.Prompt, 60),
			Duration: dur(time.Duration(j.DurationMS) * time.Millisecond), CostText: money(j.Cost)}
		for _, o := range j.Outputs {
			href, err := relHref(dir, r.outputPath(o.Path))
			if err != nil {
				return fmt.Errorf("html report: %w", err)
			}
			ext := strings.ToLower(path.Ext(o.Path))
			c.Media = append(c.Media, htmlMedia{Href: href, Name: path.Base(o.Path),
				Video: ext == ".mp4" || ext == ".webm" || ext == ".mov"})
		}
		c.KeyParam = keyParams(j.Params)
		p.Cards = append(p.Cards, c)
		p.Tags = append(p.Tags, j.Tags...)
		p.Models = append(p.Models, j.Model)
		p.States = append(p.States, j.State)
	}
	p.Tags, p.Models, p.States = uniq(p.Tags), uniq(p.Models), uniq(p.States)
	return htmlTemplate.Execute(w, p)
}

// relHref returns the URL of file relative to dir: slash-separated, each
// segment escaped.
func relHref(dir, file string) (string, error) {
	rel, err := filepath.Rel(dir, file)
	if err != nil {
		return "", err
	}
	segs := strings.Split(filepath.ToSlash(rel), "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	href := strings.Join(segs, "/")
	// PathEscape keeps ':', so a first segment such as "c:0.png" would read
	// as a URL scheme (and html/template would blank the link); "./" keeps
	// it a relative path.
	if strings.Contains(segs[0], ":") {
		href = "./" + href
	}
	return href, nil
}

// keyParams lists the scalar params, sorted: lists such as image_urls are
// long and say little on a card.
func keyParams(params map[string]any) []string {
	var out []string
	for k, v := range params {
		switch v.(type) {
		case []any, map[string]any:
			continue
		}
		out = append(out, fmt.Sprintf("%s %v", k, v))
	}
	sort.Strings(out)
	return out
}

func shorten(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return strings.TrimSpace(string(r[:n])) + "…"
}

func uniq(s []string) []string {
	slices.Sort(s)
	return slices.Compact(s)
}
