// Package fresh remembers an adapter's reads of single items for a moment,
// so that a conditional write right after a read (the engine reads a
// pair's counterpart, decides, then updates it with IfVersion set to the
// version it read) need not read the item again to check that version.
//
// Neither Jira nor GitHub has a conditional write, so an adapter checks
// IfVersion against a read of its own just before it writes; the window
// in which someone else's edit goes unseen is that read's round trip.
// Taking the engine's read instead widens the window to the time between
// the two, which Window bounds (a second by default): past it, or after
// any write through the adapter that may have touched the item, the
// adapter reads again. A propagated change costs one request less.
package fresh

import (
	"sync"
	"time"
)

// DefaultWindow is how long a read stands in for a fresh one.
const DefaultWindow = time.Second

// maxEntries bounds the memory: past it, entries older than the window
// are dropped, and if that is not enough, all of them.
const maxEntries = 4096

// Reads holds recent reads of type T by the names an item goes by (an
// id, a key). The zero value is not usable; make one with New.
type Reads[T any] struct {
	window time.Duration
	now    func() time.Time

	mu sync.Mutex
	m  map[string]*entry[T]
}

type entry[T any] struct {
	v     T
	at    time.Time
	names []string
}

// New makes a Reads whose entries stand for window (DefaultWindow when
// zero), on the clock now (time.Now when nil).
func New[T any](window time.Duration, now func() time.Time) *Reads[T] {
	if window <= 0 {
		window = DefaultWindow
	}
	if now == nil {
		now = time.Now
	}
	return &Reads[T]{window: window, now: now, m: map[string]*entry[T]{}}
}

// Put remembers v, just read, under each of names (empty names are
// skipped), replacing what they held.
func (r *Reads[T]) Put(v T, names ...string) {
	if r == nil {
		return
	}
	now := r.now()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.m) >= maxEntries {
		for k, e := range r.m {
			if now.Sub(e.at) >= r.window {
				delete(r.m, k)
			}
		}
		if len(r.m) >= maxEntries {
			clear(r.m)
		}
	}
	e := &entry[T]{v: v, at: now}
	for _, n := range names {
		if n != "" {
			r.forgetLocked(n)
			e.names = append(e.names, n)
			r.m[n] = e
		}
	}
}

// Take returns the read remembered under name if it is younger than the
// window, and forgets it under all its names: a read serves one write.
func (r *Reads[T]) Take(name string) (T, bool) {
	var zero T
	if r == nil || name == "" {
		return zero, false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	e, ok := r.m[name]
	if !ok {
		return zero, false
	}
	r.forgetLocked(name)
	if r.now().Sub(e.at) >= r.window {
		return zero, false
	}
	return e.v, true
}

// Forget drops the read remembered under name, under all its names: a
// write touched the item.
func (r *Reads[T]) Forget(name string) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.forgetLocked(name)
}

// ForgetAll drops every read: a write whose items are not known.
func (r *Reads[T]) ForgetAll() {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	clear(r.m)
}

func (r *Reads[T]) forgetLocked(name string) {
	if e, ok := r.m[name]; ok {
		for _, n := range e.names {
			if r.m[n] == e {
				delete(r.m, n)
			}
		}
	}
}
