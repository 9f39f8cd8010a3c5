package roadmap

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/tracksync/tracksync/adapters"
)

// errChangedOnDisk says the file changed between our read and our write.
// It wraps adapters.ErrConflict: re-reading and trying again is the fix.
var errChangedOnDisk = fmt.Errorf("the roadmap file changed while it was being written: %w", adapters.ErrConflict)

// readFile reads the roadmap and its modification time.
func readFile(path string) ([]byte, time.Time, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("reading roadmap %s: %w", path, err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("reading roadmap %s: %w", path, err)
	}
	if !info.Mode().IsRegular() {
		return nil, time.Time{}, fmt.Errorf("reading roadmap %s: not a regular file", path)
	}
	var b bytes.Buffer
	if _, err := b.ReadFrom(f); err != nil {
		return nil, time.Time{}, fmt.Errorf("reading roadmap %s: %w", path, err)
	}
	return b.Bytes(), info.ModTime(), nil
}

// writeFile replaces the file at path with data atomically: a temporary
// file in the same folder, synced, given the original's permissions, then
// renamed over it, so a reader (git, an editor, another tracksync) sees
// the old file or the new one and never half of one. A file tracksync may
// not write (read-only) is refused, not replaced. A symlinked path is
// written through to its target. If the file no longer holds was (a PM
// saved in the meantime), nothing is written and the error is
// errChangedOnDisk.
func writeFile(path string, data, was []byte) (err error) {
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		return fmt.Errorf("writing roadmap %s: %w", path, err)
	}
	info, err := os.Stat(real)
	if err != nil {
		return fmt.Errorf("writing roadmap %s: %w", path, err)
	}
	// Renaming over the file needs only the folder's write permission, so
	// a file made read-only (chmod a-w, a protected checkout) would be
	// replaced anyway: check the file's own permission first.
	if info.Mode().Perm()&0o222 == 0 {
		return fmt.Errorf("writing roadmap %s: the file is read-only: %w", path, os.ErrPermission)
	}
	wf, err := os.OpenFile(real, os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("writing roadmap %s: %w", path, err)
	}
	wf.Close()
	dir, base := filepath.Split(real)
	tmp, err := os.CreateTemp(dir, "."+base+".tracksync-*")
	if err != nil {
		return fmt.Errorf("writing roadmap %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err = tmp.Write(data); err != nil {
		return fmt.Errorf("writing roadmap %s: %w", path, err)
	}
	if err = tmp.Chmod(info.Mode().Perm()); err != nil {
		return fmt.Errorf("writing roadmap %s: keeping its permissions: %w", path, err)
	}
	if err = tmp.Sync(); err != nil {
		return fmt.Errorf("writing roadmap %s: %w", path, err)
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("writing roadmap %s: %w", path, err)
	}
	now, err := os.ReadFile(real)
	if err != nil {
		return fmt.Errorf("writing roadmap %s: %w", path, err)
	}
	if !bytes.Equal(now, was) {
		err = errChangedOnDisk
		return fmt.Errorf("writing roadmap %s: %w", path, err)
	}
	if err = os.Rename(tmp.Name(), real); err != nil {
		return fmt.Errorf("writing roadmap %s: %w", path, err)
	}
	// Make the rename itself durable; not every platform can sync a folder.
	if d, derr := os.Open(dir); derr == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}
