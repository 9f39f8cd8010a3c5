package main

import (
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"
	"gopkg.in/yaml.v3"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/config"
	"github.com/tracksync/tracksync/mapping"
	"github.com/tracksync/tracksync/migrate"
	"github.com/tracksync/tracksync/store"
	tsync "github.com/tracksync/tracksync/sync"
)

// migrateSpec is what a migration was started with, kept in the state
// store (key-value scope migrate:<id>, key spec) so --resume ID alone
// continues it.
type migrateSpec struct {
	From          string `json:"from"`
	To            string `json:"to"`
	Map           string `json:"map,omitempty"`
	Flow          string `json:"flow,omitempty"`
	Link          string `json:"link,omitempty"`
	Since         string `json:"since,omitempty"`
	Limit         int    `json:"limit,omitempty"`
	CommentSource bool   `json:"comment_source,omitempty"`
}

// splitEnd reads TRACKER[:SCOPE].
func splitEnd(s string) (string, string) {
	name, scope, _ := strings.Cut(s, ":")
	return name, scope
}

// migrationID names a migration by what it moves, so the same command
// again continues it.
func migrationID(sp migrateSpec) string {
	h := sha256.Sum256([]byte(sp.From + "\x00" + sp.To))
	return "m" + hex.EncodeToString(h[:5])
}

