package sandbox

import (
	"context"
	"os"
	"testing"
)

// TestStartFailureCleansUp: a start that fails (here: cancelled before the
// fakes could be seeded) stops the fakes and removes the temporary folder
// it made.
func TestStartFailureCleansUp(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	sb, err := Start(ctx, "")
	if err == nil {
		sb.Close()
		t.Fatal("Start with a cancelled context succeeded; the test needs a failing start")
	}
	left, rerr := os.ReadDir(tmp)
	if rerr != nil {
		t.Fatal(rerr)
	}
	for _, e := range left {
		t.Errorf("a failed start left %s behind in the temp folder", e.Name())
	}
}

// TestStartFailureKeepsNamedDir: a folder the caller named is the
// caller's; a failed start does not remove it.
func TestStartFailureKeepsNamedDir(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if sb, err := Start(ctx, dir); err == nil {
		sb.Close()
		t.Fatal("Start with a cancelled context succeeded")
	}
	if _, err := os.Stat(dir); err != nil {
		t.Errorf("the named folder is gone: %v", err)
	}
}
