package sync

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/config"
	"github.com/tracksync/tracksync/mapping"
)

// Flows are the opened flows of a config, in config order, with the
// trackers they use (each opened once, shared between flows).
type Flows struct {
	ByName   map[string]*Flow
	Order    []string
	Trackers map[string]adapters.Tracker
	Kinds    map[string]string // tracker name -> kind, as configured
}

// OpenFlows opens the trackers of cfg's flows (only the flow named only,
// when set) and compiles each flow against its trackers' capabilities.
// Problems (a status the tracker lacks, a field it cannot hold) come back
// as config problems with their key paths; err is for a tracker that
// cannot be opened at all.
func OpenFlows(ctx context.Context, cfg *config.Config, reg *adapters.Registry, log *slog.Logger, only string) (*Flows, []config.Problem, error) {
	fs := &Flows{ByName: map[string]*Flow{}, Trackers: map[string]adapters.Tracker{}, Kinds: map[string]string{}}
	open := func(name string) (adapters.Tracker, error) {
		if t, ok := fs.Trackers[name]; ok {
			return t, nil
		}
		tc, ok := cfg.Trackers[name]
		if !ok {
			return nil, fmt.Errorf("no tracker %q in the config", name)
		}
		t, err := reg.Open(ctx, name, tc.Kind, tc.Options, log, cfg.BaseDir())
		if err != nil {
			return nil, fmt.Errorf("opening tracker %s: %w", name, err)
		}
		fs.Trackers[name], fs.Kinds[name] = t, tc.Kind
		return t, nil
	}
	var probs []config.Problem
	for i, fc := range cfg.Flows {
		if only != "" && fc.Name != only {
			continue
		}
		ta, err := open(fc.A.Tracker)
		if err != nil {
			return nil, nil, err
		}
		tb, err := open(fc.B.Tracker)
		if err != nil {
			return nil, nil, err
		}
		ca, cb := ta.Capabilities(), tb.Capabilities()
		m, ps := mapping.Compile(fc, fmt.Sprintf("flows[%d]", i), cfg.Users,
			mapping.SideInfo{Name: fc.A.Tracker, Kind: cfg.Trackers[fc.A.Tracker].Kind, Caps: &ca},
			mapping.SideInfo{Name: fc.B.Tracker, Kind: cfg.Trackers[fc.B.Tracker].Kind, Caps: &cb})
		probs = append(probs, ps...)
		if len(ps) == 0 {
			fs.ByName[fc.Name] = &Flow{Map: m, A: ta, B: tb, Identity: [2]string{
				mapping.TrackerIdentity(fc.A.Tracker, cfg.Trackers[fc.A.Tracker]),
				mapping.TrackerIdentity(fc.B.Tracker, cfg.Trackers[fc.B.Tracker]),
			}}
			fs.Order = append(fs.Order, fc.Name)
		}
	}
	return fs, probs, nil
}
