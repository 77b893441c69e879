package apipod

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"
)

// Downloaded is a result file written to disk.
type Downloaded struct {
	Path   string
	SHA256 string // hex
	Bytes  int64
}

// Download fetches a result file into the path that dest returns for the
// file's extension (png, mp4, …, taken from the URL or the Content-Type).
// The bytes stream into a temporary file beside the target while being
// hashed; the length is checked against Content-Length, failed and truncated
// transfers are retried, and only a complete file is synced and renamed into
// place, so the target is never partial. The API key is never sent.
func (c *Client) Download(ctx context.Context, rawURL string, dest func(ext string) (string, error)) (*Downloaded, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, &DownloadError{URL: rawURL, Err: errors.New("result URL is not http(s)")}
	}
	b := c.backoff()
	for try := 1; ; try++ {
		d, err := c.downloadOnce(ctx, rawURL, dest)
		if err == nil {
			return d, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		var de *DownloadError
		var perm *permanentError
		retryable := errors.As(err, &de) && !de.Expired && !errors.Is(err, errTooLarge) && !errors.As(err, &perm) &&
			(de.HTTPStatus == 0 || de.HTTPStatus == http.StatusTooManyRequests || de.HTTPStatus >= 500)
		if !retryable || try >= c.Retry.Attempts {
			return nil, err
		}
		wait := b.NextBackOff()
		if c.OnRetry != nil {
			c.OnRetry("download", err, wait)
		}
		if err := c.Sleep(ctx, wait); err != nil {
			return nil, err
		}
	}
}

func (c *Client) downloadOnce(ctx context.Context, rawURL string, dest func(ext string) (string, error)) (*Downloaded, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	// A files host that stops sending mid-transfer would hold the job
	// forever; a stall ends this try, and the next one starts afresh.
	stall := time.AfterFunc(c.StallTimeout, func() { cancel(errStalled) })
	defer stall.Stop()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, &DownloadError{URL: rawURL, Err: err}
	}
	req.Header.Set("User-Agent", c.UserAgent)
	resp, err := c.Files.Do(req)
	if err != nil {
		return nil, &DownloadError{URL: rawURL, Err: stallCause(ctx, err)}
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return nil, &DownloadError{URL: rawURL, HTTPStatus: resp.StatusCode,
			Expired: resp.StatusCode == http.StatusForbidden || resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone}
	}
	if resp.ContentLength > c.MaxDownloadBytes {
		return nil, &DownloadError{URL: rawURL, Err: fmt.Errorf("%w (%d > %d bytes)", errTooLarge, resp.ContentLength, c.MaxDownloadBytes)}
	}
	target, err := dest(FileExt(rawURL, resp.Header.Get("Content-Type")))
	if err != nil {
		return nil, &DownloadError{URL: rawURL, Err: &permanentError{err}}
	}
	body := &stallReader{r: resp.Body, timer: stall, after: c.StallTimeout}
	d, err := writeStream(rawURL, target, body, resp.ContentLength, c.MaxDownloadBytes)
	if de, ok := err.(*DownloadError); ok {
		de.Err = stallCause(ctx, de.Err)
	}
	return d, err
}

// errStalled ends a transfer that sent nothing for Client.StallTimeout.
var errStalled = errors.New("the files host sent nothing for too long")

// stallCause names the stall when it is why a transfer failed.
func stallCause(ctx context.Context, err error) error {
	if errors.Is(context.Cause(ctx), errStalled) {
		return fmt.Errorf("%w: %w", errStalled, err)
	}
	return err
}

// stallReader pushes the stall deadline back each time bytes arrive.
type stallReader struct {
	r     io.Reader
	timer *time.Timer
	after time.Duration
}

func (s *stallReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if n > 0 {
		s.timer.Reset(s.after)
	}
	return n, err
}

// writeStream copies body into target through a synced temporary file.
func writeStream(rawURL, target string, body io.Reader, want, limit int64) (d *Downloaded, err error) {
	dir := filepath.Dir(target)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, &DownloadError{URL: rawURL, Err: err}
	}
	removeStaleParts(dir, filepath.Base(target))
	tmp, err := createTemp(dir, "."+filepath.Base(target)+".part-")
	if err != nil {
		return nil, &DownloadError{URL: rawURL, Err: err}
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), io.LimitReader(body, limit+1))
	switch {
	case err != nil:
		return nil, &DownloadError{URL: rawURL, Err: err}
	case n > limit:
		return nil, &DownloadError{URL: rawURL, Err: fmt.Errorf("%w (%d bytes)", errTooLarge, limit)}
	case want >= 0 && n != want:
		return nil, &DownloadError{URL: rawURL, Err: fmt.Errorf("%w: got %d of %d", errTruncated, n, want)}
	}
	if err := tmp.Sync(); err != nil {
		return nil, &DownloadError{URL: rawURL, Err: err}
	}
	if err := tmp.Close(); err != nil {
		return nil, &DownloadError{URL: rawURL, Err: err}
	}
	if err := os.Rename(tmp.Name(), target); err != nil {
		return nil, &DownloadError{URL: rawURL, Err: err}
	}
	if err := SyncDir(dir); err != nil {
		return nil, &DownloadError{URL: rawURL, Err: err}
	}
	return &Downloaded{Path: target, SHA256: hex.EncodeToString(h.Sum(nil)), Bytes: n}, nil
}

// removeStaleParts deletes temporary files a killed process left for the
// same target. The caller holds the manifest's lock, so no live download of
// this target can own them.
func removeStaleParts(dir, base string) {
	stale, _ := filepath.Glob(filepath.Join(dir, "."+globEscape(base)+".part-*"))
	for _, p := range stale {
		_ = os.Remove(p)
	}
}

func globEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, "*", `\*`, "?", `\?`, "[", `\[`).Replace(s)
}

// createTemp makes a new, empty file dir/prefix<random>. Unlike
// os.CreateTemp, which makes files 0600, it asks for 0666 less the umask, so
// a result renamed into place gets the mode of any other file the user makes.
func createTemp(dir, prefix string) (*os.File, error) {
	for range 100 {
		var b [8]byte
		_, _ = rand.Read(b[:]) // never fails
		f, err := os.OpenFile(filepath.Join(dir, prefix+hex.EncodeToString(b[:])), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o666)
		if !errors.Is(err, fs.ErrExist) {
			return f, err
		}
	}
	return nil, fmt.Errorf("no unused temporary name in %s", dir)
}

// SyncDir flushes a folder's entries to disk so a rename in it survives a crash.
func SyncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

// FileExt picks the extension of a result file: the URL's when it is a known
// media type, else the Content-Type's, else "bin". It is always a short run
// of lowercase letters and digits, so it cannot change a path's folder.
func FileExt(rawURL, contentType string) string {
	if u, err := url.Parse(rawURL); err == nil {
		if ext := strings.TrimPrefix(strings.ToLower(path.Ext(u.Path)), "."); mediaExt[ext] {
			return ext
		}
	}
	if mt, _, err := mime.ParseMediaType(contentType); err == nil {
		if ext, ok := mimeExt[mt]; ok {
			return ext
		}
	}
	return "bin"
}

var mediaExt = map[string]bool{
	"png": true, "jpg": true, "jpeg": true, "webp": true, "gif": true,
	"mp4": true, "mov": true, "webm": true, "mp3": true, "wav": true,
}

var mimeExt = map[string]string{
	"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp", "image/gif": "gif",
	"video/mp4": "mp4", "video/quicktime": "mov", "video/webm": "webm",
	"audio/mpeg": "mp3", "audio/wav": "wav",
}
