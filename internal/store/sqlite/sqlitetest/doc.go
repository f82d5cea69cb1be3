// Package sqlitetest gives tests an empty, fully migrated SQLite store file
// without paying for the migrations each time: under -race, running every
// migration of a new file was about 0.7 CPU-seconds of each Open (most of
// the CI time of packages whose tests open many fresh stores). The first
// call in a process opens and closes a store in a temporary directory and
// keeps the resulting file in memory; each call then writes that file into
// the directory the test gives, so that the Open that follows finds a
// database of the current schema version, exactly as a fresh Open would
// have left it.
//
// It is test support only: production code never imports it. Tests of the
// creation and migration of a new file must not use it.
//
// Concurrency: Seed and Dir may be called from any goroutine, parallel
// tests included; the template is made once.
package sqlitetest
