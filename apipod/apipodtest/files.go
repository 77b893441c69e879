package apipodtest

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math/rand/v2"
	"net/http"
	"strings"

	"github.com/apipod/apipod-batch/apipod"
)

// file is one result of a task, made once when the task is created.
type file struct {
	path  string // e.g. /files/img_…/0.png
	ctype string
	data  []byte
	sum   string // sha256 of data, hex
}

// makeFiles makes the n results of a task: PNG images or MP4 videos whose
// bytes derive from the task id, so every task's files differ.
func makeFiles(id string, kind apipod.Kind, n int) []*file {
	files := make([]*file, n)
	for i := range files {
		seed := sha256.Sum256(fmt.Appendf(nil, "%s/%d", id, i))
		f := &file{path: fmt.Sprintf("/files/%s/%d.png", id, i), ctype: "image/png"}
		if kind == apipod.KindVideo {
			f.path, f.ctype, f.data = fmt.Sprintf("/files/%s/%d.mp4", id, i), "video/mp4", makeMP4(seed)
		} else {
			f.data = makePNG(seed)
		}
		sum := sha256.Sum256(f.data)
		f.sum = hex.EncodeToString(sum[:])
		files[i] = f
	}
	return files
}

// makePNG draws a 64×64 image of diagonal stripes in two colours from seed.
func makePNG(seed [32]byte) []byte {
	const size = 64
	img := image.NewNRGBA(image.Rect(0, 0, size, size))
	a := color.NRGBA{R: seed[0], G: seed[1], B: seed[2], A: 255}
	b := color.NRGBA{R: ^seed[0], G: seed[3], B: seed[4], A: 255}
	width := 2 + int(seed[5]%8)
	for y := range size {
		for x := range size {
			if ((x+y)/width)%2 == 0 {
				img.SetNRGBA(x, y, a)
			} else {
				img.SetNRGBA(x, y, b)
			}
		}
	}
	var buf bytes.Buffer
	_ = png.Encode(&buf, img) // a bytes.Buffer does not fail
	return buf.Bytes()
}

// makeMP4 returns a minimal MP4: an ftyp box and an mdat box of 4–8 KiB of
// pseudo-random content from seed.
func makeMP4(seed [32]byte) []byte {
	n := 4096 + int(seed[0])*16
	b := make([]byte, 0, 28+8+n)
	b = binary.BigEndian.AppendUint32(b, 28)
	b = append(b, "ftypisom"...)
	b = binary.BigEndian.AppendUint32(b, 0x200)
	b = append(b, "isomiso2mp41"...)
	b = binary.BigEndian.AppendUint32(b, uint32(8+n))
	b = append(b, "mdat"...)
	payload := make([]byte, n)
	_, _ = rand.NewChaCha8(seed).Read(payload) // never fails
	return append(b, payload...)
}

// filesHandler serves result files at /files/{task_id}/{name}.
func (s *Server) filesHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /files/{task_id}/{name}", s.serveFile)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "" {
			s.count(func(st *Stats) { st.FileRequestsWithAuth++ })
		}
		mux.ServeHTTP(w, r)
	})
}

func (s *Server) serveFile(w http.ResponseWriter, r *http.Request) {
	t, f := s.lookupFile(r.URL.Path)
	now := s.now()
	if f == nil || now.Before(t.end()) || !now.Before(t.end().Add(s.opts.ResultTTL)) {
		http.NotFound(w, r)
		return
	}
	s.count(func(st *Stats) { st.Downloads++ })
	w.Header().Set("Content-Type", f.ctype)
	if r.Method == http.MethodGet && r.Header.Get("Range") == "" && s.roll(s.faultSettings().TruncateDownload) {
		s.fault("truncate")
		s.truncate(w, f.data)
	}
	http.ServeContent(w, r, "", t.end(), bytes.NewReader(f.data))
}

// truncate announces all of data but sends half of it, then drops the
// connection.
func (s *Server) truncate(w http.ResponseWriter, data []byte) {
	w.Header().Set("Content-Length", fmt.Sprint(len(data)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(data[:len(data)/2])
	_ = http.NewResponseController(w).Flush()
	panic(http.ErrAbortHandler)
}

// lookupFile finds the task and file at a /files/ path, or nils.
func (s *Server) lookupFile(path string) (*task, *file) {
	rest, ok := strings.CutPrefix(path, "/files/")
	if !ok {
		return nil, nil
	}
	id, _, _ := strings.Cut(rest, "/")
	s.mu.Lock()
	t := s.tasks[id]
	s.mu.Unlock()
	if t == nil {
		return nil, nil
	}
	for _, f := range t.files {
		if f.path == path {
			return t, f
		}
	}
	return nil, nil
}

// Served returns the sha256 (hex) of the bytes the file at url serves in
// full, and whether url is one of this server's result URLs (expired ones
// included). A server made by New, which has no FilesURL, matches result
// URLs by path alone.
func (s *Server) Served(url string) (sha256hex string, ok bool) {
	rest, ok := strings.CutPrefix(url, "http://")
	if !ok {
		if rest, ok = strings.CutPrefix(url, "https://"); !ok {
			return "", false
		}
	}
	if s.FilesURL != "" && !strings.HasPrefix(url, s.FilesURL+"/files/") {
		return "", false
	}
	_, path, _ := strings.Cut(rest, "/")
	_, f := s.lookupFile("/" + path)
	if f == nil {
		return "", false
	}
	return f.sum, true
}
