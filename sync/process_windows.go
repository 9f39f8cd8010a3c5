//go:build windows

package sync

import (
	"errors"
	"syscall"
)

const (
	// processQueryLimitedInformation is PROCESS_QUERY_LIMITED_INFORMATION,
	// the least access that reads an exit code (not in package syscall).
	processQueryLimitedInformation = 0x1000
	// stillActive is STILL_ACTIVE, the exit code of a running process.
	stillActive = 259
	// errorInvalidParameter is ERROR_INVALID_PARAMETER, OpenProcess's
	// answer for a pid no process has.
	errorInvalidParameter syscall.Errno = 87
)

// processGone reports whether no process pid runs on this host. Windows
// answers ERROR_INVALID_PARAMETER for a pid that names no process; a
// process that exited but is still held open reports its exit code. Any
// other failure (access denied) means something runs there.
func processGone(pid int) bool {
	h, err := syscall.OpenProcess(processQueryLimitedInformation, false, uint32(pid))
	if err != nil {
		return errors.Is(err, errorInvalidParameter)
	}
	defer syscall.CloseHandle(h)
	var code uint32
	if err := syscall.GetExitCodeProcess(h, &code); err != nil {
		return false
	}
	return code != stillActive
}
