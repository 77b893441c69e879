package apipodtest

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"
)

// call is one API request on its way through the fake.
type call struct {
	s     *Server
	w     http.ResponseWriter
	r     *http.Request
	slow  time.Duration // a pending SlowAnswer delay, 0 for none
	retry string        // Retry-After of the fault settings this request saw
}

// envelope is the APIPod response body.
type envelope struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Data    any    `json:"data"`
}

type errorData struct {
	Type      string `json:"type,omitempty"`
	ErrorCode string `json:"error_code"`
}

// authFailure is the OpenAI-style envelope of a 401.
var authFailure = []byte(`{"error":{"message":"Authentication required. Please provide a valid API key or sign in.","type":"invalid_request_error","code":"invalid_api_key"}}`)

// api wraps an API route with request ids, authentication and the faults
// that strike any API request.
func (s *Server) api(h func(*call)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Request-ID", s.nextRequestID())
		c := &call{s: s, w: w, r: r}
		s.count(func(st *Stats) { st.Requests++ })
		if !s.authorized(r) {
			s.count(func(st *Stats) { st.Unauthorized++ })
			c.write(http.StatusUnauthorized, authFailure)
			return
		}
		if s.opts.Script != nil {
			if rep := s.opts.Script(r); rep != nil {
				s.fault("scripted")
				c.reply(rep)
				return
			}
		}
		f := s.faultSettings()
		c.retry = f.RetryAfter
		switch {
		case s.roll(f.RateLimit):
			s.fault("rate_limit")
			w.Header().Set("Retry-After", f.RetryAfter)
			c.writeJSON(http.StatusTooManyRequests, envelope{
				Code: http.StatusTooManyRequests, Message: "Rate limit exceeded",
				Data: errorData{Type: "rate_limit_error", ErrorCode: "rate_limit_exceeded"},
			})
			return
		case s.roll(f.ServerError):
			s.fault("server_error")
			c.serverError(s.pick(serverErrors))
			return
		}
		if s.roll(f.SlowAnswer) {
			s.fault("slow")
			c.slow = f.SlowDelay
		}
		h(c)
	})
}

var serverErrors = []int{
	http.StatusInternalServerError, http.StatusBadGateway,
	http.StatusServiceUnavailable, http.StatusGatewayTimeout,
}

// serverError answers a 5xx. A 502 comes from the "gateway" as HTML, as a
// real one does; the others use the APIPod envelope.
func (c *call) serverError(status int) {
	if status == http.StatusBadGateway {
		c.w.Header().Set("Content-Type", "text/html; charset=utf-8")
		c.write(status, []byte("<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>\n"))
		return
	}
	code := map[int]string{
		http.StatusInternalServerError: "internal_error",
		http.StatusServiceUnavailable:  "service_unavailable",
		http.StatusGatewayTimeout:      "upstream_timeout",
	}[status]
	c.fail(status, code, http.StatusText(status))
}

// stall waits out a pending SlowAnswer delay, at most once per request.
// Close and the client going away cut it short.
func (c *call) stall() {
	if c.slow <= 0 {
		return
	}
	t := time.NewTimer(c.slow)
	defer t.Stop()
	c.slow = 0
	select {
	case <-t.C:
	case <-c.r.Context().Done():
	case <-c.s.closed:
	}
}

// Reply is a scripted answer to an API request; see Options.Script.
type Reply struct {
	Status int         // HTTP status; 0 means 200
	Header http.Header // headers to add, such as Retry-After
	Body   []byte      // sent as is
}

// EnvelopeReply returns a Reply with HTTP status and the APIPod envelope
// {code, message, data} as its body. The code may differ from the HTTP
// status, as in an HTTP 200 whose envelope says 402.
func EnvelopeReply(status, code int, message string, data any) *Reply {
	b, err := json.Marshal(envelope{Code: code, Message: message, Data: data})
	if err != nil {
		panic("apipodtest: EnvelopeReply: " + err.Error())
	}
	return &Reply{Status: status, Body: b}
}

// reply sends a scripted answer.
func (c *call) reply(rep *Reply) {
	for k, vs := range rep.Header {
		for _, v := range vs {
			c.w.Header().Add(k, v)
		}
	}
	status := rep.Status
	if status == 0 {
		status = http.StatusOK
	}
	c.write(status, rep.Body)
}

// fail answers an APIPod error envelope.
func (c *call) fail(status int, errorCode, message string) {
	c.writeJSON(status, envelope{Code: status, Message: message, Data: errorData{ErrorCode: errorCode}})
}

// ok answers a success envelope around data.
func (c *call) ok(data any) {
	c.writeJSON(http.StatusOK, envelope{Code: http.StatusOK, Message: "success", Data: data})
}

func (c *call) writeJSON(status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		panic("apipodtest: " + err.Error()) // only our own types are marshalled
	}
	c.write(status, b)
}

func (c *call) write(status int, body []byte) {
	c.stall()
	h := c.w.Header()
	if h.Get("Content-Type") == "" {
		h.Set("Content-Type", "application/json")
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	c.w.WriteHeader(status)
	_, _ = c.w.Write(body)
}
