package lockfile

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestPath(t *testing.T) {
	for in, want := range map[string]string{
		"jobs.yaml":         "jobs.lock",
		"dir/jobs.yaml":     "dir/jobs.lock",
		"dir/jobs.yml":      "dir/jobs.lock",
		"dir/JOBS.YAML":     "dir/JOBS.lock",
		"dir/jobs":          "dir/jobs.lock",
		"dir/jobs.json":     "dir/jobs.json.lock",
		"a.yaml.d/manifest": "a.yaml.d/manifest.lock",
	} {
		if got := Path(in); got != want {
			t.Errorf("Path(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestLastAttempt(t *testing.T) {
	j := &Job{}
	if a := j.LastAttempt(); a != nil {
		t.Fatalf("LastAttempt of no attempts = %+v, want nil", a)
	}
	j.Attempts = []*Attempt{{N: 1}, {N: 2}}
	if a := j.LastAttempt(); a == nil || a.N != 2 {
		t.Fatalf("LastAttempt = %+v, want attempt 2", a)
	}
}

func TestMarshalSortedIndented(t *testing.T) {
	f := newFile()
	for _, id := range []string{"b", "c", "a"} {
		f.Jobs[id] = &Job{Model: "m", Kind: "image", Request: json.RawMessage(`{"prompt":"cats & <dogs>"}`)}
	}
	data, err := marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	s := string(data)
	a, b, c := strings.Index(s, `"a": {`), strings.Index(s, `"b": {`), strings.Index(s, `"c": {`)
	if a < 0 || !(a < b && b < c) {
		t.Errorf("jobs not sorted by id:\n%s", s)
	}
	if !strings.HasPrefix(s, "{\n  \"version\": 1,\n  \"salt\": ") || !strings.HasSuffix(s, "}\n") {
		t.Errorf("not indented by two spaces with a trailing newline:\n%s", s)
	}
	if !strings.Contains(s, `"cats & <dogs>"`) {
		t.Errorf("HTML characters escaped:\n%s", s)
	}
	for _, omitted := range []string{"completed_at", "expires_at", "attempts", "backend", "outputs"} {
		if strings.Contains(s, omitted) {
			t.Errorf("zero field %s not omitted:\n%s", omitted, s)
		}
	}
}
