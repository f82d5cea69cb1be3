package storetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"testing"
	"testing/iotest"

	"github.com/confab/confab/internal/store"
)

// content returns n deterministic bytes.
func content(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7) ^ seed
	}
	return b
}

func put(t *testing.T, s store.Store, d store.Document, data []byte) store.Document {
	t.Helper()
	got, err := s.PutDocument(context.Background(), d, bytes.NewReader(data), int64(len(data)))
	must(t, "PutDocument "+d.ID, err)
	return got
}

func readAll(t *testing.T, s store.Store, id string) []byte {
	t.Helper()
	_, rc, err := s.OpenDocument(context.Background(), id)
	must(t, "OpenDocument "+id, err)
	defer rc.Close()
	b, err := io.ReadAll(rc)
	must(t, "read document "+id, err)
	return b
}

func testDocuments(t *testing.T, s store.Store) {
	ctx := context.Background()
	docs := []struct {
		d    store.Document
		data []byte
	}{
		{store.Document{ID: "d2", SessionID: "A", Owner: "u1", Name: "b.png", ContentType: "image/png", CreatedAt: at(1)}, []byte{0x89, 'P', 'N', 'G', 0, 1, 2}},
		{store.Document{ID: "d1", SessionID: "A", Name: "a.txt", ContentType: "text/plain", CreatedAt: at(1)}, []byte("hello")},
		{store.Document{ID: "d0", SessionID: "A", Name: "empty", ContentType: "application/octet-stream", CreatedAt: at(0)}, nil},
		// Several chunks and a partial last one, whatever the store's chunk size.
		{store.Document{ID: "d3", SessionID: "B", Name: "c.pdf", ContentType: "application/pdf", CreatedAt: at(2)}, content(3<<20+12345, 5)},
		{store.Document{ID: "d4", Owner: "agent-1", Name: "unattached.bin", ContentType: "application/octet-stream", CreatedAt: at(3)}, content(1000, 9)},
	}
	for _, c := range docs {
		got := put(t, s, c.d, c.data)
		sum := sha256.Sum256(c.data)
		if got.Size != int64(len(c.data)) || got.SHA256 != hex.EncodeToString(sum[:]) {
			t.Fatalf("PutDocument %s returned size %d sha %s, want %d %x", c.d.ID, got.Size, got.SHA256, len(c.data), sum)
		}
	}
	for _, c := range docs {
		got, err := s.GetDocument(ctx, c.d.ID)
		must(t, "GetDocument "+c.d.ID, err)
		want := c.d
		want.Size = int64(len(c.data))
		sum := sha256.Sum256(c.data)
		want.SHA256 = hex.EncodeToString(sum[:])
		if got.ID != want.ID || got.SessionID != want.SessionID || got.Owner != want.Owner || got.Name != want.Name ||
			got.ContentType != want.ContentType || got.Size != want.Size || got.SHA256 != want.SHA256 || !got.CreatedAt.Equal(want.CreatedAt) {
			t.Fatalf("GetDocument %s: got %+v, want %+v", c.d.ID, got, want)
		}
		if b := readAll(t, s, c.d.ID); !bytes.Equal(b, c.data) {
			t.Fatalf("content of %s: %d bytes differ from the %d put", c.d.ID, len(b), len(c.data))
		}
	}
	// A reader taking one byte at a time sees the same bytes.
	_, rc, err := s.OpenDocument(ctx, "d2")
	must(t, "OpenDocument d2", err)
	b, err := io.ReadAll(iotest.OneByteReader(rc))
	rc.Close()
	must(t, "read d2 bytewise", err)
	if !bytes.Equal(b, docs[0].data) {
		t.Fatalf("bytewise read of d2 = %x", b)
	}

	_, err = s.PutDocument(ctx, docs[0].d, bytes.NewReader(nil), 10)
	wantErr(t, "PutDocument duplicate", err, store.ErrExists)
	_, err = s.PutDocument(ctx, store.Document{SessionID: "A"}, bytes.NewReader(nil), 10)
	wantErr(t, "PutDocument empty id", err, store.ErrInvalid)
	_, err = s.PutDocument(ctx, store.Document{ID: "d9", FileID: "f1"}, bytes.NewReader(nil), 10)
	wantErr(t, "PutDocument file id without session", err, store.ErrInvalid)
	_, err = s.PutDocument(ctx, store.Document{ID: "d9"}, bytes.NewReader(nil), -1)
	wantErr(t, "PutDocument negative limit", err, store.ErrInvalid)
	// A reader that fails leaves nothing behind.
	_, err = s.PutDocument(ctx, store.Document{ID: "d9", SessionID: "A"}, io.MultiReader(bytes.NewReader(content(1<<20, 1)), iotest.ErrReader(errors.New("cable cut"))), 10<<20)
	if err == nil || errors.Is(err, store.ErrTooLarge) {
		t.Fatalf("PutDocument with a failing reader: %v", err)
	}
	_, err = s.GetDocument(ctx, "d9")
	wantErr(t, "GetDocument after a failed upload", err, store.ErrNotFound)

	list, err := s.ListDocuments(ctx, "A")
	must(t, "ListDocuments", err)
	var got []string
	for _, d := range list {
		if d.SessionID != "A" {
			t.Fatalf("listed document %+v is of the wrong session", d)
		}
		got = append(got, fmt.Sprintf("%s:%d", d.ID, d.Size))
	}
	if fmt.Sprint(got) != "[d0:0 d1:5 d2:7]" {
		t.Fatalf("ListDocuments A = %v", got)
	}
	if list, err := s.ListDocuments(ctx, "none"); err != nil || len(list) != 0 {
		t.Fatalf("ListDocuments none = %v, %v", list, err)
	}
	if list, err := s.ListDocuments(ctx, ""); err != nil || len(list) != 0 {
		t.Fatalf("ListDocuments of no session (unattached ones) = %v, %v", list, err)
	}
	st, err := s.DocumentStats(ctx)
	must(t, "DocumentStats", err)
	var total int64
	for _, c := range docs {
		total += int64(len(c.data))
	}
	if st.Count != int64(len(docs)) || st.Bytes != total {
		t.Fatalf("DocumentStats = %+v, want %d documents of %d bytes", st, len(docs), total)
	}

	must(t, "DeleteDocument", s.DeleteDocument(ctx, "d1"))
	wantErr(t, "DeleteDocument again", s.DeleteDocument(ctx, "d1"), store.ErrNotFound)
	_, err = s.GetDocument(ctx, "d1")
	wantErr(t, "GetDocument deleted", err, store.ErrNotFound)
	_, _, err = s.OpenDocument(ctx, "d1")
	wantErr(t, "OpenDocument deleted", err, store.ErrNotFound)
	list, err = s.ListDocuments(ctx, "A")
	must(t, "ListDocuments", err)
	if len(list) != 2 {
		t.Fatalf("ListDocuments after delete: %d documents, want 2", len(list))
	}
	n, err := s.DeleteSessionDocuments(ctx, "A")
	must(t, "DeleteSessionDocuments", err)
	if n != 2 {
		t.Fatalf("DeleteSessionDocuments A removed %d, want 2", n)
	}
	if n, err := s.DeleteSessionDocuments(ctx, ""); err != nil || n != 0 {
		t.Fatalf("DeleteSessionDocuments of no session = %d, %v; unattached documents must stay", n, err)
	}
	if _, err := s.GetDocument(ctx, "d4"); err != nil {
		t.Fatalf("unattached d4 gone: %v", err)
	}
}

