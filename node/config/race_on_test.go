//go:build race

package config

// raceEnabled: the race detector makes sync.Pool drop items, so allocation counts
// are not meaningful.
const raceEnabled = true
