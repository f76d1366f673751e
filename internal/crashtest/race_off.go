//go:build !race

package crashtest

// RaceEnabled is set under the race detector, which slows the crash and
// fault tests several-fold: they then run fewer seeds and fault indices.
const RaceEnabled = false
