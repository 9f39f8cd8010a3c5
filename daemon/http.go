package daemon

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/internal/redact"
)

func (d *Daemon) routes() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("POST /webhooks/{name}", redacted(d.webhook))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") })
	mux.Handle("GET /readyz", redacted(d.readyz))
	mux.Handle("GET /metrics", promhttp.HandlerFor(d.metrics.reg, promhttp.HandlerOpts{}))
	mux.Handle("GET /{$}", redacted(d.dashboard))
	mux.Handle("GET /rollups.json", redacted(d.rollupsJSON))
	mux.Handle("GET /status", redacted(d.status))
	return d.auth(mux)
}

// redacted passes every byte of an answer through redact.Global: run
// errors, tracker checks and read errors carry trackers' own messages,
// and a tracker may echo a credential in them. Metrics carry no text
// from trackers and are left alone.
func redacted(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h(&redactingWriter{ResponseWriter: w, out: redact.Global.Writer(w)}, r)
	})
}

type redactingWriter struct {
	http.ResponseWriter
	out io.Writer
}

func (w *redactingWriter) WriteHeader(code int) {
	// Redaction can change the length of the body.
	w.Header().Del("Content-Length")
	w.ResponseWriter.WriteHeader(code)
}

func (w *redactingWriter) Write(p []byte) (int, error) {
	w.Header().Del("Content-Length")
	return w.out.Write(p)
}

