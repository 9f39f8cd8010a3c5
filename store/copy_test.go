package store

import (
	"testing"
	"time"

	"github.com/tracksync/tracksync/adapters"
)

func sampleDump() *Dump {
	return &Dump{
		Links: []Link{{ID: 2, Flow: "f", Key: "k", A: adapters.Ref{Tracker: "jira", ID: "1"}, B: adapters.Ref{Tracker: "github", ID: "2"},
			CreatedAt: time.Unix(1, 5), UpdatedAt: time.Unix(2, 0)}, {ID: 1, Flow: "f"}},
		Bases:        []Base{{LinkID: 1, A: map[string]string{"t": "\x00unknown"}, B: map[string]string{}}},
		CommentLinks: []CommentLink{{LinkID: 2, AID: "b"}, {LinkID: 1, AID: "z"}, {LinkID: 2, AID: "a"}},
		Runs:         []Run{{ID: 1, Counts: Counts{Created: 3}}},
		KV:           []KV{{Scope: "s", Key: "b"}, {Scope: "s", Key: "a"}},
	}
}

// TestDumpChecksum: every field counts, byte for byte; order does not
// once sorted, except comment links' order within a link.
func TestDumpChecksum(t *testing.T) {
	base := sampleDump()
	base.Sort()
	sum := base.Checksum()
	again := sampleDump()
	again.Sort()
	if again.Checksum() != sum {
		t.Fatal("checksum of equal dumps differs")
	}
	changes := map[string]func(d *Dump){
		"one byte of a value":         func(d *Dump) { d.Bases[0].A["t"] = "\x00unknowN" },
		"nil map for an empty one":    func(d *Dump) { d.Bases[0].B = nil },
		"a nanosecond":                func(d *Dump) { d.Links[1].CreatedAt = d.Links[1].CreatedAt.Add(1) },
		"a ref's url":                 func(d *Dump) { d.Links[1].A.URL = "u" },
		"a count":                     func(d *Dump) { d.Runs[0].Counts.Created = 4 },
		"comment order within a link": func(d *Dump) { d.CommentLinks[1], d.CommentLinks[2] = d.CommentLinks[2], d.CommentLinks[1] },
		"a kv value":                  func(d *Dump) { d.KV[0].Value = " " },
	}
	for name, change := range changes {
		d := sampleDump()
		d.Sort()
		change(d)
		if d.Checksum() == sum {
			t.Errorf("%s: checksum unchanged", name)
		}
	}
	if got := base.Counts(); got["links"] != 2 || got["comment_links"] != 3 || got["kv"] != 2 || len(got) != len(CopyKinds) {
		t.Errorf("Counts = %v", got)
	}
	if base.CommentLinks[0].AID != "z" || base.CommentLinks[1].AID != "b" || base.CommentLinks[2].AID != "a" {
		t.Errorf("Sort reordered comment links within a link: %+v", base.CommentLinks)
	}
}

// TestChecksumRepairsErrorsOnly: an error message compares as the text a
// PostgreSQL store keeps of it; a value does not.
func TestChecksumRepairsErrorsOnly(t *testing.T) {
	a := &Dump{Journal: []JournalEntry{{ID: 1, Error: "HTTP 400: Ung\xc3"}}}
	b := &Dump{Journal: []JournalEntry{{ID: 1, Error: "HTTP 400: Ung\uFFFD"}}}
	if a.Checksum() != b.Checksum() {
		t.Error("an error message cut mid-character and its repaired text differ")
	}
	c := &Dump{Bases: []Base{{LinkID: 1, A: map[string]string{"t": "Ung\xc3"}}}}
	d := &Dump{Bases: []Base{{LinkID: 1, A: map[string]string{"t": "Ung\uFFFD"}}}}
	if c.Checksum() == d.Checksum() {
		t.Error("a field value's bytes were repaired before comparing")
	}
}
