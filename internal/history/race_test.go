//go:build race

package history_test

// raceEnabled reports a -race build: sync.Pool then drops items at random,
// so encoding/json's pooled buffers are reallocated and heap ceilings do
// not hold; such tests are skipped under it.
const raceEnabled = true