func (a *app) migrateCmd() *cobra.Command {
	var sp migrateSpec
	var resume, idMap string
	var dry, yes bool
	var yield float64
	cmd := &cobra.Command{
		Use:   "migrate --from TRACKER[:SCOPE] --to TRACKER[:SCOPE]",
		Short: "Copy every item of one tracker (or scope) into another once, with hierarchy, comments and references",
		Long: `Copy the items of one tracker into another once: hierarchy (parents first),
title, body, status, labels, assignees (through users), priority, due date,
custom fields by the map, comments in order under a line naming their author
and time, attachments left as links to the originals, and references to
other migrated items rewritten to their copies' keys. Each copy links back to
its source.

The fields, status, label and user maps are a flow's: --flow FLOW uses that
flow's, --map FILE a YAML file with a flow's fields: (and users:) keys;
without either, every field both trackers hold is copied, statuses by
category. An estimate (requests, time at the target's pace) is printed before
the first write; --dry-run stops there.

Every step is recorded in the state store: the same command again (or
--resume ID) continues an interrupted migration, makes no duplicate and, once
done, nothing at all. --link FLOW leaves each pair linked under that flow
with its base set, so the flow's first run writes nothing.

The trackers' rate limits are kept in the state store and shared with
tracksync serve on the same store: the migration takes only what leaves
--yield (default 0.3) of each limit's burst to live sync, so a running serve
comes first and the migration fills the gaps; both together never exceed
a limit. --yield 0 paces the migration on its own (no serve beside it).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if sp.Limit < 0 {
				// Not "no limit": a -5 meant as 5 would copy everything.
				return usageErr("--limit %d: want a number of items, 0 for all", sp.Limit)
			}
			ctx := cmd.Context()
			a.trackersOnly = true
			a.needsState = resume != ""
			if err := a.prepare(ctx, "", false); err != nil {
				return err
			}
			id := resume
			if resume != "" {
				raw, ok, err := a.st.GetKV(ctx, migrate.FlowName(resume), "spec")
				if err != nil {
					return fmt.Errorf("reading migration %s: %w", resume, err)
				}
				if !ok {
					return usageErr("--resume %s: no such migration in %s (its id is printed when it starts)", resume, a.cfg.State.DSN)
				}
				var old migrateSpec
				if err := json.Unmarshal([]byte(raw), &old); err != nil {
					return fmt.Errorf("reading migration %s: %w", resume, err)
				}
				if (sp.From != "" && sp.From != old.From) || (sp.To != "" && sp.To != old.To) {
					return usageErr("--resume %s: that migration is from %s to %s, not from %s to %s", resume, old.From, old.To, sp.From, sp.To)
				}
				link, cs := sp.Link, sp.CommentSource
				sp = old
				if link != "" {
					sp.Link = link
				}
				sp.CommentSource = sp.CommentSource || cs
			}
			if sp.From == "" || sp.To == "" {
				return usageErr("migrate needs --from and --to (TRACKER[:SCOPE]), or --resume ID")
			}
			if sp.Map != "" && sp.Flow != "" {
				return usageErr("--map and --flow both give the maps: use one")
			}
			if id == "" {
				id = migrationID(sp)
			}
			if yield > 0 && yield < 1 {
				// The trackers opened below pace their requests through
				// the state store's budget, as serve's do, and yield to
				// them: live sync first, the migration in the gaps.
				adapters.SetSharedRates(a.st)
				adapters.SetBackground(yield)
				defer func() {
					adapters.SetSharedRates(nil)
					adapters.SetBackground(0)
				}()
			} else if yield != 0 {
				return usageErr("--yield %v: want a share between 0 and 1 (0: do not yield)", yield)
			}
			o, err := a.migrateOptions(ctx, id, sp)
			if err != nil {
				return err
			}
			o.DryRun = dry
			interactive := isTerminal(a.stderr)
			o.Progress = newProgress(a.stderr, interactive)
			o.Estimated = func(est migrate.Estimate) error {
				if a.output == "text" {
					printEstimate(a.stdout, id, o, est)
				}
				if dry || !interactive || yes || est.Creates+est.Finish == 0 {
					return nil
				}
				fmt.Fprint(a.stderr, "Go ahead? [y/N] ")
				var answer string
				fmt.Fscanln(os.Stdin, &answer)
				if !strings.HasPrefix(strings.ToLower(answer), "y") {
					return &exitError{code: exitFailed, err: errors.New("stopped before the first write: nothing was written")}
				}
				return nil
			}
			if !dry {
				raw, _ := json.Marshal(sp)
				if err := a.st.PutKV(ctx, migrate.FlowName(id), "spec", string(raw)); err != nil {
					return fmt.Errorf("recording migration %s: %w", id, err)
				}
			}
			rep, err := migrate.Run(ctx, a.st, o)
			o.Progress.(*progress).done()
			if rep != nil && idMap != "" {
				if werr := writeIDMap(idMap, rep.IDMap); werr != nil && err == nil {
					err = werr
				}
			}
			if rep != nil {
				if a.output == "json" {
					if jerr := a.json(rep); jerr != nil && err == nil {
						err = jerr
					}
				} else {
					printReport(a.stdout, rep, idMap)
				}
			}
			if err != nil {
				return fmt.Errorf("%w (continue with: tracksync migrate --resume %s)", err, id)
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&sp.From, "from", "", "the source: TRACKER[:SCOPE] (a tracker name from the config; the scope as a flow's)")
	fl.StringVar(&sp.To, "to", "", "the target: TRACKER[:SCOPE]")
	fl.StringVar(&sp.Map, "map", "", "a YAML file with the field, status, label and user maps (a flow's fields: and users: keys)")
	fl.StringVar(&sp.Flow, "flow", "", "take the maps of this flow instead of --map")
	fl.StringVar(&sp.Link, "link", "", "hand the pairs over to this flow: linked, with bases, so its first run writes nothing")
	fl.StringVar(&sp.Since, "since", "", "only items updated on or after this date (YYYY-MM-DD)")
	fl.IntVar(&sp.Limit, "limit", 0, "only the first N items (parents first)")
	fl.BoolVar(&sp.CommentSource, "comment-source", false, "comment on each source item where its copy is")
	fl.BoolVar(&dry, "dry-run", false, "print the estimate and stop before the first write")
	fl.StringVar(&resume, "resume", "", "continue migration ID (the same command again does too)")
	fl.StringVar(&idMap, "id-map", "", "write the id map (source,target keys and URLs) to this CSV file")
	fl.BoolVarP(&yes, "yes", "y", false, "do not ask before the first write on a terminal")
	fl.Float64Var(&yield, "yield", 0.3, "share of each rate limit's burst left to live sync (serve on the same state store); 0: pace on its own")
	return cmd
}

// migrateOptions opens the trackers and compiles the map of a migration.
func (a *app) migrateOptions(ctx context.Context, id string, sp migrateSpec) (migrate.Options, error) {
	o := migrate.Options{ID: id, Logger: a.log, CommentOnSource: sp.CommentSource, Limit: sp.Limit}
	if sp.Since != "" {
		t, err := time.Parse("2006-01-02", sp.Since)
		if err != nil {
			return o, usageErr("--since %q: want a date, YYYY-MM-DD", sp.Since)
		}
		o.Since = t
	}
	fromName, fromScope := splitEnd(sp.From)
	toName, toScope := splitEnd(sp.To)
	cfg := a.cfg
	for _, n := range []string{fromName, toName} {
		if _, ok := cfg.Trackers[n]; !ok {
			return o, usageErr("no tracker %q in %s (trackers: %s)", n, cfg.Path, strings.Join(trackerNames(cfg), ", "))
		}
	}
	if fromName == toName && fromScope == toScope {
		return o, usageErr("--from and --to are the same tracker and scope: nothing to migrate")
	}
	for _, f := range []string{sp.Flow, sp.Link} {
		if f == "" {
			continue
		}
		found := false
		for _, fc := range cfg.Flows {
			found = found || fc.Name == f
		}
		if !found {
			return o, usageErr("no flow %q in %s (flows: %s)", f, cfg.Path, strings.Join(a.flowNames(), ", "))
		}
	}
	if sp.Map != "" {
		// The map file's fields and users become a flow of a copy of the
		// config, compiled like any flow.
		var err error
		if cfg, err = withMapFlow(a.cfg, sp.Map, fromName, toName); err != nil {
			return o, err
		}
	}
	fs, probs, err := tsync.OpenFlows(ctx, cfg, adapters.Default, a.log, "")
	if err != nil {
		return o, openFlowsErr(err)
	}
	if len(probs) > 0 {
		return o, &exitError{code: exitUsage, err: fmt.Errorf("%s does not fit its trackers:\n%s", cfg.Path, formatProblems(cfg, probs))}
	}
	open := func(name string) (adapters.Tracker, error) {
		if t, ok := fs.Trackers[name]; ok {
			return t, nil
		}
		tc := cfg.Trackers[name]
		t, err := adapters.Default.Open(ctx, name, tc.Kind, tc.Options, a.log, cfg.BaseDir())
		if err != nil {
			return nil, &exitError{code: exitUsage, err: fmt.Errorf("opening tracker %s: %w", name, err)}
		}
		fs.Trackers[name] = t
		return t, nil
	}
	from, err := open(fromName)
	if err != nil {
		return o, err
	}
	to, err := open(toName)
	if err != nil {
		return o, err
	}
	o.From = migrate.End{Tracker: from, Identity: mapping.TrackerIdentity(fromName, cfg.Trackers[fromName]), Scope: fromScope, Kind: cfg.Trackers[fromName].Kind, Pace: paceOf(from)}
	o.To = migrate.End{Tracker: to, Identity: mapping.TrackerIdentity(toName, cfg.Trackers[toName]), Scope: toScope, Kind: cfg.Trackers[toName].Kind, Pace: paceOf(to)}
	sideOf := func(f *tsync.Flow, what string) (store.Side, error) {
		switch {
		case f.Map.A.Tracker == fromName && f.Map.B.Tracker == toName:
			return store.SideA, nil
		case f.Map.B.Tracker == fromName && f.Map.A.Tracker == toName:
			return store.SideB, nil
		}
		return "", usageErr("%s %s links %s and %s, not %s and %s", what, f.Map.Name, f.Map.A.Tracker, f.Map.B.Tracker, fromName, toName)
	}
	switch {
	case sp.Flow != "":
		f := fs.ByName[sp.Flow]
		s, err := sideOf(f, "--flow")
		if err != nil {
			return o, err
		}
		o.Map, o.SourceSide = f.Map, s
	case sp.Map != "":
		o.Map, o.SourceSide = fs.ByName[mapFlowName].Map, store.SideA
	default:
		fc := migrate.DefaultFlow(fromName, toName, from.Capabilities(), to.Capabilities())
		ca, cb := from.Capabilities(), to.Capabilities()
		m, probs := mapping.Compile(fc, "migrate", cfg.Users, mapping.SideInfo{Name: fromName, Kind: o.From.Kind, Caps: &ca}, mapping.SideInfo{Name: toName, Kind: o.To.Kind, Caps: &cb})
		if len(probs) > 0 {
			return o, &exitError{code: exitUsage, err: fmt.Errorf("the default map from %s to %s does not compile:\n%s", fromName, toName, formatProblems(cfg, probs))}
		}
		o.Map, o.SourceSide = m, store.SideA
	}
	if sp.Link != "" {
		f := fs.ByName[sp.Link]
		s, err := sideOf(f, "--link")
		if err != nil {
			return o, err
		}
		o.Link = &migrate.HandOver{Map: f.Map, SourceSide: s}
	}
	return o, nil
}

const mapFlowName = "migrate-map"

// withMapFlow returns the config with one more flow, from -> to, whose
// fields (and users) come from the map file.
func withMapFlow(cfg *config.Config, mapFile, from, to string) (*config.Config, error) {
	raw, err := os.ReadFile(cfg.Path)
	if err != nil {
		return nil, fmt.Errorf("reading config: %w", err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("reading %s: %w", cfg.Path, err)
	}
	mraw, err := os.ReadFile(mapFile)
	if err != nil {
		return nil, usageErr("--map: %v", err)
	}
	var m map[string]any
	if err := yaml.Unmarshal(mraw, &m); err != nil {
		return nil, usageErr("--map %s: not YAML: %v", mapFile, err)
	}
	for k := range m {
		if k != "fields" && k != "users" {
			return nil, usageErr("--map %s: unknown key %q (a map file holds fields: and users:)", mapFile, k)
		}
	}
	if doc == nil {
		doc = map[string]any{}
	}
	if u, ok := m["users"].([]any); ok {
		old, _ := doc["users"].([]any)
		doc["users"] = append(old, u...)
	}
	flow := map[string]any{"name": mapFlowName, "a": map[string]any{"tracker": from}, "b": map[string]any{"tracker": to}, "direction": "a-to-b"}
	if f, ok := m["fields"]; ok {
		flow["fields"] = f
	}
	flows, _ := doc["flows"].([]any)
	doc["flows"] = append(flows, flow)
	out, err := yaml.Marshal(doc)
	if err != nil {
		return nil, err
	}
	c, err := config.Parse(out, cfg.Path, os.LookupEnv)
	if err != nil {
		return nil, usageErr("--map %s: %v", mapFile, err)
	}
	return c, nil
}

// paceOf is how fast a tracker takes writes, as its options say, for the
// estimate (adapters.WritePacer; none: no limit).
func paceOf(tr adapters.Tracker) migrate.Pace {
	wp, ok := tr.(adapters.WritePacer)
	if !ok {
		return migrate.Pace{}
	}
	w := wp.WritePace()
	p := migrate.Pace{PerSecond: w.PerSecond, Latency: w.Latency}
	for _, rw := range w.Windows {
		p.Windows = append(p.Windows, migrate.Window{Limit: rw.Limit, Per: rw.Per})
	}
	return p
}

func trackerNames(cfg *config.Config) []string {
	var out []string
	for n := range cfg.Trackers {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(interface{ Fd() uintptr })
	return ok && term.IsTerminal(int(f.Fd()))
}

func printEstimate(w io.Writer, id string, o migrate.Options, est migrate.Estimate) {
	how := "one create per item"
	if est.Bulk {
		how = "bulk creates"
	}
	fmt.Fprintf(w, "migration %s: %s → %s\n", id, o.From.Tracker.Name(), o.To.Tracker.Name())
	fmt.Fprintf(w, "  %d item(s) in scope, %d done earlier; %d to create (%s), %d to finish, %d comment(s) to copy\n", est.Items, est.Done, est.Creates, how, est.Finish, est.Comments)
	fmt.Fprintf(w, "  about %d write request(s); at %s's pace: %s\n", est.Requests, o.To.Tracker.Name(), est.ETA.Round(time.Second))
}

func printReport(w io.Writer, r *migrate.Report, idMap string) {
	c := r.Counts
	if r.DryRun {
		fmt.Fprintf(w, "dry run: nothing written (run again without --dry-run; id %s)\n", r.ID)
		return
	}
	fmt.Fprintf(w, "migration %s (run %d): %d created, %d found from an earlier run, %d finished, %d done earlier, %d updated, %d comment(s) copied, %d linked to the flow, %d write(s) in %s\n",
		r.ID, r.RunID, c.Created, c.Found, c.Finished, c.Done, c.Updates, c.Comments, c.Linked, c.Writes, r.Elapsed.Round(time.Millisecond))
	var kinds []string
	for k, n := range r.ByKind {
		kinds = append(kinds, fmt.Sprintf("%d %s", n, k))
	}
	sort.Strings(kinds)
	fmt.Fprintf(w, "  items: %s\n", strings.Join(kinds, ", "))
	if c.AttachmentLinks > 0 {
		fmt.Fprintf(w, "  attachments: %d left as links to the originals (files are not copied)\n", c.AttachmentLinks)
	}
	if len(r.Warnings) > 0 {
		var ks []string
		for k, n := range r.WarnKind {
			ks = append(ks, fmt.Sprintf("%s %d", k, n))
		}
		sort.Strings(ks)
		fmt.Fprintf(w, "  warnings: %s\n", strings.Join(ks, ", "))
		for i, wn := range r.Warnings {
			if i == 20 {
				fmt.Fprintf(w, "    ... and %d more (-o json lists them all)\n", len(r.Warnings)-20)
				break
			}
			fmt.Fprintf(w, "    %s %s: %s\n", wn.Kind, wn.Item, wn.Msg)
		}
	}
	if idMap != "" {
		fmt.Fprintf(w, "  id map: %s (%d pairs)\n", idMap, len(r.IDMap))
	}
}

func writeIDMap(path string, pairs []migrate.Pair) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("--id-map: %w", err)
	}
	cw := csv.NewWriter(f)
	cw.Write([]string{"source_key", "target_key", "source_url", "target_url", "source_id", "target_id"})
	for _, p := range pairs {
		cw.Write([]string{p.Source.Key, p.Target.Key, p.Source.URL, p.Target.URL, p.Source.ID, p.Target.ID})
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		f.Close()
		return fmt.Errorf("--id-map %s: %w", path, err)
	}
	return f.Close()
}

// progress shows a bar on a terminal and log lines elsewhere.
type progress struct {
	w       io.Writer
	tty     bool
	bar     *progressbar.ProgressBar
	phase   string
	total   int
	count   int
	lastLog time.Time
}

func newProgress(w io.Writer, tty bool) *progress {
	return &progress{w: w, tty: tty}
}

func (p *progress) Phase(name string, total int) {
	p.done()
	p.phase, p.total, p.count = name, total, 0
	if p.tty {
		max := total
		if max == 0 {
			max = -1
		}
		p.bar = progressbar.NewOptions(max, progressbar.OptionSetWriter(p.w), progressbar.OptionSetDescription(name),
			progressbar.OptionShowCount(), progressbar.OptionShowIts(), progressbar.OptionSetItsString("items"),
			progressbar.OptionSetPredictTime(true), progressbar.OptionThrottle(100*time.Millisecond))
		return
	}
	fmt.Fprintf(p.w, "%s: %s (%d)\n", time.Now().UTC().Format(time.TimeOnly), name, total)
}

func (p *progress) Add(n int) {
	p.count += n
	if p.bar != nil {
		p.bar.Add(n)
		return
	}
	if p.total > 0 && (time.Since(p.lastLog) > 5*time.Second || p.count == p.total) {
		p.lastLog = time.Now()
		fmt.Fprintf(p.w, "%s: %s %d/%d\n", time.Now().UTC().Format(time.TimeOnly), p.phase, p.count, p.total)
	}
}

// done ends the bar of the last phase.
func (p *progress) done() {
	if p.bar != nil {
		p.bar.Finish()
		fmt.Fprintln(p.w)
		p.bar = nil
	}
}
