package roadmap

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tracksync/tracksync/adapters"
)

// TestWriteFileRefusesWhenChangedOnDisk: if the file no longer holds what
// the change was computed from (a PM saved meanwhile), nothing is written
// and no temporary file is left behind.
func TestWriteFileRefusesWhenChangedOnDisk(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "roadmap.yaml")
	if err := os.WriteFile(path, []byte("initiatives: []  # saved by a PM\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	err := writeFile(path, []byte("initiatives: []\n# ours\n"), []byte("initiatives: []\n"))
	if !errors.Is(err, errChangedOnDisk) || !errors.Is(err, adapters.ErrConflict) {
		t.Errorf("writeFile over a changed file: %v, want errChangedOnDisk (an ErrConflict)", err)
	}
	got, _ := os.ReadFile(path)
	if string(got) != "initiatives: []  # saved by a PM\n" {
		t.Errorf("the PM's save was overwritten: %q", got)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("%d files in the folder, want only roadmap.yaml: a temp file was left", len(entries))
	}
	// And when it has not changed, the write lands with the mode kept.
	if err := writeFile(path, []byte("initiatives: []\n"), got); err != nil {
		t.Fatal(err)
	}
	if info, _ := os.Stat(path); info.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", info.Mode().Perm())
	}
}

// TestWriteRefusesReadOnlyFile: a roadmap file made read-only (chmod a-w,
// a protected checkout) is not written: the atomic rename would replace
// it anyway, since renaming needs only the folder's write permission.
// The write fails naming the file, and the file and folder are untouched.
func TestWriteRefusesReadOnlyFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "roadmap.yaml")
	const src = "initiatives:\n  - key: INIT-1\n    status: planned\n"
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o444); err != nil {
		t.Fatal(err)
	}
	tr, err := New("plan", Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	_, err = tr.Update(t.Context(), adapters.Ref{ID: "INIT-1"}, adapters.Patch{Fields: []string{adapters.FieldStatus}, Item: adapters.Item{Status: "done"}})
	if err == nil || !errors.Is(err, os.ErrPermission) || !strings.Contains(err.Error(), path) {
		t.Errorf("Update of a read-only roadmap: %v, want a permission error naming %s", err, path)
	}
	if got, _ := os.ReadFile(path); string(got) != src {
		t.Errorf("the read-only file was replaced:\n%s", got)
	}
	if info, _ := os.Stat(path); info.Mode().Perm() != 0o444 {
		t.Errorf("mode %v, want 0444", info.Mode().Perm())
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("%d files in the folder, want only roadmap.yaml", len(entries))
	}
}
