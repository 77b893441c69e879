package manifest

import (
	"reflect"
	"testing"
)

func TestMatrixExpansion(t *testing.T) {
	src := `version: 1
jobs:
  banner:
    model: m
    matrix:
      ratio: ["1:1", "9:16", "16:9"]
      lang: [en, de]
      note: ["a b/c"]
    prompt: "sale in ${matrix.lang}"
    params: {aspect_ratio: "${matrix.ratio}"}
    output: "{matrix.lang}/{matrix.ratio}.{ext}"
`
	m, err := Parse("m.yaml", []byte(src), nil)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, j := range m.Jobs {
		ids = append(ids, j.ID)
	}
	want := []string{
		"banner.16x9.de.a-b-c", "banner.16x9.en.a-b-c", "banner.1x1.de.a-b-c",
		"banner.1x1.en.a-b-c", "banner.9x16.de.a-b-c", "banner.9x16.en.a-b-c",
	}
	if !reflect.DeepEqual(ids, want) {
		t.Fatalf("ids %v\nwant %v", ids, want)
	}
	j := m.Job("banner.9x16.de.a-b-c")
	if j.Prompt != "sale in de" || j.Params["aspect_ratio"] != "9:16" || j.Matrix["ratio"] != "9:16" {
		t.Fatalf("job %+v", j)
	}
	if got := j.OutputPath(0, "png"); got != "de/9x16.png" {
		t.Fatalf("output path %q", got)
	}
}

// TestMatrixIDsStable shows that a job keeps its id, and everything it
// asks for, when other values are added, removed or reordered — so the
// lockfile keeps the finished jobs.
func TestMatrixIDsStable(t *testing.T) {
	parse := func(ratios, langs string) map[string]*Job {
		t.Helper()
		src := "version: 1\njobs:\n  b:\n    model: m\n    matrix: {ratio: " + ratios + ", lang: " + langs + "}\n" +
			"    prompt: \"${matrix.lang}\"\n    params: {aspect_ratio: \"${matrix.ratio}\"}\n"
		m, err := Parse("m.yaml", []byte(src), nil)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]*Job{}
		for _, j := range m.Jobs {
			out[j.ID] = j
		}
		return out
	}
	before := parse(`["1:1", "9:16"]`, `[en, de]`)
	after := parse(`["4:5", "9:16", "1:1"]`, `[de, fr]`) // added, removed, reordered
	for _, id := range []string{"b.1x1.de", "b.9x16.de"} {
		x, y := before[id], after[id]
		if x == nil || y == nil {
			t.Fatalf("%s missing: before %v, after %v", id, x != nil, y != nil)
		}
		if x.Prompt != y.Prompt || !reflect.DeepEqual(x.Params, y.Params) || x.Output != y.Output {
			t.Fatalf("%s changed: %+v → %+v", id, x, y)
		}
	}
	if after["b.4x5.fr"] == nil || after["b.1x1.en"] != nil {
		t.Fatal("added and removed values not reflected")
	}
}
