package apipod_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apipod/apipod-batch/apipod"
	"github.com/apipod/apipod-batch/apipod/apipodtest"
	"github.com/apipod/apipod-batch/internal/clock"
)

// results creates a task on the fake, lets its clock run past the end and
// returns the result URLs.
func results(t *testing.T, c *apipod.Client, clk *clock.Manual, kind apipod.Kind, body map[string]any) []string {
	t.Helper()
	ctx := context.Background()
	raw := mustJSON(t, body)
	sum := sha256.Sum256(raw)
	created, err := c.Create(ctx, kind, raw, "key-"+hex.EncodeToString(sum[:8]))
	if err != nil {
		t.Fatal(err)
	}
	clk.Add(time.Minute)
	task, err := c.Status(ctx, kind, created.TaskID)
	if err != nil || task.Status != apipod.StatusCompleted || len(task.Result) == 0 {
		t.Fatalf("Status = %+v, %v", task, err)
	}
	return task.Result
}

// into returns a dest func that puts a file at dir/name.<ext> and records
// the extensions it was asked for.
func into(dir, name string, exts *[]string) func(string) (string, error) {
	return func(ext string) (string, error) {
		if exts != nil {
			*exts = append(*exts, ext)
		}
		return filepath.Join(dir, name+"."+ext), nil
	}
}

// leftovers lists the files under dir, temporary ones included.
func leftovers(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, rel)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// checkNoTemp fails when a .part- file is left under dir.
func checkNoTemp(t *testing.T, dir string) {
	t.Helper()
	for _, f := range leftovers(t, dir) {
		if strings.Contains(f, ".part-") {
			t.Errorf("temporary file %s left behind", f)
		}
	}
}

func fileSHA(t *testing.T, path string) (string, int64) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), int64(len(b))
}

func TestDownload(t *testing.T) {
	tests := []struct {
		name string
		kind apipod.Kind
		body map[string]any
		ext  string
	}{
		{"images", apipod.KindImage, map[string]any{"model": "wan2.7-image-pro", "prompt": "a chair", "n": 3}, "png"},
		{"video", apipod.KindVideo, map[string]any{"model": "seedance-2.0-t2v", "prompt": "a clip"}, "mp4"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newClock()
			srv := newFake(t, clk, apipodtest.Options{})
			c, w := newClient(srv.URL)
			urls := results(t, c, clk, tt.kind, tt.body)
			dir := filepath.Join(t.TempDir(), "out", "nested") // made by Download
			for i, u := range urls {
				var exts []string
				d, err := c.Download(context.Background(), u, into(dir, fmt.Sprintf("r%d", i), &exts))
				if err != nil {
					t.Fatalf("Download(%s): %v", u, err)
				}
				want, ok := srv.Served(u)
				if !ok || d.SHA256 != want {
					t.Errorf("SHA256 = %s, served %s (%v)", d.SHA256, want, ok)
				}
				if d.Path != filepath.Join(dir, fmt.Sprintf("r%d.%s", i, tt.ext)) || len(exts) != 1 || exts[0] != tt.ext {
					t.Errorf("Path = %s after dest(%v)", d.Path, exts)
				}
				sum, n := fileSHA(t, d.Path)
				if sum != want || n != d.Bytes || n == 0 {
					t.Errorf("file on disk: sha %s, %d bytes; Downloaded says %s, %d", sum, n, d.SHA256, d.Bytes)
				}
			}
			checkNoTemp(t, dir)
			if got := len(leftovers(t, dir)); got != len(urls) {
				t.Errorf("%d files in the folder, want %d", got, len(urls))
			}
			st := srv.Stats()
			if st.FileRequestsWithAuth != 0 {
				t.Errorf("%d file requests carried Authorization", st.FileRequestsWithAuth)
			}
			if st.Downloads != len(urls) || len(w.all()) != 0 {
				t.Errorf("%d downloads and waits %v for %d files", st.Downloads, w.all(), len(urls))
			}
		})
	}
}

// TestDownloadFileMode checks that a result gets the mode of any new file
// (0666 less the umask), not the 0600 of a temporary file.
func TestDownloadFileMode(t *testing.T) {
	files := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "payload")
	}))
	defer files.Close()
	c, _ := newClient("http://api.invalid")
	dir := t.TempDir()
	d, err := c.Download(context.Background(), files.URL+"/a.png", into(dir, "a", nil))
	if err != nil {
		t.Fatal(err)
	}
	ref, err := os.Create(filepath.Join(dir, "reference"))
	if err != nil {
		t.Fatal(err)
	}
	ref.Close()
	got, err1 := os.Stat(d.Path)
	want, err2 := os.Stat(ref.Name())
	if err1 != nil || err2 != nil || got.Mode() != want.Mode() {
		t.Errorf("result mode %v, a new file gets %v (%v, %v)", got.Mode(), want.Mode(), err1, err2)
	}
}

