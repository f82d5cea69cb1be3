//go:build !race

package sqlite_test

// raceEnabled reports a -race build, whose instrumentation makes SQLite
// (transpiled C) tens of times slower; long tests do less under it.
const raceEnabled = false
