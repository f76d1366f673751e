//go:build race

package store

// raceEnabled is set under the race detector, which slows the crash and
// fault tests several-fold: they then run fewer seeds and fault indices.
const raceEnabled = true
