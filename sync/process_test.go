package sync

import (
	"os"
	"os/exec"
	"testing"
)

// TestProcessGone: this process runs; a child that has exited and been
// reaped does not (its pid is not reused this quickly on any supported OS).
func TestProcessGone(t *testing.T) {
	if processGone(os.Getpid()) {
		t.Fatal("processGone(own pid) = true")
	}
	child := exec.Command(os.Args[0], "-test.run=^$")
	if err := child.Run(); err != nil {
		t.Fatalf("running a child test binary: %v", err)
	}
	if !processGone(child.Process.Pid) {
		t.Errorf("processGone(%d) = false for a child that exited", child.Process.Pid)
	}
}