// testDocumentLimits checks the size limit at its boundary and that an
// oversized upload is cut off after at most max+1 bytes.
func testDocumentLimits(t *testing.T, s store.Store) {
	ctx := context.Background()
	const max = 300000
	exact := content(max, 3)
	d, err := s.PutDocument(ctx, store.Document{ID: "exact", SessionID: "S"}, bytes.NewReader(exact), max)
	must(t, "PutDocument of exactly the limit", err)
	if d.Size != max {
		t.Fatalf("size %d, want %d", d.Size, max)
	}
	r := &countingReader{r: bytes.NewReader(content(max+1, 3))}
	_, err = s.PutDocument(ctx, store.Document{ID: "over", SessionID: "S"}, r, max)
	wantErr(t, "PutDocument one byte over", err, store.ErrTooLarge)
	_, err = s.GetDocument(ctx, "over")
	wantErr(t, "GetDocument of the refused upload", err, store.ErrNotFound)

	big := &countingReader{r: io.LimitReader(zeros{}, 200<<20)}
	_, err = s.PutDocument(ctx, store.Document{ID: "huge", SessionID: "S"}, big, max)
	wantErr(t, "PutDocument of 200 MB", err, store.ErrTooLarge)
	if big.n > max+1 {
		t.Fatalf("a 200 MB upload with limit %d read %d bytes; want at most %d", max, big.n, max+1)
	}
	_, err = s.PutDocument(ctx, store.Document{ID: "zero", SessionID: "S"}, bytes.NewReader([]byte{1}), 0)
	wantErr(t, "PutDocument of one byte with limit 0", err, store.ErrTooLarge)
	if _, err := s.PutDocument(ctx, store.Document{ID: "zero", SessionID: "S"}, bytes.NewReader(nil), 0); err != nil {
		t.Fatalf("an empty document with limit 0: %v", err)
	}
	list, err := s.ListDocuments(ctx, "S")
	must(t, "ListDocuments", err)
	if len(list) != 2 {
		t.Fatalf("ListDocuments = %v, want exact and zero", list)
	}
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

func testDocumentFiles(t *testing.T, s store.Store) {
	ctx := context.Background()
	put(t, s, store.Document{ID: "a1", Owner: "agent", Name: "x.txt"}, []byte("x"))
	put(t, s, store.Document{ID: "a2", Owner: "agent", Name: "y.txt"}, []byte("y"))
	put(t, s, store.Document{ID: "c1", SessionID: "S", FileID: "f-c1", Name: "z.txt"}, []byte("z"))

	got, err := s.AttachDocument(ctx, "a1", "S", "f-a1", "")
	must(t, "AttachDocument", err)
	if got.SessionID != "S" || got.FileID != "f-a1" || got.Owner != "agent" {
		t.Fatalf("attached %+v", got)
	}
	f, err := s.FindFile(ctx, "S", "f-a1")
	must(t, "FindFile", err)
	if f.ID != "a1" {
		t.Fatalf("FindFile S f-a1 = %s", f.ID)
	}
	if f, err := s.FindFile(ctx, "S", "f-c1"); err != nil || f.ID != "c1" {
		t.Fatalf("FindFile of an upload put with its file id = %+v, %v", f, err)
	}
	_, err = s.FindFile(ctx, "T", "f-a1")
	wantErr(t, "FindFile in another session", err, store.ErrNotFound)
	_, err = s.FindFile(ctx, "S", "")
	wantErr(t, "FindFile empty", err, store.ErrNotFound)
	_, err = s.AttachDocument(ctx, "a1", "T", "f-x", "")
	wantErr(t, "AttachDocument twice", err, store.ErrConflict)
	_, err = s.AttachDocument(ctx, "a2", "S", "f-a1", "")
	wantErr(t, "AttachDocument with a taken file id", err, store.ErrConflict)
	_, err = s.AttachDocument(ctx, "nope", "S", "f-9", "")
	wantErr(t, "AttachDocument unknown", err, store.ErrNotFound)
	_, err = s.AttachDocument(ctx, "a2", "", "f-9", "")
	wantErr(t, "AttachDocument no session", err, store.ErrInvalid)
	if d, err := s.GetDocument(ctx, "a2"); err != nil || d.SessionID != "" || d.FileID != "" {
		t.Fatalf("a refused attach changed a2: %+v, %v", d, err)
	}
	// The same file id in another session is fine.
	if d, err := s.AttachDocument(ctx, "a2", "T", "f-a1", "customer-9"); err != nil || d.Owner != "customer-9" {
		t.Fatalf("file id reused in another session, with a new owner: %+v, %v", d, err)
	}
}

func testDocumentDownloads(t *testing.T, s store.Store) {
	ctx := context.Background()
	put(t, s, store.Document{ID: "x", SessionID: "S", FileID: "1"}, []byte("x"))
	put(t, s, store.Document{ID: "y", SessionID: "S", FileID: "2"}, []byte("y"))
	put(t, s, store.Document{ID: "z", SessionID: "T", FileID: "1"}, []byte("z"))
	for i, id := range []string{"x", "y", "x"} {
		used, err := s.TakeDownload(ctx, id, 3)
		must(t, "TakeDownload "+id, err)
		if used != i+1 {
			t.Fatalf("TakeDownload %s: used %d, want %d", id, used, i+1)
		}
	}
	_, err := s.TakeDownload(ctx, "y", 3)
	wantErr(t, "TakeDownload beyond the session's limit", err, store.ErrLimit)
	if d, _ := s.GetDocument(ctx, "y"); d.Downloads != 1 {
		t.Fatalf("a refused download was counted: %d", d.Downloads)
	}
	if used, err := s.TakeDownload(ctx, "z", 3); err != nil || used != 1 {
		t.Fatalf("another session's download = %d, %v", used, err)
	}
	_, err = s.TakeDownload(ctx, "none", 3)
	wantErr(t, "TakeDownload unknown", err, store.ErrNotFound)
}

func testDocumentRetention(t *testing.T, s store.Store) {
	ctx := context.Background()
	put(t, s, store.Document{ID: "old", SessionID: "S", CreatedAt: at(0)}, []byte("o"))
	put(t, s, store.Document{ID: "edge", SessionID: "S", CreatedAt: at(10)}, []byte("e"))
	put(t, s, store.Document{ID: "new", SessionID: "S", CreatedAt: at(20)}, []byte("n"))
	n, err := s.PurgeDocuments(ctx, at(10))
	must(t, "PurgeDocuments", err)
	if n != 1 {
		t.Fatalf("PurgeDocuments removed %d, want 1 (only the one created before)", n)
	}
	list, err := s.ListDocuments(ctx, "S")
	must(t, "ListDocuments", err)
	if len(list) != 2 || list[0].ID != "edge" || list[1].ID != "new" {
		t.Fatalf("after the purge: %v", list)
	}
}

func testOutbox(t *testing.T, s store.Store) {
	ctx := context.Background()
	must(t, "PutOutbox b", s.PutOutbox(ctx, store.OutboxItem{Kind: "push", Key: "b", Value: []byte("1"), UpdatedAt: at(0)}))
	must(t, "PutOutbox a", s.PutOutbox(ctx, store.OutboxItem{Kind: "push", Key: "a", Value: []byte("2"), UpdatedAt: at(1)}))
	must(t, "PutOutbox other", s.PutOutbox(ctx, store.OutboxItem{Kind: "other", Key: "a", Value: []byte("3")}))
	must(t, "PutOutbox b again", s.PutOutbox(ctx, store.OutboxItem{Kind: "push", Key: "b", Value: []byte("4"), UpdatedAt: at(2)}))
	wantErr(t, "PutOutbox empty key", s.PutOutbox(ctx, store.OutboxItem{Kind: "push"}), store.ErrInvalid)
	list, err := s.ListOutbox(ctx, "push")
	must(t, "ListOutbox", err)
	if len(list) != 2 || list[0].Key != "a" || string(list[0].Value) != "2" || list[1].Key != "b" || string(list[1].Value) != "4" || !list[1].UpdatedAt.Equal(at(2)) {
		t.Fatalf("ListOutbox = %+v", list)
	}
	must(t, "DeleteOutbox", s.DeleteOutbox(ctx, "push", "a"))
	must(t, "DeleteOutbox missing", s.DeleteOutbox(ctx, "push", "a"))
	if list, _ := s.ListOutbox(ctx, "push"); len(list) != 1 {
		t.Fatalf("after delete: %+v", list)
	}
	if list, _ := s.ListOutbox(ctx, "other"); len(list) != 1 {
		t.Fatalf("other kind: %+v", list)
	}
}
