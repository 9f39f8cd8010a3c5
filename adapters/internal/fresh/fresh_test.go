package fresh

import (
	"fmt"
	"testing"
	"time"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func TestTakeWithinWindowOnce(t *testing.T) {
	c := &clock{t: time.Unix(1000, 0)}
	r := New[string](time.Second, c.now)
	r.Put("v1", "10001", "PLAT-1")
	c.t = c.t.Add(500 * time.Millisecond)
	if v, ok := r.Take("PLAT-1"); !ok || v != "v1" {
		t.Fatalf("Take by key within the window = %q, %v; want v1", v, ok)
	}
	if _, ok := r.Take("10001"); ok {
		t.Error("a read served a second write (by its other name)")
	}
}

func TestTakeAfterWindow(t *testing.T) {
	c := &clock{t: time.Unix(1000, 0)}
	r := New[string](time.Second, c.now)
	r.Put("v1", "a")
	c.t = c.t.Add(time.Second)
	if _, ok := r.Take("a"); ok {
		t.Error("a read a whole window old was taken")
	}
}

func TestForget(t *testing.T) {
	c := &clock{t: time.Unix(1000, 0)}
	r := New[string](time.Second, c.now)
	r.Put("v1", "10001", "PLAT-1")
	r.Put("v2", "10002", "PLAT-2")
	r.Forget("10001") // a write named the issue by id
	if _, ok := r.Take("PLAT-1"); ok {
		t.Error("a read of an item written since was taken by its other name")
	}
	if v, ok := r.Take("PLAT-2"); !ok || v != "v2" {
		t.Errorf("another item's read = %q, %v; want v2", v, ok)
	}
	r.Put("v3", "10003")
	r.ForgetAll()
	if _, ok := r.Take("10003"); ok {
		t.Error("a read survived ForgetAll")
	}
}

func TestPutReplacesAndBounds(t *testing.T) {
	c := &clock{t: time.Unix(1000, 0)}
	r := New[int](time.Second, c.now)
	r.Put(1, "a", "b")
	r.Put(2, "a") // a newer read under one name leaves no stale one under the other
	if _, ok := r.Take("b"); ok {
		t.Error("the older read stayed under its other name")
	}
	if v, ok := r.Take("a"); !ok || v != 2 {
		t.Errorf("Take(a) = %d, %v; want the newer read", v, ok)
	}
	for i := range maxEntries + 10 {
		r.Put(i, fmt.Sprint(i))
	}
	if n := len(r.m); n > maxEntries {
		t.Errorf("%d entries, want at most %d", n, maxEntries)
	}
	var nilReads *Reads[int]
	nilReads.Put(1, "x")
	if _, ok := nilReads.Take("x"); ok {
		t.Error("a nil Reads remembered")
	}
}
