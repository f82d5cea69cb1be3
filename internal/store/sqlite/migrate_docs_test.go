package sqlite_test

import (
	"bytes"
	"context"
	"database/sql"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/confab/confab/internal/store"
	"github.com/confab/confab/internal/store/sqlite"
)

// TestMigrateDocumentsFromV1 builds a schema-version-1 database holding a
// document as one BLOB and checks that migration 2 keeps its bytes, now
// read through the chunked reader.
func TestMigrateDocumentsFromV1(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, sqlite.FileName)
	initial, err := os.ReadFile(filepath.Join("migrations", "0001_initial.sql"))
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	old := bytes.Repeat([]byte("0123456789"), 70000) // 700 kB, several chunks' worth in one BLOB
	for _, q := range []string{
		string(initial),
		`CREATE TABLE schema_migrations (version INTEGER NOT NULL PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL DEFAULT '')`,
		`INSERT INTO schema_migrations (version, name) VALUES (1, '0001_initial')`,
		`PRAGMA application_id = 1131376230`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%.40s: %v", q, err)
		}
	}
	if _, err := db.Exec(`INSERT INTO documents (id, session_id, name, content_type, size, data, created_at) VALUES ('d1', 'S', 'a.txt', 'text/plain', ?, ?, 1), ('d0', 'S', 'e', 'text/plain', 0, x'', 2)`, len(old), old); err != nil {
		t.Fatal(err)
	}
	db.Close()

	s, err := sqlite.Open(context.Background(), dir, sqlite.Options{})
	if err != nil {
		t.Fatalf("open the version-1 database: %v", err)
	}
	defer s.Close(context.Background())
	for id, want := range map[string][]byte{"d1": old, "d0": {}} {
		d, rc, err := s.OpenDocument(context.Background(), id)
		if err != nil {
			t.Fatalf("OpenDocument %s after migration: %v", id, err)
		}
		got, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || !bytes.Equal(got, want) || d.Size != int64(len(want)) || d.SessionID != "S" {
			t.Fatalf("document %s after migration: %d bytes (%v), meta %+v", id, len(got), err, d)
		}
	}
	list, err := s.ListDocuments(context.Background(), "S")
	if err != nil || len(list) != 2 {
		t.Fatalf("ListDocuments after migration = %v, %v", list, err)
	}
	if _, err := s.FindFile(context.Background(), "S", "x"); !strings.Contains(err.Error(), store.ErrNotFound.Error()) {
		t.Fatalf("FindFile on migrated data: %v", err)
	}
}

// TestPartialDocumentRemovedAtOpen leaves a document half written, as a
// crash in the middle of an upload does, and checks that the next Open
// removes it with its chunks.
func TestPartialDocumentRemovedAtOpen(t *testing.T) {
	dir := t.TempDir()
	s, err := sqlite.Open(context.Background(), dir, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutDocument(context.Background(), store.Document{ID: "kept", SessionID: "S"}, strings.NewReader("ok"), 10); err != nil {
		t.Fatal(err)
	}
	s.Close(context.Background())
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, sqlite.FileName)+"?_pragma=foreign_keys(1)")
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`INSERT INTO documents (id, name, content_type, size, complete, created_at) VALUES ('half', 'h', 'x', 0, 0, 1)`,
		`INSERT INTO document_chunks (document_id, seq, data) VALUES ('half', 0, x'0102')`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	s, err = sqlite.Open(context.Background(), dir, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	st, err := s.DocumentStats(context.Background())
	if err != nil || st.Count != 1 {
		t.Fatalf("DocumentStats after reopen = %+v, %v; want only the complete document", st, err)
	}
	db, _ = sql.Open("sqlite", "file:"+filepath.Join(dir, sqlite.FileName)+"?_pragma=query_only(1)")
	defer db.Close()
	var chunks int
	if err := db.QueryRow(`SELECT count(*) FROM document_chunks`).Scan(&chunks); err != nil || chunks != 1 {
		t.Fatalf("chunks after reopen = %d, %v; want the one of the kept document", chunks, err)
	}
}
