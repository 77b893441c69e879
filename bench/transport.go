package main

import (
	"net/http"
)

// benchTransport keeps enough idle connections for every task in flight, as
// a long-running client would, so the benchmark measures scheduling rather
// than TCP handshakes.
func benchTransport(parallelism int) *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 2 * parallelism
	return t
}