func TestDownloadNeverSendsKey(t *testing.T) {
	type seen struct{ host, auth, cookie string }
	var mu sync.Mutex
	var hits []seen
	record := func(name string) func(*http.Request) {
		return func(r *http.Request) {
			mu.Lock()
			hits = append(hits, seen{name, r.Header.Get("Authorization"), r.Header.Get("Cookie")})
			mu.Unlock()
		}
	}
	final := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		record("cdn")(r)
		w.Header().Set("Content-Type", "image/webp")
		_, _ = io.WriteString(w, "RIFF....WEBP")
	}))
	defer final.Close()
	files := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		record("files")(r)
		if r.URL.Path == "/redirect" {
			http.Redirect(w, r, final.URL+"/x", http.StatusFound)
			return
		}
		_, _ = io.WriteString(w, "PNG...")
	}))
	defer files.Close()

	tests := []struct {
		name      string
		url       string
		sameHTTP  bool // Files is the API's own *http.Client
		wantHosts []string
		ext       string
	}{
		{"direct", files.URL + "/a.png", false, []string{"files"}, "png"},
		{"redirect to a CDN", files.URL + "/redirect", false, []string{"files", "cdn"}, "webp"},
		{"one http.Client for both", files.URL + "/redirect", true, []string{"files", "cdn"}, "webp"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mu.Lock()
			hits = nil
			mu.Unlock()
			c, _ := newClient("http://api.invalid")
			if tt.sameHTTP {
				c.Files = c.HTTP
			}
			var exts []string
			if _, err := c.Download(context.Background(), tt.url, into(t.TempDir(), "f", &exts)); err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(hits) != len(tt.wantHosts) {
				t.Fatalf("hits %+v, want %v", hits, tt.wantHosts)
			}
			for i, h := range hits {
				if h.host != tt.wantHosts[i] || h.auth != "" || h.cookie != "" {
					t.Errorf("request %d to %s carried Authorization %q Cookie %q", i, h.host, h.auth, h.cookie)
				}
			}
			if len(exts) != 1 || exts[0] != tt.ext {
				t.Errorf("exts %v, want %s", exts, tt.ext)
			}
		})
	}
}

func TestDownloadTruncatedRetried(t *testing.T) {
	clk := newClock()
	srv := newFake(t, clk, apipodtest.Options{Seed: 3})
	c, w := newClient(srv.URL)
	c.Retry.Attempts = 20
	var urls []string
	for i := range 3 {
		urls = append(urls, results(t, c, clk, apipod.KindImage,
			map[string]any{"model": "wan2.7-image", "prompt": fmt.Sprint("a chair ", i), "n": 4})...)
	}
	urls = append(urls, results(t, c, clk, apipod.KindVideo, map[string]any{"model": "veo3-1-fast", "prompt": "a clip"})...)
	srv.SetFaults(apipodtest.Faults{TruncateDownload: 0.5})
	dir := t.TempDir()
	for i, u := range urls {
		d, err := c.Download(context.Background(), u, into(dir, strconv.Itoa(i), nil))
		if err != nil {
			t.Fatalf("file %d: %v", i, err)
		}
		want, _ := srv.Served(u)
		if sum, _ := fileSHA(t, d.Path); d.SHA256 != want || sum != want {
			t.Errorf("file %d: sha %s on disk %s, served %s", i, d.SHA256, sum, want)
		}
	}
	checkNoTemp(t, dir)
	st := srv.Stats()
	cut := st.FaultsInjected["truncate"]
	if cut == 0 {
		t.Fatalf("no download was truncated; pick another seed")
	}
	if st.Downloads != len(urls)+cut || len(w.all()) != cut {
		t.Errorf("%d downloads and %d waits for %d files and %d truncations", st.Downloads, len(w.all()), len(urls), cut)
	}
	if st.FileRequestsWithAuth != 0 {
		t.Errorf("%d file requests carried Authorization", st.FileRequestsWithAuth)
	}
}

