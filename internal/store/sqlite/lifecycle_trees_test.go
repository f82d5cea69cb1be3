package sqlite

import (
	"context"
	"database/sql"
	"encoding/binary"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// walFrames reads the valid frames of the WAL file of the database at path
// (the salts of its header; each frame a 24-byte header and a page) and
// returns the page number of each, in order, and how many frames ended a
// transaction.
func walFrames(tb testing.TB, path string) (pages []uint32, commits int) {
	tb.Helper()
	b, err := os.ReadFile(path + "-wal")
	if err != nil {
		tb.Fatal(err)
	}
	if len(b) < 32 {
		return nil, 0
	}
	size := int(binary.BigEndian.Uint32(b[8:12]))
	salt1, salt2 := binary.BigEndian.Uint32(b[16:20]), binary.BigEndian.Uint32(b[20:24])
	for off := 32; off+24+size <= len(b); off += 24 + size {
		h := b[off : off+24]
		if binary.BigEndian.Uint32(h[8:12]) != salt1 || binary.BigEndian.Uint32(h[12:16]) != salt2 {
			break
		}
		pages = append(pages, binary.BigEndian.Uint32(h[0:4]))
		if binary.BigEndian.Uint32(h[4:8]) != 0 {
			commits++
		}
	}
	return pages, commits
}

// pageTrees maps each page of the database to the table or index it
// belongs to (SQLite's dbstat table); pages it does not list (the
// freelist) map to nothing.
func pageTrees(tb testing.TB, db *sql.DB) map[uint32]string {
	tb.Helper()
	rows, err := db.Query("SELECT name, pageno FROM dbstat")
	if err != nil {
		tb.Fatal(err)
	}
	defer rows.Close()
	m := make(map[uint32]string)
	for rows.Next() {
		var name string
		var pg uint32
		if err := rows.Scan(&name, &pg); err != nil {
			tb.Fatal(err)
		}
		m[pg] = name
	}
	if err := rows.Err(); err != nil {
		tb.Fatal(err)
	}
	return m
}

// TestLifecycleTrees prints which tables and indexes the WAL pages of a
// dense-like run of lifecycles belong to, per lifecycle and per commit
// (a measurement, run on demand: CONFAB_LIFECYCLE_TREES=1; the bound on the
// total is TestLifecyclePages'). Checkpoints are off, so that the WAL holds
// every frame written.
func TestLifecycleTrees(t *testing.T) {
	if os.Getenv("CONFAB_LIFECYCLE_TREES") == "" {
		t.Skip("a measurement: set CONFAB_LIFECYCLE_TREES=1")
	}
	ctx := context.Background()
	dir := t.TempDir()
	s, err := Open(ctx, dir, Options{Synchronous: SyncNormal, CommitWindow: -1, CheckpointPages: 1 << 30})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(ctx)
	r := newLifecycleRun(s, 2000, 20)
	r.prime(t)
	r.measure(t, 2000)
	// The frames from here on (the WAL is never checkpointed, so it
	// only grows).
	path := filepath.Join(dir, "confab.db")
	before, commits0 := walFrames(t, path)
	c := r.measure(t, 1000)
	pages, commits := walFrames(t, path)
	pages, commits = pages[len(before):], commits-commits0
	trees := pageTrees(t, s.rdb)
	count := make(map[string]int)
	for _, p := range pages {
		n, ok := trees[p]
		switch {
		case p == 1:
			n = "page 1 (header)"
		case !ok:
			n = "(free now)"
		}
		count[n]++
	}
	names := make([]string, 0, len(count))
	for n := range count {
		names = append(names, n)
	}
	slices.SortFunc(names, func(a, b string) int { return count[b] - count[a] })
	k := float64(c.lifecycles)
	t.Logf("%d lifecycles, %d commits, %d frames: %.2f pages per lifecycle, %.2f per commit",
		c.lifecycles, commits, len(pages), float64(len(pages))/k, float64(len(pages))/float64(commits))
	for _, n := range names {
		t.Logf("%-36s %6.2f per lifecycle %6.2f per commit", n, float64(count[n])/k, float64(count[n])/float64(commits))
	}
}
