//go:build !unix && !windows

package sync

// processGone cannot tell on this platform: a dead run's lease is then
// waited out (Options.LockTTL) rather than taken over at once.
func processGone(pid int) bool { return false }