func TestDownloadFailuresAgainstFake(t *testing.T) {
	tests := []struct {
		name      string
		faults    apipodtest.Faults
		url       func(srv *apipodtest.Server, good string) string
		later     time.Duration // clock moves after the task completed
		downloads int
		status    int
		expired   bool
		cause     error
	}{
		{name: "always truncated", faults: apipodtest.Faults{TruncateDownload: 1},
			url: func(_ *apipodtest.Server, good string) string { return good }, downloads: testPolicy.Attempts, cause: io.ErrUnexpectedEOF},
		{name: "unknown file", url: func(srv *apipodtest.Server, _ string) string { return srv.FilesURL + "/files/img_nope/0.png" },
			status: 404, expired: true},
		{name: "expired after 24h", url: func(_ *apipodtest.Server, good string) string { return good }, later: 25 * time.Hour,
			status: 404, expired: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newClock()
			srv := newFake(t, clk, apipodtest.Options{})
			c, w := newClient(srv.URL)
			good := results(t, c, clk, apipod.KindImage, map[string]any{"model": "nano-banana-pro", "prompt": "a chair"})[0]
			clk.Add(tt.later)
			srv.SetFaults(tt.faults)
			dir := t.TempDir()
			u := tt.url(srv, good)
			_, err := c.Download(context.Background(), u, into(dir, "r", nil))
			var de *apipod.DownloadError
			if !errors.As(err, &de) {
				t.Fatalf("err = %v (%T), want a *DownloadError", err, err)
			}
			if de.HTTPStatus != tt.status || de.Expired != tt.expired || de.URL != u {
				t.Errorf("DownloadError = %+v, want status %d expired %v", *de, tt.status, tt.expired)
			}
			if tt.cause != nil && !errors.Is(err, tt.cause) {
				t.Errorf("err = %v, want it to wrap %v", err, tt.cause)
			}
			checkNoKey(t, err)
			if got := leftovers(t, dir); len(got) != 0 {
				t.Errorf("left %v in the folder", got)
			}
			if st := srv.Stats(); st.Downloads != tt.downloads || len(w.all()) != max(tt.downloads-1, 0) {
				t.Errorf("%d files served, waits %v; want %d served", st.Downloads, w.all(), tt.downloads)
			}
		})
	}
}

// fileReply is one canned answer of a hand-written files host.
type fileReply func(w http.ResponseWriter, r *http.Request)

func serve(data []byte, ctype string) fileReply {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", ctype)
		w.Header().Set("Content-Length", strconv.Itoa(len(data)))
		_, _ = w.Write(data)
	}
}

// serveChunked sends data without a Content-Length.
func serveChunked(data []byte) fileReply {
	return func(w http.ResponseWriter, r *http.Request) {
		for chunk := range slices.Chunk(data, 256) {
			_, _ = w.Write(chunk)
			_ = http.NewResponseController(w).Flush()
		}
	}
}

// serveHalf announces all of data, sends half and hangs up.
func serveHalf(data []byte) fileReply {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(len(data)))
		_, _ = w.Write(data[:len(data)/2])
		_ = http.NewResponseController(w).Flush()
		panic(http.ErrAbortHandler)
	}
}

func status(code int) fileReply {
	return func(w http.ResponseWriter, r *http.Request) { http.Error(w, http.StatusText(code), code) }
}

