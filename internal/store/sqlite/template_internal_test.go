package sqlite

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// freshDir returns a new temporary directory holding an empty store of the
// current schema, copied from one made once per test process (the
// sqlitetest package does the same for other packages, which this
// package's own tests cannot import): under -race the migrations of a new
// file were about 0.7 CPU-seconds of each Open. Tests of the creation and
// migration of a new file use t.TempDir instead.
func freshDir(tb testing.TB) string {
	tb.Helper()
	tmpl.once.Do(func() {
		dir, err := os.MkdirTemp("", "confab-sqlite-template-*")
		if err != nil {
			tmpl.err = err
			return
		}
		defer os.RemoveAll(dir)
		ctx := context.Background()
		s, err := Open(ctx, dir, Options{})
		if err == nil {
			err = s.Close(ctx)
		}
		if err == nil {
			tmpl.db, err = os.ReadFile(filepath.Join(dir, FileName))
		}
		if _, serr := os.Stat(filepath.Join(dir, FileName+"-wal")); err == nil && serr == nil {
			tmpl.db = nil // a closed store leaves no WAL; if it ever does, copying the file alone would lose it
		}
		tmpl.err = err
	})
	dir := tb.TempDir()
	if tmpl.err != nil || tmpl.db == nil {
		return dir // a fresh Open instead
	}
	if err := os.WriteFile(filepath.Join(dir, FileName), tmpl.db, 0o600); err != nil {
		tb.Fatal(err)
	}
	return dir
}

// tmpl is the template of freshDir, made once per test process.
var tmpl struct {
	once sync.Once
	db   []byte
	err  error
}