// auth requires the bearer token, when one is set, on every route but the
// webhooks, which are authenticated by their signatures.
func (d *Daemon) auth(next http.Handler) http.Handler {
	if d.cfg.Token == "" {
		return next
	}
	want := []byte("Bearer " + d.cfg.Token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/webhooks/") {
			next.ServeHTTP(w, r)
			return
		}
		ok := subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) == 1
		if _, pass, basic := r.BasicAuth(); basic && !ok {
			// Browsers (the dashboard) send the token as a password.
			ok = subtle.ConstantTimeCompare([]byte(pass), []byte(d.cfg.Token)) == 1
		}
		if !ok {
			w.Header().Add("WWW-Authenticate", `Bearer realm="tracksync"`)
			w.Header().Add("WWW-Authenticate", `Basic realm="tracksync dashboard (any user name, the server token as password)"`)
			http.Error(w, "a bearer token is required", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// tracker finds the tracker a webhook path names: a tracker name, or a
// kind when exactly one tracker has it (/webhooks/github).
func (d *Daemon) tracker(name string) (adapters.Tracker, string, error) {
	if t, ok := d.flows().Trackers[name]; ok {
		return t, name, nil
	}
	var found []string
	for n, kind := range d.flows().Kinds {
		if kind == name {
			found = append(found, n)
		}
	}
	switch len(found) {
	case 1:
		return d.flows().Trackers[found[0]], found[0], nil
	case 0:
		return nil, "", fmt.Errorf("no tracker named %q, and none of that kind", name)
	}
	return nil, "", fmt.Errorf("%d trackers are of kind %s (%s): use /webhooks/<tracker name>", len(found), name, strings.Join(found, ", "))
}

func (d *Daemon) webhook(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if d.draining.Load() {
		http.Error(w, "shutting down", http.StatusServiceUnavailable)
		return
	}
	tr, trName, err := d.tracker(name)
	if err != nil {
		d.metrics.webhooks.WithLabelValues(name, "unknown").Inc()
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	dec, ok := tr.(adapters.WebhookDecoder)
	if !ok {
		d.metrics.webhooks.WithLabelValues(trName, "unsupported").Inc()
		http.Error(w, "tracker "+trName+" does not take webhooks", http.StatusNotFound)
		return
	}
	// A handshake (Asana's X-Hook-Secret) opens deliveries: the tracker
	// decides whether it expected one and keeps what it carried.
	if hr, ok := tr.(adapters.HandshakeResponder); ok {
		answer, handled, err := hr.Handshake(r.Context(), r.Header)
		switch {
		case handled && errors.Is(err, adapters.ErrUnauthorized):
			d.metrics.webhooks.WithLabelValues(trName, "handshake_refused").Inc()
			d.log.Warn("webhook handshake refused", "tracker", trName, "err", err)
			http.Error(w, "handshake not expected", http.StatusUnauthorized)
			return
		case handled && err != nil:
			d.log.Error("webhook handshake failed", "tracker", trName, "err", err)
			http.Error(w, "handshake failed", http.StatusServiceUnavailable)
			return
		case handled:
			for k, vs := range answer {
				for _, v := range vs {
					w.Header().Add(k, v)
				}
			}
			d.metrics.webhooks.WithLabelValues(trName, "handshake").Inc()
			w.WriteHeader(http.StatusOK)
			return
		}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, d.cfg.MaxBody))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		d.metrics.webhooks.WithLabelValues(trName, "too_large").Inc()
		http.Error(w, fmt.Sprintf("body over %d bytes", d.cfg.MaxBody), http.StatusRequestEntityTooLarge)
		return
	}
	if err != nil {
		http.Error(w, "reading body: "+err.Error(), http.StatusBadRequest)
		return
	}
	// The decoder verifies the signature before it parses anything.
	events, err := dec.DecodeWebhook(r.Header, body)
	switch {
	case errors.Is(err, adapters.ErrUnauthorized):
		d.metrics.webhooks.WithLabelValues(trName, "bad_signature").Inc()
		http.Error(w, "signature does not match", http.StatusUnauthorized)
		return
	case err != nil:
		d.metrics.webhooks.WithLabelValues(trName, "malformed").Inc()
		http.Error(w, "malformed webhook: "+err.Error(), http.StatusBadRequest)
		return
	}
	// A redelivery, to this replica or another, is handled once.
	dup, claimed := d.seen(r.Context(), trName, events)
	if dup {
		d.metrics.webhooks.WithLabelValues(trName, "duplicate").Inc()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		json.NewEncoder(w).Encode(map[string]any{"events": 0, "duplicate": true})
		return
	}
	d.metrics.webhooks.WithLabelValues(trName, "accepted").Inc()
	if len(events) > 0 {
		d.kickRollups("")
	}
	var flows []string
	if len(events) > 0 {
		// Work happens in the job: the answer waits only for the job
		// to be recorded (a few store calls; senders wait 10s).
		ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
		defer cancel()
		for _, name := range d.flows().Order {
			f := d.flows().ByName[name]
			if f.A.Name() != trName && f.B.Name() != trName {
				continue
			}
			if err := d.Enqueue(ctx, name, "webhook"); err != nil {
				d.log.Error("webhook not enqueued", "flow", name, "err", err)
				// The tracker will retry with the same delivery id: it
				// must be handled then, not taken for a repeat.
				d.release(trName, tr, events, claimed)
				http.Error(w, "could not enqueue the sync", http.StatusServiceUnavailable)
				return
			}
			flows = append(flows, name)
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	json.NewEncoder(w).Encode(map[string]any{"events": len(events), "flows": flows})
}

func (d *Daemon) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	checks := map[string]string{}
	ok := true
	if err := d.cfg.Store.Ping(ctx); err != nil {
		checks["store"], ok = err.Error(), false
	} else {
		checks["store"] = "ok"
	}
	checks["config"] = fmt.Sprintf("ok: %d flow(s)", len(d.flows().Order))
	// Trackers report their last background check: a probe must not
	// spend the trackers' rate budget.
	d.mu.Lock()
	for name, t := range d.flows().Trackers {
		last, checked := d.checks[name]
		switch _, is := t.(adapters.Checker); {
		case !is:
			checks["tracker "+name] = "no check"
		case !checked:
			checks["tracker "+name], ok = "not checked yet", false
		case last.err != nil:
			checks["tracker "+name], ok = fmt.Sprintf("%v (checked %s ago)", last.err, time.Since(last.at).Round(time.Second)), false
		default:
			checks["tracker "+name] = fmt.Sprintf("ok (checked %s ago)", time.Since(last.at).Round(time.Second))
		}
	}
	if d.peers != "" {
		checks["replicas"], ok = d.peers, false
	}
	d.mu.Unlock()
	if ages, err := d.ages(ctx); err != nil {
		checks["flows"], ok = err.Error(), false
	} else if late := overdueNames(ages); len(late) > 0 {
		checks["flows"], ok = "overdue: "+strings.Join(late, "; "), false
	} else {
		checks["flows"] = "ok: none overdue"
	}
	if d.draining.Load() {
		checks["daemon"], ok = "shutting down", false
	}
	w.Header().Set("Content-Type", "application/json")
	if !ok {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	json.NewEncoder(w).Encode(map[string]any{"ready": ok, "checks": checks})
}

// status is a small JSON page: each flow and its latest runs.
func (d *Daemon) status(w http.ResponseWriter, r *http.Request) {
	type flow struct {
		Name     string `json:"name"`
		A        string `json:"a"`
		B        string `json:"b"`
		Schedule string `json:"schedule"`
		Runs     any    `json:"recent_runs"`
		Drift    any    `json:"drift_check,omitempty"` // the latest scheduled `tracksync check`
	}
	var out []flow
	for _, name := range d.flows().Order {
		f := d.flows().ByName[name]
		runs, err := d.cfg.Store.ListRuns(r.Context(), name, 5)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		fl := flow{Name: name, A: f.A.Name(), B: f.B.Name(), Schedule: f.Map.Schedule, Runs: runs}
		if st := d.driftOf(name); st != nil {
			fl.Drift = st
		}
		out = append(out, fl)
	}
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(map[string]any{"flows": out})
}

// release forgets the deliveries of events, in the store (the ids this
// request claimed there) and in the tracker's decoder, after the request
// failed to act on them: the tracker's retry is then handled as new. A
// store that cannot forget is logged; the delivery is then dropped as a
// repeat and its change waits for the next scheduled or full run.
func (d *Daemon) release(tracker string, tr adapters.Tracker, events []adapters.Event, claimed []string) {
	if rel, ok := tr.(adapters.DeliveryReleaser); ok {
		for _, e := range events {
			rel.ReleaseDelivery(e.DeliveryID)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	for _, id := range claimed {
		if err := d.cfg.Store.ForgetDelivery(ctx, tracker, id); err != nil {
			d.log.Warn("webhook delivery not forgotten; a retry of it will be taken for a repeat", "tracker", tracker, "delivery", id, "err", err)
		}
	}
}

// seen reports whether every delivery id among events was seen before, by
// any replica (the store remembers them for a day), and which ids this
// call recorded first. Events without ids, and a store that cannot
// answer, count as new: a sync too many is harmless, a lost one is not.
func (d *Daemon) seen(ctx context.Context, tracker string, events []adapters.Event) (dup bool, claimed []string) {
	ids := map[string]bool{}
	anonymous := false
	for _, e := range events {
		if e.DeliveryID == "" {
			anonymous = true
		} else {
			ids[e.DeliveryID] = true
		}
	}
	if len(ids) == 0 {
		return false, nil
	}
	all := true
	for id := range ids {
		first, err := d.cfg.Store.SeenDelivery(ctx, tracker, id, deliveryKeep)
		if err != nil {
			d.log.Warn("webhook delivery id not checked; handled as new", "tracker", tracker, "err", err)
			return false, claimed
		}
		if first {
			all = false
			claimed = append(claimed, id)
		}
	}
	return all && !anonymous, claimed
}