func TestDownloadFailures(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789abcdef"), 1000) // 16000 bytes
	sum := sha256.Sum256(data)
	wantSHA := hex.EncodeToString(sum[:])
	errDest := errors.New("no room for it")
	attempts := testPolicy.Attempts
	tests := []struct {
		name     string
		replies  []fileReply
		limit    int64 // MaxDownloadBytes; 0 keeps the default
		destErr  error
		requests int
		ok       bool
		status   int
		expired  bool
		destCall bool // dest was called although the download failed
	}{
		{name: "ok", replies: []fileReply{serve(data, "image/png")}, requests: 1, ok: true},
		{name: "ok chunked", replies: []fileReply{serveChunked(data)}, requests: 1, ok: true},
		{name: "ok at the size limit", replies: []fileReply{serve(data, "image/png")}, limit: int64(len(data)), requests: 1, ok: true},
		{name: "ok chunked at the size limit", replies: []fileReply{serveChunked(data)}, limit: int64(len(data)), requests: 1, ok: true},
		{name: "404 expired", replies: []fileReply{status(404), serve(data, "image/png")}, requests: 1, status: 404, expired: true},
		{name: "403 expired", replies: []fileReply{status(403), serve(data, "image/png")}, requests: 1, status: 403, expired: true},
		{name: "410 expired", replies: []fileReply{status(410), serve(data, "image/png")}, requests: 1, status: 410, expired: true},
		{name: "400 not retried", replies: []fileReply{status(400), serve(data, "image/png")}, requests: 1, status: 400},
		{name: "500 retried", replies: []fileReply{status(500), serve(data, "image/png")}, requests: 2, ok: true},
		{name: "429 retried", replies: []fileReply{status(429), status(503), serve(data, "image/png")}, requests: 3, ok: true},
		{name: "503 until attempts run out", replies: []fileReply{status(503)}, requests: attempts, status: 503},
		{name: "truncated then ok", replies: []fileReply{serveHalf(data), serveHalf(data), serve(data, "image/png")}, requests: 3, ok: true},
		{name: "larger than the limit", replies: []fileReply{serve(data, "image/png")}, limit: int64(len(data)) - 1, requests: 1},
		{name: "chunked larger than the limit", replies: []fileReply{serveChunked(data)}, limit: 1000, requests: 1, destCall: true},
		{name: "dest fails", replies: []fileReply{serve(data, "image/png")}, destErr: errDest, requests: 1, destCall: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var mu sync.Mutex
			n := 0
			files := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				n++
				i := min(n, len(tt.replies)) - 1
				mu.Unlock()
				tt.replies[i](w, r)
			}))
			defer files.Close()
			c, _ := newClient("http://api.invalid")
			if tt.limit > 0 {
				c.MaxDownloadBytes = tt.limit
			}
			dir := t.TempDir()
			calls := 0
			dest := func(ext string) (string, error) {
				calls++
				return filepath.Join(dir, "out."+ext), tt.destErr
			}
			u := files.URL + "/x/result"
			d, err := c.Download(context.Background(), u, dest)
			mu.Lock()
			if n != tt.requests {
				t.Errorf("%d requests, want %d", n, tt.requests)
			}
			mu.Unlock()
			checkNoTemp(t, dir)
			if tt.ok {
				if err != nil {
					t.Fatal(err)
				}
				if got, size := fileSHA(t, d.Path); d.SHA256 != wantSHA || got != wantSHA || size != int64(len(data)) {
					t.Errorf("sha %s on disk %s (%d bytes), want %s", d.SHA256, got, size, wantSHA)
				}
				return
			}
			var de *apipod.DownloadError
			if !errors.As(err, &de) {
				t.Fatalf("err = %v (%T), want a *DownloadError", err, err)
			}
			checkNoKey(t, err)
			if de.HTTPStatus != tt.status || de.Expired != tt.expired || de.URL != u {
				t.Errorf("DownloadError = %+v, want status %d expired %v", *de, tt.status, tt.expired)
			}
			if tt.destErr != nil && !errors.Is(err, tt.destErr) {
				t.Errorf("err = %v, want it to wrap the dest error", err)
			}
			if (calls > 0) != tt.destCall {
				t.Errorf("dest called %d times", calls)
			}
			if got := leftovers(t, dir); len(got) != 0 {
				t.Errorf("failed download left %v", got)
			}
		})
	}
}

// TestDownloadReplacesOldFile checks that a result replaces an older file
// at its path, and that stale temporary files of that path are cleaned up.
func TestDownloadReplacesOldFile(t *testing.T) {
	files := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "new content")
	}))
	defer files.Close()
	c, _ := newClient("http://api.invalid")
	dir := t.TempDir()
	target := filepath.Join(dir, "a.png")
	if err := os.WriteFile(target, []byte("old content, longer than the new"), 0o644); err != nil {
		t.Fatal(err)
	}
	// A temporary file that a killed run left for this target goes too.
	if err := os.WriteFile(filepath.Join(dir, ".a.png.part-123"), []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Download(context.Background(), files.URL+"/a.png", into(dir, "a", nil)); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(target); string(b) != "new content" {
		t.Errorf("target holds %q", b)
	}
	if got := leftovers(t, dir); len(got) != 1 {
		t.Errorf("folder holds %v", got)
	}
}

func TestDownloadCancel(t *testing.T) {
	files := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "busy", http.StatusServiceUnavailable)
	}))
	defer files.Close()
	c, _ := newClient("http://api.invalid")
	ctx, cancel := context.WithCancel(context.Background())
	c.Sleep = func(ctx context.Context, _ time.Duration) error {
		cancel()
		return ctx.Err()
	}
	dir := t.TempDir()
	if _, err := c.Download(ctx, files.URL+"/a.png", into(dir, "a", nil)); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	if got := leftovers(t, dir); len(got) != 0 {
		t.Errorf("left %v", got)
	}
}

