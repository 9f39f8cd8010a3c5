package daemon

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/tracksync/tracksync/adapters"
)

// registerRetry is how long a failed webhook registration waits before Run
// tries it again.
const registerRetry = 5 * time.Minute

// RegisterWebhooks asks every tracker that registers its own webhooks
// (adapters.WebhookRegistrar: Asana) to deliver to base + /webhooks/<name>,
// creating what is missing (it is idempotent). base is where the trackers
// reach this daemon, e.g. https://tracksync.acme.com. Call it once the
// daemon serves (or will: a handshake waits in the bound listener's
// queue), since a registration's handshake comes back to this daemon.
// It returns every tracker's failure, each naming the tracker.
func (d *Daemon) RegisterWebhooks(ctx context.Context, base string) error {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("registering webhooks: public URL %q is not an http(s) URL", base)
	}
	base = strings.TrimRight(base, "/")
	fs := d.flows()
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(fs.Trackers)) {
		r, ok := fs.Trackers[name].(adapters.WebhookRegistrar)
		if !ok {
			continue
		}
		target := base + "/webhooks/" + url.PathEscape(name)
		if err := r.EnsureWebhooks(ctx, target); err != nil {
			errs = append(errs, fmt.Errorf("registering webhooks of tracker %s at %s: %w", name, target, err))
			continue
		}
		d.log.Info("webhooks registered", "tracker", name, "target", target)
	}
	return errors.Join(errs...)
}

// registerLoop registers webhooks at Config.PublicURL, again every
// registerRetry until every tracker has succeeded (a tracker that is down
// at start-up is polled meanwhile, as without webhooks).
func (d *Daemon) registerLoop(ctx context.Context) {
	for {
		err := d.RegisterWebhooks(ctx, d.cfg.PublicURL)
		if err == nil || ctx.Err() != nil {
			return
		}
		d.log.Warn("webhook registration failed; polling covers the gap, retrying", "in", registerRetry, "error", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(registerRetry):
		}
	}
}
