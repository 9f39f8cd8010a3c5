//go:build race

package e2e_test

// raceEnabled runs one seed per variant under the race detector, which
// slows the model test several times over.
const raceEnabled = true
