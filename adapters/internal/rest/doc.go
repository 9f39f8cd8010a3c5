// Package rest is the HTTP layer every tracker client in tracksync is
// built on, so that retries, pacing, server-told waits and error mapping
// are written once (the model is rclone's lib/pacer and lib/rest). The
// vendor API clients (go-jira, go-github, an Asana client) stay; this
// package supplies their *http.Client and reads their answers.
//
// The pieces, each used the same way by every adapter:
//
//   - NewClient: a go-retryablehttp client over an instrumented transport
//     (adapters.Instrument, for the request metrics). It retries
//     connection failures and 5xx answers of requests whose context
//     carries Idempotent, never a 429, and never a request without the
//     mark: a create whose answer was lost may have happened, and the
//     adapter checks before doing it again.
//   - Idempotent / IsIdempotent: the one retry-context key. Mark reads
//     and writes that set absolute values (PUT, PATCH of fields, DELETE,
//     a search sent as POST); never a non-idempotent create.
//   - Pacer: a token bucket (requests per second, with a burst) and
//     sliding windows (GitHub's 80 writes a minute and 500 an hour),
//     optionally one request at a time, plus server-told waits: a quota
//     an answer reports used up (X-RateLimit-Remaining: 0 until
//     X-RateLimit-Reset) makes further requests fail fast with a
//     *adapters.RateLimitError instead of being sent. Its state lives
//     behind Budget, in memory by default (NewMemoryBudget), so that a
//     budget shared by replicas can live in the state store later.
//   - ParseRate / ParseRetryAfter: the one reader of Retry-After,
//     X-RateLimit-Limit/Remaining/Reset (epoch seconds as GitHub sends,
//     RFC 3339 as Jira sends, or delta seconds) and RateLimit-Reason.
//   - Classify: the one mapping of a failed answer (status, headers, the
//     tracker's own message) to the adapters sentinels: ErrNotFound,
//     ErrConflict, ErrUnauthorized, ErrForbidden, *RateLimitError (429,
//     and 403 answers that are rate limits: GitHub's primary and
//     secondary limits), Permanent ErrInvalid (400, 422), all inside an
//     *adapters.APIError.
//   - Decode and Shape: a 2xx answer is success only when its body has
//     the shape the call expects. An HTML login page, cut JSON, an empty
//     body or {} where a listing or an issue was expected is an
//     *adapters.APIError wrapping adapters.ErrBadResponse that names the
//     status and the first bytes of the body; it is not Permanent, so it
//     is retried, and it is never taken for an empty page.
//
// A typical adapter call:
//
//	if err := pacer.Acquire(ctx) ...; defer release()
//	ctx = rest.Idempotent(ctx) // for a GET
//	resp, err := hc.Do(req)     // hc from rest.NewClient
//	pacer.Observe(resp.StatusCode, resp.Header)
//	if resp.StatusCode >= 300 { return rest.Classify(...) }
//	return rest.Decode(tracker, op, resp.StatusCode, body, rest.Object("issues"), &out)
package rest
