package asana

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/adapters/internal/rest"
)

// tokenTransport adds the bearer token (a personal access token or an
// OAuth access token) to each request.
type tokenTransport struct {
	token string
	next  http.RoundTripper
}

func (t *tokenTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	r := req.Clone(req.Context())
	r.Header.Set("Authorization", "Bearer "+t.token)
	r.Header.Set("Accept", "application/json")
	return t.next.RoundTrip(r)
}

// syncExpired is a 412 from the Events API: the token was missing or too
// old; fresh is the token to use after re-reading everything.
type syncExpired struct {
	fresh string
	err   error
}

func (e *syncExpired) Error() string { return e.err.Error() }
func (e *syncExpired) Unwrap() []error {
	return []error{e.err, adapters.ErrCursorExpired}
}

// request is one API call.
type request struct {
	method, path string
	query        url.Values
	body         any // sent as {"data": body}
	// idempotent marks a POST that sets an absolute state (addTask,
	// setParent, addTag): the transport may send it again.
	idempotent bool
	write      bool // counts against the concurrent-write limit
}

// call sends r and decodes {"data": ...} into out (nil: the answer is
// only checked). Every failure comes back classified by rest.Classify in
// an *adapters.APIError naming the tracker, the call and Asana's message.
func (t *Tracker) call(ctx context.Context, r request, shape rest.Shape, out any) error {
	op := r.method + " " + r.path
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("asana %s: %w", op, err)
	}
	write := r.write || r.method != http.MethodGet
	if write {
		select {
		case t.writes <- struct{}{}:
			defer func() { <-t.writes }()
		case <-ctx.Done():
			return fmt.Errorf("asana %s: %w", op, ctx.Err())
		}
	}
	release, err := t.pace.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("asana %s: %w", op, err)
	}
	defer release()
	if r.method == http.MethodGet || r.method == http.MethodPut || r.method == http.MethodDelete || r.idempotent {
		ctx = rest.Idempotent(ctx)
	}
	u := t.base + r.path
	if len(r.query) > 0 {
		u += "?" + r.query.Encode()
	}
	var body io.Reader
	if r.body != nil {
		b, err := json.Marshal(map[string]any{"data": r.body})
		if err != nil {
			return fmt.Errorf("asana %s: encoding the request: %w", op, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, u, body)
	if err != nil {
		return fmt.Errorf("asana %s: %w", op, err)
	}
	if r.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := t.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("asana %s: %w", op, ctx.Err())
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("asana %s: %w", op, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("asana %s: reading the answer: %w", op, err)
	}
	t.log.Debug("asana call", "method", r.method, "path", r.path, "status", resp.StatusCode)
	if resp.StatusCode >= 300 {
		var eb errorBody
		_ = json.Unmarshal(raw, &eb)
		var msgs []string
		for _, e := range eb.Errors {
			if e.Message != "" {
				msgs = append(msgs, e.Message)
			}
		}
		msg := strings.Join(msgs, "; ")
		if msg == "" {
			msg = rest.Snippet(raw)
		}
		cerr := rest.Classify(t.name, op, resp.StatusCode, resp.Header, msg, rest.Policy{Clock: t.now})
		if resp.StatusCode == http.StatusPreconditionFailed && eb.Sync != "" {
			return &syncExpired{fresh: eb.Sync, err: cerr}
		}
		return cerr
	}
	return rest.Decode(t.name, op, resp.StatusCode, raw, shape, out)
}

// dataShape is the shape of every Asana answer: an object with data.
func dataShape(what string) rest.Shape { return rest.Object(what, "data") }

// recordShape is the shape of an answer holding one record: data with a
// gid. {"data": {}} is not one (a create would link to an empty gid).
func recordShape(what string) rest.Shape { return rest.Record(what, "data", "gid") }

// get reads one record.
func getOne[T any](ctx context.Context, t *Tracker, path, fields, what string) (T, error) {
	var out one[T]
	q := url.Values{}
	if fields != "" {
		q.Set("opt_fields", fields)
	}
	err := t.call(ctx, request{method: http.MethodGet, path: path, query: q}, recordShape(what), &out)
	return out.Data, err
}

// listAll reads every page of a listing, 100 at a time.
func listAll[T any](ctx context.Context, t *Tracker, path string, q url.Values, what string) ([]T, error) {
	var all []T
	if q == nil {
		q = url.Values{}
	}
	q.Set("limit", "100")
	for pages := 0; ; pages++ {
		var p page[T]
		if err := t.call(ctx, request{method: http.MethodGet, path: path, query: q}, dataShape(what), &p); err != nil {
			return nil, err
		}
		all = append(all, p.Data...)
		if p.NextPage == nil || p.NextPage.Offset == "" {
			return all, nil
		}
		if pages > 10000 {
			return nil, fmt.Errorf("asana %s: pagination did not end", path)
		}
		q.Set("offset", p.NextPage.Offset)
	}
}

// batch runs up to 10 actions in one request (Asana's /batch, no order
// among them) and returns their results in order.
func (t *Tracker) batch(ctx context.Context, actions []batchAction, idempotent bool) ([]batchResult, error) {
	var out one[[]batchResult]
	err := t.call(ctx, request{method: http.MethodPost, path: "/batch", body: map[string]any{"actions": actions},
		idempotent: idempotent, write: !idempotent}, dataShape("batch results"), &out)
	if err != nil {
		return nil, err
	}
	if len(out.Data) != len(actions) {
		b, _ := json.Marshal(out)
		return nil, rest.BadResponse(t.name, "POST /batch", http.StatusOK, b, fmt.Errorf("%d results for %d actions", len(out.Data), len(actions)))
	}
	return out.Data, nil
}

// batchTask decodes the task a 2xx batch result holds; a body without
// one is an ErrBadResponse naming the action, its status and its body.
func (t *Tracker) batchTask(a batchAction, r batchResult) (task, error) {
	var out one[task]
	err := rest.Decode(t.name, strings.ToUpper(a.Method)+" "+a.RelativePath+" (in /batch)", r.StatusCode, r.Body, recordShape("a task"), &out)
	return out.Data, err
}

// batchError is the error of one failed batch action.
func (t *Tracker) batchError(a batchAction, r batchResult) error {
	var eb errorBody
	_ = json.Unmarshal(r.Body, &eb)
	msg := ""
	if len(eb.Errors) > 0 {
		msg = eb.Errors[0].Message
	}
	return rest.Classify(t.name, strings.ToUpper(a.Method)+" "+a.RelativePath+" (in /batch)", r.StatusCode, http.Header{}, msg, rest.Policy{Clock: t.now})
}
