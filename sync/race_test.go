//go:build race

package sync_test

// raceEnabled halves the model tests' seeds under the race detector,
// which slows them about tenfold; without it they run in full.
const raceEnabled = true
