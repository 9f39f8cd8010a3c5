package main

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tracksync/tracksync/store"
)

func (a *app) storeCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "store",
		Short: "Work on state stores themselves (copy one into another)",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(a.storeCopyCmd())
	return cmd
}

func (a *app) storeCopyCmd() *cobra.Command {
	var from, to string
	var force bool
	cmd := &cobra.Command{
		Use:   "copy --from sqlite:FILE --to postgres://USER@HOST/DB",
		Short: "Copy an installation's state into another store, verified by counts and a checksum",
		Long: `Copies links, bases, comment links, cursors, the journal, conflicts,
runs, roll-up snapshots, the trackers' key-value pairs, flow generations
and outbox events, with their ids and times, then reads the target back
and compares counts and a checksum. Stop every tracksync process on the
source first. A target that holds state is refused unless --force, which
replaces what it holds. Leases, webhook delivery ids, rate budgets and
outbox claims are not copied.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			secrets := append(dsnSecrets(from), dsnSecrets(to)...)
			redact := func(err error) error {
				msg := err.Error()
				for _, s := range secrets {
					msg = strings.ReplaceAll(msg, s, "xxxxx")
				}
				code := exitFailed
				var ee *exitError
				if errors.As(err, &ee) {
					code = ee.code
				}
				if errors.Is(err, store.ErrNotEmpty) {
					code = exitUsage
				}
				return &exitError{code: code, err: errors.New(msg)}
			}
			if from == "" || to == "" {
				return usageErr("store copy needs --from and --to (e.g. --from sqlite:tracksync.db --to postgres://tracksync@db/tracksync)")
			}
			fromDriver, fromDSN, err := parseStoreArg("--from", from)
			if err != nil {
				return redact(err)
			}
			toDriver, toDSN, err := parseStoreArg("--to", to)
			if err != nil {
				return redact(err)
			}
			if fromDriver == "sqlite" {
				// Opening a missing file would make an empty store and copy nothing.
				if _, err := os.Stat(fromDSN); err != nil {
					return usageErr("--from: %v", err)
				}
			}
			src, err := store.Open(ctx, fromDriver, fromDSN, store.Options{})
			if err != nil {
				return redact(fmt.Errorf("--from: %w", err))
			}
			defer src.Close()
			dst, err := store.Open(ctx, toDriver, toDSN, store.Options{})
			if err != nil {
				return redact(fmt.Errorf("--to: %w", err))
			}
			defer dst.Close()
			res, err := store.Copy(ctx, src, dst, force, a.stderr)
			if err != nil {
				return redact(err)
			}
			if a.output == "json" {
				return a.json(map[string]any{"from": describeStore(src), "to": describeStore(dst), "counts": res.Counts, "checksum": res.Checksum})
			}
			parts := make([]string, 0, len(store.CopyKinds))
			for _, k := range store.CopyKinds {
				parts = append(parts, fmt.Sprintf("%d %s", res.Counts[k], strings.ReplaceAll(k, "_", " ")))
			}
			fmt.Fprintf(a.stdout, "copied %s\n  from %s\n  to   %s\nverified: counts match, checksum sha256:%s\n",
				strings.Join(parts, ", "), describeStore(src), describeStore(dst), res.Checksum)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&from, "from", "", "source store: sqlite:FILE, postgres://… or DRIVER:DSN")
	f.StringVar(&to, "to", "", "target store: postgres://…, sqlite:FILE or DRIVER:DSN")
	f.BoolVar(&force, "force", false, "replace what the target holds")
	return cmd
}

// parseStoreArg reads DRIVER:DSN; a postgres:// or postgresql:// URL
// names its driver itself.
func parseStoreArg(flag, arg string) (driver, dsn string, err error) {
	if strings.HasPrefix(arg, "postgres://") || strings.HasPrefix(arg, "postgresql://") {
		return "postgres", arg, nil
	}
	driver, dsn, ok := strings.Cut(arg, ":")
	if !ok || dsn == "" {
		return "", "", usageErr("%s %q: want DRIVER:DSN (sqlite:FILE) or a postgres:// URL", flag, arg)
	}
	if !slices.Contains(store.Drivers(), driver) {
		return "", "", usageErr("%s: %v", flag, &store.UnknownDriverError{Driver: driver, Known: store.Drivers()})
	}
	return driver, dsn, nil
}

// dsnSecrets returns the password of a URL DSN, to keep out of messages.
func dsnSecrets(arg string) []string {
	u, err := url.Parse(arg)
	if err != nil {
		return nil
	}
	var out []string
	if u.User != nil {
		if pw, ok := u.User.Password(); ok && pw != "" {
			out = append(out, pw)
		}
	}
	if pw := u.Query().Get("password"); pw != "" {
		out = append(out, pw)
	}
	return out
}

func describeStore(s store.Store) string {
	if d, ok := s.(store.Describer); ok {
		return d.Describe()
	}
	return fmt.Sprintf("%T", s)
}
