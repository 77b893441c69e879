package apipodtest

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	mrand "math/rand"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apipod/apipod-batch/apipod"
)

// Options configures a Server. The zero value is a working sandbox.
type Options struct {
	// APIKey is the accepted Bearer token; default "sk-sandbox".
	APIKey string
	// Duration is how long a task takes from creation to completion; default
	// 40ms for images and 120ms for videos, each with ±25% seeded jitter.
	Duration func(model string, kind apipod.Kind, body map[string]any) time.Duration
	// Seed seeds fault injection and the jitter of the default durations, so
	// a run is deterministic given the same request order.
	Seed int64
	// Faults are the initial fault settings; see SetFaults.
	Faults Faults
	// Now is the clock that drives the task lifecycle; default time.Now.
	Now func() time.Time
	// Cost is the X-Request-Cost value of a successful create; default
	// "0.0400" for images and "0.4000" for videos.
	Cost func(model string) string
	// ResultTTL is how long after completion result URLs keep answering;
	// default 24h. After it they answer 404.
	ResultTTL time.Duration
	// Script, when set, sees every API request that passed authentication,
	// before any fault is rolled. A non-nil Reply is sent instead of the
	// fake's own answer (counted as the fault "scripted"); nil lets the fake
	// answer as usual. Path values such as r.PathValue("task_id") are set.
	// Script must not read the body of a request it does not answer, and
	// may be called from many goroutines at once.
	Script func(r *http.Request) *Reply
	// SingleHost makes NewServer serve the files from the API listener too.
	// By default they come from a separate listener, so tests can prove the
	// API key never reaches the files host.
	SingleHost bool
}

// Fixed is an Options.Duration that makes every task take d.
func Fixed(d time.Duration) func(model string, kind apipod.Kind, body map[string]any) time.Duration {
	return func(string, apipod.Kind, map[string]any) time.Duration { return d }
}

// Server is a fake APIPod API and files host.
type Server struct {
	// URL is the API base URL, e.g. http://127.0.0.1:PORT, without a
	// trailing slash. It is empty for a server made by New.
	URL string
	// FilesURL is the base of result URLs (equal to URL when SingleHost).
	// It is empty for a server made by New, whose result URLs name the host
	// the request came to.
	FilesURL string

	opts   Options
	token  string // random per server, so ids of two servers never collide
	reqSeq atomic.Uint64
	closed chan struct{}

	fmu    sync.Mutex // guards faults and rng
	faults Faults
	rng    *mrand.Rand

	mu      sync.Mutex // guards the fields below
	tasks   map[string]*task
	watch   map[string]*watch // status reads per task, for Timings
	idem    map[string]*idemRecord
	perBody map[string]int
	taskSeq int
	stats   Stats

	lmu      sync.Mutex // guards stopping and servers; orders inflight.Add before Wait
	stopping bool
	servers  []*http.Server
	inflight sync.WaitGroup
}

// New returns a server that is not listening. Serve its Handler on an
// http.Server of your own (as `apipod-batch sandbox --addr` does); result
// URLs then name the host each status request came to. Call Close when done.
func New(opts Options) *Server {
	if opts.APIKey == "" {
		opts.APIKey = "sk-sandbox"
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Cost == nil {
		opts.Cost = defaultCost
	}
	if opts.ResultTTL <= 0 {
		opts.ResultTTL = 24 * time.Hour
	}
	var tok [4]byte
	_, _ = rand.Read(tok[:])
	return &Server{
		opts:    opts,
		token:   hex.EncodeToString(tok[:]),
		closed:  make(chan struct{}),
		faults:  opts.Faults,
		rng:     mrand.New(mrand.NewSource(opts.Seed)),
		tasks:   make(map[string]*task),
		watch:   make(map[string]*watch),
		idem:    make(map[string]*idemRecord),
		perBody: make(map[string]int),
		stats:   Stats{FaultsInjected: make(map[string]int)},
	}
}

// NewServer starts a server listening on 127.0.0.1 at a free port: the API
// and, unless opts.SingleHost, a separate files host. Call Close when done.
func NewServer(opts Options) *Server {
	s := New(opts)
	// The URLs are set before anything is served: handlers read them.
	if opts.SingleHost {
		l := listen()
		s.URL = "http://" + l.Addr().String()
		s.FilesURL = s.URL
		s.serve(l, s.Handler())
		return s
	}
	api, files := listen(), listen()
	s.URL = "http://" + api.Addr().String()
	s.FilesURL = "http://" + files.Addr().String()
	s.serve(api, s.track(s.apiHandler()))
	s.serve(files, s.track(s.filesHandler()))
	return s
}

// Handler serves the API and the result files on one handler. Result URLs
// point at FilesURL when the server has one, else at the request's host.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/files/", s.filesHandler())
	mux.Handle("/", s.apiHandler())
	return s.track(mux)
}

// Close stops the listeners of NewServer, cuts short any slow answers and
// waits for the requests in flight to finish.
func (s *Server) Close() {
	s.lmu.Lock()
	if s.stopping {
		s.lmu.Unlock()
		return
	}
	s.stopping = true
	close(s.closed)
	servers := s.servers
	s.lmu.Unlock()
	for _, srv := range servers {
		_ = srv.Close()
	}
	s.inflight.Wait()
}

// listen opens a loopback port, as httptest does.
func listen() net.Listener {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		if l, err = net.Listen("tcp6", "[::1]:0"); err != nil {
			panic(fmt.Sprintf("apipodtest: failed to listen on a port: %v", err))
		}
	}
	return l
}

// serve answers requests on l with h until Close.
func (s *Server) serve(l net.Listener, h http.Handler) {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	s.lmu.Lock()
	s.servers = append(s.servers, srv)
	s.lmu.Unlock()
	go func() { _ = srv.Serve(l) }()
}

// track counts requests in flight so Close can wait for them, and refuses
// new ones once Close has begun.
func (s *Server) track(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.lmu.Lock()
		if s.stopping {
			s.lmu.Unlock()
			http.Error(w, "server closed", http.StatusServiceUnavailable)
			return
		}
		s.inflight.Add(1)
		s.lmu.Unlock()
		defer s.inflight.Done()
		h.ServeHTTP(w, r)
	})
}

func (s *Server) apiHandler() http.Handler {
	mux := http.NewServeMux()
	for _, k := range []apipod.Kind{apipod.KindImage, apipod.KindVideo} {
		mux.Handle("POST "+k.CreatePath(), s.api(s.create(k)))
		mux.Handle("GET "+k.StatusPath("{task_id}"), s.api(s.status(k)))
	}
	mux.Handle("/", s.api(func(c *call) {
		c.fail(http.StatusNotFound, "not_found", "no route for "+c.r.Method+" "+c.r.URL.Path)
	}))
	return mux
}

// filesBase is the base of result URLs for a status request.
func (s *Server) filesBase(r *http.Request) string {
	if s.FilesURL != "" {
		return s.FilesURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func (s *Server) now() time.Time { return s.opts.Now() }

func (s *Server) nextRequestID() string {
	return fmt.Sprintf("req_%s%08x", s.token, s.reqSeq.Add(1))
}

func (s *Server) authorized(r *http.Request) bool {
	h := r.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(h, "Bearer ")
	return ok && tok == s.opts.APIKey
}

func defaultCost(model string) string {
	if m, ok := apipod.LookupModel(model); ok && m.Kind == apipod.KindVideo {
		return "0.4000"
	}
	return "0.0400"
}
