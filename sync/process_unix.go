//go:build unix

package sync

import (
	"errors"
	"syscall"
)

// processGone reports whether no process pid runs on this host. Signal 0
// checks without signalling; EPERM means it runs under another user.
func processGone(pid int) bool {
	return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}
