package sqlite_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/confab/confab/internal/store"
	"github.com/confab/confab/internal/store/sqlite"
)

// wantOpenError opens dir and checks that Open fails naming the database
// file and a cause containing one of causes.
func wantOpenError(t *testing.T, dir string, causes ...string) {
	t.Helper()
	s, err := sqlite.Open(context.Background(), dir, sqlite.Options{})
	if err == nil {
		s.Close(context.Background())
		t.Fatalf("Open %s succeeded", dir)
	}
	t.Logf("Open: %v", err)
	path := filepath.Join(dir, sqlite.FileName)
	if !strings.Contains(err.Error(), path) {
		t.Errorf("error %q does not name %s", err, path)
	}
	for _, c := range causes {
		if strings.Contains(err.Error(), c) {
			return
		}
	}
	t.Errorf("error %q gives none of the causes %q", err, causes)
}

func TestOpenCreatesAndReopens(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b") // created if missing
	ctx := context.Background()
	s, err := sqlite.Open(ctx, dir, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.PutSetting(ctx, "k", "v"); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, sqlite.FileName))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		t.Errorf("database file mode %v is readable by others", fi.Mode().Perm())
	}

	s = openStore(t, dir, sqlite.Options{Check: sqlite.CheckFull})
	if v, err := s.GetSetting(ctx, "k"); err != nil || v != "v" {
		t.Fatalf("after reopening: %q, %v", v, err)
	}
	db, err := sql.Open("sqlite", "file:"+s.Path()+"?_pragma=query_only(1)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var versions, journal string
	if err := db.QueryRow("SELECT group_concat(version || ':' || name) FROM schema_migrations").Scan(&versions); err != nil {
		t.Fatal(err)
	}
	if want := wantMigrations(t); versions != want {
		t.Errorf("schema_migrations = %q, want %q", versions, want)
	}
	if err := db.QueryRow("PRAGMA journal_mode").Scan(&journal); err != nil || journal != "wal" {
		t.Errorf("journal_mode = %q, %v", journal, err)
	}
	var pageSize int
	if err := db.QueryRow("PRAGMA page_size").Scan(&pageSize); err != nil || pageSize != 8192 {
		t.Errorf("page_size = %d, %v", pageSize, err)
	}
}

func TestOpenBadPath(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Run("DirIsFile", func(t *testing.T) { wantOpenError(t, file, "not a directory", "file exists") })
	t.Run("UnderFile", func(t *testing.T) { wantOpenError(t, filepath.Join(file, "sub"), "not a directory") })
	t.Run("DatabaseIsDir", func(t *testing.T) {
		dir := t.TempDir()
		if err := os.Mkdir(filepath.Join(dir, sqlite.FileName), 0o700); err != nil {
			t.Fatal(err)
		}
		wantOpenError(t, dir, "not a regular file")
	})
	t.Run("Empty", func(t *testing.T) {
		if _, err := sqlite.Open(context.Background(), "", sqlite.Options{}); err == nil {
			t.Fatal("Open with an empty directory succeeded")
		}
	})
}

// makeReadOnly makes path unwritable, even for root (whom permission bits
// do not stop: the immutable attribute does), until the test ends.
func makeReadOnly(t *testing.T, path string, isDir bool) {
	t.Helper()
	if os.Geteuid() != 0 {
		mode, restore := os.FileMode(0o400), os.FileMode(0o600)
		if isDir {
			mode, restore = 0o500, 0o700
		}
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Chmod(path, restore) })
		return
	}
	if out, err := exec.Command("chattr", "+i", path).CombinedOutput(); err != nil {
		t.Skipf("running as root and cannot make %s immutable: %v: %s", path, err, out)
	}
	t.Cleanup(func() { exec.Command("chattr", "-i", path).Run() })
}

func TestOpenReadOnlyDirectory(t *testing.T) {
	dir := t.TempDir()
	makeReadOnly(t, dir, true)
	wantOpenError(t, dir, "permission denied", "operation not permitted", "read-only")
}

func TestOpenReadOnlyFile(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir, sqlite.Options{})
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	makeReadOnly(t, filepath.Join(dir, sqlite.FileName), false)
	wantOpenError(t, dir, "permission denied", "operation not permitted", "read-only")
}

func TestOpenRandomBytes(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, sqlite.FileName), randomBytes(64<<10), 0o600); err != nil {
		t.Fatal(err)
	}
	wantOpenError(t, dir, "not a database")
}

func TestOpenCorruptPages(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	s, err := sqlite.Open(ctx, dir, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range int64(2000) {
		e := store.EventRow{SessionID: "s", Position: i, Data: []byte(strings.Repeat("x", 300))}
		s.AppendEvent(ctx, e)
	}
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	// Keep the header and schema pages, scramble the rest.
	path := filepath.Join(dir, sqlite.FileName)
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	fi, _ := f.Stat()
	if fi.Size() < 64<<10 {
		t.Fatalf("database is only %d bytes", fi.Size())
	}
	if _, err := f.WriteAt(randomBytes(int(fi.Size())-32<<10), 32<<10); err != nil {
		t.Fatal(err)
	}
	f.Close()
	wantOpenError(t, dir, "corrupt", "malformed")
}

func TestOpenForeignDatabase(t *testing.T) {
	dir := t.TempDir()
	db, err := sql.Open("sqlite", filepath.Join(dir, sqlite.FileName))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("CREATE TABLE other (x)"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	wantOpenError(t, dir, "not a Confab database")
}

func TestOpenNewerSchema(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir, sqlite.Options{})
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", filepath.Join(dir, sqlite.FileName))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("INSERT INTO schema_migrations (version, name) VALUES (99, '0099_future')"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	wantOpenError(t, dir, "schema version 99 is newer")
}

func TestOpenContextCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := sqlite.Open(ctx, t.TempDir(), sqlite.Options{})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Open with a cancelled context: %v", err)
	}
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// wantMigrations lists the migration files as schema_migrations records
// them: "1:0001_initial,2:...".
func wantMigrations(t *testing.T) string {
	t.Helper()
	entries, err := os.ReadDir("migrations")
	if err != nil {
		t.Fatal(err)
	}
	var parts []string
	for _, e := range entries {
		name := strings.TrimSuffix(e.Name(), ".sql")
		num, _, _ := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if err != nil {
			t.Fatalf("migration %s: %v", e.Name(), err)
		}
		parts = append(parts, strconv.Itoa(v)+":"+name)
	}
	return strings.Join(parts, ",")
}
