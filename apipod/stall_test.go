package apipod_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apipod/apipod-batch/apipod"
)

// TestDownloadStallIsRetried serves a file that stops halfway and never
// finishes: the try is abandoned after StallTimeout and the next one lands
// the whole file.
func TestDownloadStallIsRetried(t *testing.T) {
	body := []byte(strings.Repeat("png-bytes ", 1000))
	var tries atomic.Int32
	files := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/png")
		w.Header().Set("Content-Length", "10000")
		if tries.Add(1) == 1 {
			w.Write(body[:1000])
			w.(http.Flusher).Flush()
			<-r.Context().Done() // hang until the client gives up
			return
		}
		w.Write(body)
	}))
	defer files.Close()
	c := apipod.NewClient("http://api.invalid", "sk-test")
	c.StallTimeout = 50 * time.Millisecond
	c.Retry = apipod.RetryPolicy{Attempts: 3, Initial: time.Millisecond, Max: time.Millisecond}
	dir := t.TempDir()
	start := time.Now()
	d, err := c.Download(context.Background(), files.URL+"/r.png", func(ext string) (string, error) {
		return filepath.Join(dir, "0."+ext), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(body)
	if d.SHA256 != hex.EncodeToString(sum[:]) || tries.Load() != 2 {
		t.Fatalf("sha %s after %d tries", d.SHA256, tries.Load())
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("stall noticed after %s", took)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("folder holds %d entries, want only the output", len(entries))
	}
}
