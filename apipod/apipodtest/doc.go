// Package apipodtest provides a fake APIPod server, in the style of
// net/http/httptest, for tests and for the apipod-batch sandbox.
//
// The fake follows the APIPod reference: the image and video create and
// status routes, Bearer authentication with the OpenAI-style 401 envelope,
// the APIPod {code, message, data} envelope everywhere else, X-Request-ID and
// X-Request-Cost headers, and Idempotency-Key replays, conflicts and
// in-progress answers. Tasks move from pending through processing to
// completed (or failed) as the clock advances; their results are real PNG
// images and small MP4 files served from a separate files host, so tests can
// prove that the API key never reaches it.
//
// Faults (rate limits, server errors, lost create answers, truncated
// downloads, failed, forgotten and slow tasks, an empty balance) are injected
// with a seeded random source; Options.Script answers chosen requests by
// hand (odd statuses, HTTP 200 envelopes with error codes, echoed keys); and
// Stats, TasksPerBody and Served let tests check what the client
// did: how often it retried, that it never paid twice for one request, and
// that the files it kept are the ones served.
package apipodtest
