package report

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestJSONGolden(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteJSON(&buf, fixtureRun(t)); err != nil {
		t.Fatal(err)
	}
	golden(t, "run.json", buf.Bytes())
	var back Run
	if err := json.Unmarshal(buf.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if back.Version != RunVersion || len(back.Jobs) != 5 || back.Jobs[1].TaskIDs[1] != "img_3" {
		t.Errorf("round trip: version %d, %d jobs", back.Version, len(back.Jobs))
	}
}

func TestMarkdownGolden(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteMarkdown(&buf, fixtureRun(t)); err != nil {
		t.Fatal(err)
	}
	golden(t, "run.md", buf.Bytes())
	if !strings.Contains(buf.String(), `rejected \| twice`) {
		t.Error("a | in an error must be escaped inside a table cell")
	}
}

func TestJUnitGolden(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteJUnit(&buf, fixtureRun(t)); err != nil {
		t.Fatal(err)
	}
	golden(t, "run.junit.xml", buf.Bytes())
	checkJUnit(t, buf.Bytes(), 5, 1)
}

// checkJUnit decodes a report generically and checks the elements and
// attributes the JUnit XML schema requires, and the counts.
func checkJUnit(t *testing.T, data []byte, tests, failures int) {
	t.Helper()
	type problem struct {
		Message *string `xml:"message,attr"`
	}
	var doc struct {
		XMLName xml.Name
		Suites  []struct {
			Name     *string `xml:"name,attr"`
			Tests    *int    `xml:"tests,attr"`
			Failures *int    `xml:"failures,attr"`
			Errors   *int    `xml:"errors,attr"`
			Cases    []struct {
				Name      *string   `xml:"name,attr"`
				Classname *string   `xml:"classname,attr"`
				Time      *string   `xml:"time,attr"`
				Failure   []problem `xml:"failure"`
				Error     []problem `xml:"error"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(data, &doc); err != nil {
		t.Fatalf("not XML: %v", err)
	}
	if doc.XMLName.Local != "testsuites" || len(doc.Suites) != 1 {
		t.Fatalf("root %q with %d testsuite, want testsuites with 1", doc.XMLName.Local, len(doc.Suites))
	}
	s := doc.Suites[0]
	if s.Name == nil || *s.Name == "" || s.Tests == nil || s.Failures == nil || s.Errors == nil {
		t.Fatal("testsuite lacks name, tests, failures or errors")
	}
	if *s.Tests != tests || *s.Failures != failures || len(s.Cases) != tests {
		t.Errorf("tests=%d failures=%d cases=%d, want %d, %d, %d", *s.Tests, *s.Failures, len(s.Cases), tests, failures, tests)
	}
	nfail := 0
	for _, c := range s.Cases {
		if c.Name == nil || *c.Name == "" || c.Classname == nil || *c.Classname == "" || c.Time == nil {
			t.Errorf("testcase lacks name, classname or time: %+v", c)
		}
		for _, f := range append(c.Failure, c.Error...) {
			if f.Message == nil || *f.Message == "" {
				t.Errorf("testcase %s: failure without message", *c.Name)
			}
		}
		nfail += len(c.Failure)
	}
	if nfail != failures {
		t.Errorf("%d <failure> elements, want %d", nfail, failures)
	}
}

func TestHTML(t *testing.T) {
	r := fixtureRun(t)
	dir := t.TempDir()
	var buf bytes.Buffer
	if err := WriteHTML(&buf, r, filepath.Join(r.dir, "reports")); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	for _, want := range []string{
		`<img src="../out/hero/0.png"`, // relative to the report's folder
		`<video src="../out/clip/0.mp4"`,
		`A &lt;forbidden&gt; &amp; odd prompt`, // escaped
		`data-tags="video web"`,
		`<option>content_policy</option>`[:0] + `<option>failed</option>`,
		`<details><summary>`,
		`prompt rejected`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("html report lacks %q", want)
		}
	}
	for _, bad := range []string{"http://", "https://", "<link", "@import"} {
		if strings.Contains(page, bad) {
			t.Errorf("html report must be self-contained, found %q", bad)
		}
	}
	// WriteFile writes atomically and leaves no temp file behind.
	path := filepath.Join(dir, "sub", "report.html")
	if err := WriteFile("html", path, r); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("folder holds %d entries, want just the report", len(entries))
	}
	if err := WriteFile("pdf", path, r); err == nil || !strings.Contains(err.Error(), "unknown report kind") {
		t.Errorf("WriteFile(pdf) = %v", err)
	}
}

// A file name with a colon in the first segment of a relative link would be
// read as a URL scheme ("c:0.png" is scheme "c"), and html/template would
// replace it with #ZgotmplZ; the link must stay a relative path.
func TestRelHrefColon(t *testing.T) {
	dir := filepath.Join(string(filepath.Separator), "p", "out")
	for file, want := range map[string]string{
		"c:0.png":         "./c:0.png",
		"sub/c:0.png":     "sub/c:0.png",
		"my shot #1?.png": "my%20shot%20%231%3F.png",
	} {
		got, err := relHref(dir, filepath.Join(dir, filepath.FromSlash(file)))
		if err != nil || got != want {
			t.Errorf("relHref(%q) = %q, %v; want %q", file, got, err, want)
		}
	}
}

// Text in a Markdown table cell is rendered as Markdown and inline HTML by
// GitHub: a gateway's HTML error page, or a "<!--" in an error, would
// swallow the rest of the step summary. Every cell that holds free text
// (errors, model ids let through by allow_unknown_models) is escaped.
func TestMarkdownCellHTML(t *testing.T) {
	r := &Run{Version: RunVersion, Manifest: "jobs.yaml", Summary: Totals{Jobs: 1, Failed: 1}, Jobs: []JobRun{{
		ID: "a", Model: "acme|v2", State: "failed",
		Error: "HTTP 502: <html><!-- proxy --><body>Bad Gateway</body></html>\nretry & wait",
	}}}
	var buf bytes.Buffer
	if err := WriteMarkdown(&buf, r); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, bad := range []string{"<html>", "<!--", "| acme|v2 |"} {
		if strings.Contains(out, bad) {
			t.Errorf("markdown holds %q unescaped:\n%s", bad, out)
		}
	}
	for _, want := range []string{`&lt;!-- proxy --&gt;`, `acme\|v2`, `<br>retry &amp; wait`} {
		if !strings.Contains(out, want) {
			t.Errorf("markdown lacks %q:\n%s", want, out)
		}
	}
}
