package roadmap

import (
	"errors"
	"os"
	"path/filepath"
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