func TestDownloadRefusesOtherSchemes(t *testing.T) {
	for _, u := range []string{
		"file:///etc/passwd",
		"FILE:///etc/passwd",
		"ftp://example.com/a.png",
		"gopher://example.com/a.png",
		"data:image/png;base64,iVBORw0KGgo=",
		"javascript:alert(1)",
		"/etc/passwd",
		"../a.png",
		"//example.com/a.png",
		"http://",
		"https:///a.png",
		"",
		"http://exa mple.com/a.png",
	} {
		t.Run(u, func(t *testing.T) {
			c, w := newClient("http://api.invalid")
			called := false
			_, err := c.Download(context.Background(), u, func(string) (string, error) {
				called = true
				return filepath.Join(t.TempDir(), "x"), nil
			})
			var de *apipod.DownloadError
			if !errors.As(err, &de) || de.URL != u || de.HTTPStatus != 0 || de.Expired {
				t.Fatalf("err = %v, want a DownloadError for %q", err, u)
			}
			checkNoKey(t, err)
			if called || len(w.all()) != 0 {
				t.Errorf("dest called %v, waits %v: a refused URL must not be tried", called, w.all())
			}
		})
	}
}

var safeExt = regexp.MustCompile(`^[a-z0-9]{1,8}$`)

func TestFileExt(t *testing.T) {
	tests := []struct {
		url, ctype, want string
	}{
		{"https://cdn.example.com/a/b/result.png", "", "png"},
		{"https://cdn.example.com/result.PNG", "", "png"},
		{"https://cdn.example.com/result.jpeg?X-Amz-Signature=abc.def", "image/png", "jpeg"},
		{"https://cdn.example.com/result.mp4#t=1.5", "", "mp4"},
		{"https://cdn.example.com/result.webm", "video/mp4", "webm"},
		{"https://cdn.example.com/clip.mov", "", "mov"},
		// No known extension in the URL: the Content-Type decides.
		{"https://cdn.example.com/result", "image/webp", "webp"},
		{"https://cdn.example.com/result", "image/jpeg", "jpg"},
		{"https://cdn.example.com/result", "Video/MP4; codecs=avc1", "mp4"},
		{"https://cdn.example.com/result.exe", "image/png", "png"},
		{"https://cdn.example.com/result.tar.gz", "audio/mpeg", "mp3"},
		{"https://cdn.example.com/file?name=x.png", "image/gif", "gif"},
		// Neither: bin.
		{"https://cdn.example.com/result", "", "bin"},
		{"https://cdn.example.com/result", "application/octet-stream", "bin"},
		{"https://cdn.example.com/result.sh", "text/x-sh", "bin"},
		{"https://cdn.example.com/result", "image/../../png", "bin"},
		{"https://cdn.example.com/result", "image/png/../x", "bin"},
		{"https://cdn.example.com/a.png/..", "", "bin"},
		{"https://cdn.example.com/..%2F..%2Fetc%2Fpasswd", "", "bin"},
		{"https://cdn.example.com/x.%2e%2e%2fpng", "", "bin"},
		{"https://cdn.example.com/x.png%2F..%2F..%2Fevil", "", "bin"},
		{"https://cdn.example.com/x.p\\ng", "", "bin"},
		{"::not a url::", "", "bin"},
		{"", "", "bin"},
	}
	for _, tt := range tests {
		t.Run(tt.url+" "+tt.ctype, func(t *testing.T) {
			got := apipod.FileExt(tt.url, tt.ctype)
			if got != tt.want {
				t.Errorf("FileExt(%q, %q) = %q, want %q", tt.url, tt.ctype, got, tt.want)
			}
			checkSafeExt(t, got)
		})
	}
}

// FuzzFileExt checks that no URL or Content-Type yields an extension that
// could leave the output folder. `go test` runs the seeds.
func FuzzFileExt(f *testing.F) {
	for _, s := range [][2]string{
		{"https://x/a.png", ""}, {"https://x/a.../..", "image/png"}, {"https://x/a./b", "a/b"},
		{"https://x/%2e%2e/%2f", "text/plain; charset=../"}, {"x", "image/png;name=../../a"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, u, ctype string) {
		checkSafeExt(t, apipod.FileExt(u, ctype))
	})
}

func checkSafeExt(t *testing.T, ext string) {
	t.Helper()
	dir := filepath.Join("out", "job")
	name := filepath.Join(dir, "result."+ext)
	if !safeExt.MatchString(ext) || strings.Contains(ext, "/") || strings.Contains(ext, "..") || filepath.Dir(name) != dir {
		t.Errorf("extension %q is not a short run of lowercase letters and digits", ext)
	}
}
