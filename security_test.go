package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apipod/apipod-batch/apipod/apipodtest"
)

// leakKey is distinctive so that any copy of it is easy to find.
const leakKey = "sk-live-LEAKCANARY-0b7d41e9c2"

// echoingServer is a fake API that echoes the Authorization header into
// error messages: of create answers (5xx, retried), of status reads, and of
// failed tasks, as a broken gateway or upstream might. A revoked server
// answers every request with a 401 that echoes it.
func echoingServer(t *testing.T, revoked bool) *apipodtest.Server {
	t.Helper()
	var n atomic.Int32
	srv := apipodtest.NewServer(apipodtest.Options{
		APIKey: leakKey, Seed: 5,
		Duration: apipodtest.Fixed(10 * time.Millisecond),
		Script: func(r *http.Request) *apipodtest.Reply {
			auth := r.Header.Get("Authorization")
			switch i := n.Add(1); {
			case revoked:
				b, _ := json.Marshal(map[string]any{"error": map[string]string{
					"message": "Incorrect API key provided: " + auth, "type": "invalid_request_error", "code": "invalid_api_key"}})
				return &apipodtest.Reply{Status: http.StatusUnauthorized, Body: b}
			case i <= 3:
				return apipodtest.EnvelopeReply(http.StatusInternalServerError, http.StatusInternalServerError,
					"upstream said: "+auth, map[string]string{"error_code": "internal_error " + auth})
			case r.Method == http.MethodGet && r.PathValue("task_id") != "" && strings.HasSuffix(r.PathValue("task_id"), "0"):
				return apipodtest.EnvelopeReply(http.StatusOK, http.StatusOK, "success", map[string]any{
					"task_id": r.PathValue("task_id"), "status": "failed",
					"error_code": "ECHO " + auth, "error_message": "rejected key " + auth, "error": auth})
			}
			return nil
		},
	})
	t.Cleanup(srv.Close)
	return srv
}

// TestKeyNeverLeaks runs apply against a server that echoes the key in
// every error it can, at every verbosity and log format, with every report:
// the key appears in no output, no file and no request to the files host.
func TestKeyNeverLeaks(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		revoked bool
	}{
		{"text", nil, false},
		{"verbose", []string{"--verbose"}, false},
		{"json log", []string{"--log-format", "json", "--json"}, false},
		{"verbose json log", []string{"--verbose", "--log-format", "json"}, false},
		{"revoked key echoed by the 401", []string{"--verbose"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := echoingServer(t, tt.revoked)
			dir := t.TempDir()
			var b strings.Builder
			b.WriteString("version: 1\nsettings:\n  retries: 1\n  poll: {initial: 5ms, max: 20ms}\njobs:\n")
			for i := range 12 {
				b.WriteString("  j" + string(rune('a'+i)) + ":\n    model: nano-banana-2\n    prompt: \"leak test\"\n")
			}
			manifest := filepath.Join(dir, "jobs.yaml")
			if err := os.WriteFile(manifest, []byte(b.String()), 0o644); err != nil {
				t.Fatal(err)
			}
			t.Setenv("APIPOD_BASE_URL", srv.URL)
			t.Setenv("APIPOD_API_KEY", leakKey)
			args := append([]string{"apply", manifest}, tt.args...)
			for _, kind := range []string{"json", "junit", "markdown", "html"} {
				args = append(args, "--report", kind+"="+filepath.Join(dir, "report."+kind))
			}
			var out, errb bytes.Buffer
			run(context.Background(), args, &streams{in: strings.NewReader(""), out: &out, err: &errb})
			if errb.Len() == 0 {
				t.Fatal("apply said nothing on stderr")
			}
			for name, text := range map[string]string{"stdout": out.String(), "stderr": errb.String()} {
				if strings.Contains(text, leakKey) {
					t.Errorf("%s shows the key:\n%s", name, text)
				}
			}
			files := 0
			_ = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
				if err != nil || d.IsDir() {
					return err
				}
				files++
				data, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				if bytes.Contains(data, []byte(leakKey)) {
					t.Errorf("%s holds the key", path)
				}
				return nil
			})
			if files < 5 {
				t.Errorf("only %d files written; the reports are missing", files)
			}
			if st := srv.Stats(); st.FileRequestsWithAuth != 0 || st.FaultsInjected["scripted"] == 0 {
				t.Errorf("stats %+v", st)
			}
			if tt.args != nil && tt.args[len(tt.args)-1] == "json" {
				for line := range strings.Lines(errb.String()) {
					if !json.Valid([]byte(line)) {
						t.Errorf("log line is not JSON: %s", line)
					}
				}
			}
		})
	}
}

// TestMaxDownload proves a result file over the download limit fails its
// job, with the limit from settings.max_download or --max-download.
func TestMaxDownload(t *testing.T) {
	tests := []struct {
		name     string
		settings string
		args     []string
		code     int
		stderr   string
	}{
		{"settings.max_download too small", "  max_download: 100B\n", nil, exitError, "larger than the download limit"},
		{"--max-download too small wins over settings", "  max_download: 1GiB\n", []string{"--max-download", "100B"}, exitError, "larger than the download limit"},
		{"--max-download large enough", "", []string{"--max-download", "5MiB"}, exitOK, ""},
		{"--max-download not a size", "", []string{"--max-download", "lots"}, exitError, `--max-download: "lots" is not a size`},
		{"settings.max_download not a size", "  max_download: -3MB\n", nil, exitError, "settings.max_download"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := apipodtest.NewServer(apipodtest.Options{APIKey: leakKey,
				Duration: apipodtest.Fixed(5 * time.Millisecond)})
			t.Cleanup(srv.Close)
			dir := t.TempDir()
			manifest := filepath.Join(dir, "jobs.yaml")
			yaml := "version: 1\nsettings:\n  retries: 0\n  poll: {initial: 5ms, max: 20ms}\n" + tt.settings +
				"jobs:\n  a: {model: nano-banana-2, prompt: hi}\n"
			if err := os.WriteFile(manifest, []byte(yaml), 0o644); err != nil {
				t.Fatal(err)
			}
			t.Setenv("APIPOD_BASE_URL", srv.URL)
			t.Setenv("APIPOD_API_KEY", leakKey)
			var out, errb bytes.Buffer
			code := run(context.Background(), append([]string{"apply", manifest}, tt.args...), &streams{in: strings.NewReader(""), out: &out, err: &errb})
			if code != tt.code || !strings.Contains(errb.String()+out.String(), tt.stderr) {
				t.Fatalf("exit %d, want %d with %q\nstdout: %s\nstderr: %s", code, tt.code, tt.stderr, out.String(), errb.String())
			}
			if entries, _ := os.ReadDir(filepath.Join(dir, "out", "a")); tt.code != exitOK && len(entries) != 0 {
				t.Errorf("files left: %v", entries)
			}
		})
	}
}
