package sqlitetest

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/confab/confab/internal/store/sqlite"
)

// template is a closed, empty store's directory, in memory.
type template struct {
	files map[string][]byte
	modes map[string]fs.FileMode
	err   error
}

// templates holds the process's template, made by its first use.
type templates struct {
	once sync.Once
	t    template
}

// made is the process's template. A package variable, against the rule,
// because making it once per process is the point; test support only.
var made templates

// Dir returns a new temporary directory (removed when tb ends) that holds
// an empty store of the current schema.
func Dir(tb testing.TB) string {
	tb.Helper()
	return Seed(tb, tb.TempDir())
}

// Seed writes an empty store of the current schema into dir (created if
// missing) unless dir already holds a database file, and returns dir.
func Seed(tb testing.TB, dir string) string {
	tb.Helper()
	made.once.Do(func() { made.t = makeTemplate() })
	if made.t.err != nil {
		tb.Fatalf("sqlitetest: %v", made.t.err)
	}
	if _, err := os.Stat(filepath.Join(dir, sqlite.FileName)); err == nil {
		return dir
	} else if !errors.Is(err, fs.ErrNotExist) {
		tb.Fatalf("sqlitetest: %v", err)
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		tb.Fatalf("sqlitetest: %v", err)
	}
	for name, b := range made.t.files {
		if err := os.WriteFile(filepath.Join(dir, name), b, made.t.modes[name]); err != nil {
			tb.Fatalf("sqlitetest: %v", err)
		}
	}
	return dir
}

// makeTemplate opens and closes a store in a temporary directory and reads
// what it left there.
func makeTemplate() template {
	dir, err := os.MkdirTemp("", "confab-sqlitetest-*")
	if err != nil {
		return template{err: err}
	}
	defer os.RemoveAll(dir)
	ctx := context.Background()
	s, err := sqlite.Open(ctx, dir, sqlite.Options{})
	if err != nil {
		return template{err: fmt.Errorf("make the template store: %w", err)}
	}
	if err := s.Close(ctx); err != nil {
		return template{err: fmt.Errorf("close the template store: %w", err)}
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return template{err: err}
	}
	t := template{files: map[string][]byte{}, modes: map[string]fs.FileMode{}}
	for _, e := range ents {
		fi, err := e.Info()
		if err != nil {
			return template{err: err}
		}
		if !fi.Mode().IsRegular() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return template{err: err}
		}
		t.files[e.Name()], t.modes[e.Name()] = b, fi.Mode().Perm()
	}
	if t.files[sqlite.FileName] == nil {
		return template{err: fmt.Errorf("no %s in the template directory", sqlite.FileName)}
	}
	return t
}
