package store

import (
	"context"

	"github.com/tracksync/tracksync/adapters"
)

// TrackerKV is tracker's key-value space in the store, as an adapter sees
// it (adapters.KV): what a tracker must keep across restarts and share
// between replicas, such as the secret an Asana webhook handshake carried.
func TrackerKV(ops Ops, tracker string) adapters.KV { return trackerKV{ops: ops, scope: tracker} }

type trackerKV struct {
	ops   Ops
	scope string
}

func (k trackerKV) Get(ctx context.Context, key string) (string, bool, error) {
	return k.ops.GetKV(ctx, k.scope, key)
}

func (k trackerKV) Put(ctx context.Context, key, value string) error {
	return k.ops.PutKV(ctx, k.scope, key, value)
}

// GiveKV hands each tracker that keeps state (adapters.KVUser) its space
// in ops, keyed by the tracker's configured name.
func GiveKV(ops Ops, trackers map[string]adapters.Tracker) {
	for name, t := range trackers {
		if u, ok := t.(adapters.KVUser); ok {
			u.SetKV(TrackerKV(ops, name))
		}
	}
}
