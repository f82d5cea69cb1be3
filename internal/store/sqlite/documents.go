package sqlite

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/confab/confab/internal/store"
)

// Documents live in two tables: a metadata row in documents and the content
// in document_chunks, ChunkSize bytes a row. PutDocument writes the row
// (incomplete), then each chunk as its own write on the group-commit writer
// — so a large upload never holds the writer for more than one chunk and
// the message path interleaves with it — and finally marks the row
// complete. At most chunkWindow chunks are queued at once, which bounds the
// memory of one upload to chunkWindow × ChunkSize. Rows left incomplete by
// a crash are removed at Open.

// ChunkSize is the size of one stored chunk of a document.
const ChunkSize = 256 << 10

// chunkWindow is how many chunks of one upload may be queued at once.
const chunkWindow = 4

const docColumns = `id, session_id, file_id, owner, name, content_type, size, sha256, downloads, created_at`

// PutDocument streams a new document into the store; see store.Documents.
func (s *Store) PutDocument(ctx context.Context, d store.Document, r io.Reader, max int64) (store.Document, error) {
	fail := func(err error) (store.Document, error) {
		return store.Document{}, fmt.Errorf("sqlite: put document %q: %w", d.ID, err)
	}
	switch {
	case d.ID == "":
		return fail(fmt.Errorf("%w: empty id", store.ErrInvalid))
	case max < 0:
		return fail(fmt.Errorf("%w: negative limit", store.ErrInvalid))
	case d.FileID != "" && d.SessionID == "":
		return fail(fmt.Errorf("%w: a file id needs a session", store.ErrInvalid))
	}
	if d.CreatedAt.IsZero() {
		d.CreatedAt = s.now()
	}
	d.Downloads = 0
	err := s.do(ctx, "document "+d.ID, func(ctx context.Context, w *writer) error {
		_, err := w.conn.ExecContext(ctx, `INSERT INTO documents (`+docColumns+`, complete)
			VALUES (?, ?, ?, ?, ?, ?, 0, '', 0, ?, 0)`,
			d.ID, d.SessionID, d.FileID, d.Owner, d.Name, d.ContentType, micros(d.CreatedAt))
		return classify(err)
	})
	if err != nil {
		return fail(err)
	}
	size, sum, err := s.putChunks(ctx, d.ID, r, max)
	if err == nil {
		err = s.do(ctx, "document "+d.ID, func(ctx context.Context, w *writer) error {
			_, err := w.conn.ExecContext(ctx, `UPDATE documents SET size = ?, sha256 = ?, complete = 1 WHERE id = ?`, size, sum, d.ID)
			return err
		})
	}
	if err != nil {
		// Nothing of a failed upload stays; the chunks go with the row.
		if derr := s.deleteOne(context.WithoutCancel(ctx), "document", "DELETE FROM documents WHERE id = ?", d.ID); derr != nil && !errors.Is(derr, store.ErrNotFound) {
			err = errors.Join(err, fmt.Errorf("remove the partial document: %w", derr))
		}
		return fail(err)
	}
	d.Size, d.SHA256 = size, sum
	return d, nil
}

// putChunks writes r's content as chunks of document id, reading at most
// max+1 bytes.
func (s *Store) putChunks(ctx context.Context, id string, r io.Reader, max int64) (int64, string, error) {
	h := sha256.New()
	lr := io.LimitReader(r, max+1)
	var bufs [chunkWindow][]byte
	var tickets [chunkWindow]store.Ticket
	var size int64
	wait := func(i int) error {
		if tickets[i] == (store.Ticket{}) {
			return nil
		}
		err := tickets[i].Wait(ctx)
		tickets[i] = store.Ticket{}
		return err
	}
	waitAll := func() error {
		var errs []error
		for i := range tickets {
			errs = append(errs, wait(i))
		}
		return errors.Join(errs...)
	}
	for seq := 0; ; seq++ {
		i := seq % chunkWindow
		if err := wait(i); err != nil {
			waitAll()
			return 0, "", err
		}
		if bufs[i] == nil {
			bufs[i] = make([]byte, ChunkSize)
		}
		n, rerr := io.ReadFull(lr, bufs[i])
		size += int64(n)
		if size > max {
			waitAll()
			return 0, "", fmt.Errorf("%w: more than %d bytes", store.ErrTooLarge, max)
		}
		if n > 0 {
			h.Write(bufs[i][:n])
			data, seq := bufs[i][:n], seq
			tickets[i] = s.gc.Enqueue(ctx, op{what: "document " + id, fn: func(ctx context.Context, w *writer) error {
				_, err := w.conn.ExecContext(ctx, `INSERT INTO document_chunks (document_id, seq, data) VALUES (?, ?, ?)`, id, seq, data)
				return classify(err)
			}})
		}
		switch {
		case rerr == io.EOF || rerr == io.ErrUnexpectedEOF:
			if err := waitAll(); err != nil {
				return 0, "", err
			}
			return size, hex.EncodeToString(h.Sum(nil)), nil
		case rerr != nil:
			waitAll()
			return 0, "", fmt.Errorf("read the content: %w", rerr)
		}
	}
}

// GetDocument returns a document's metadata; see store.Documents.
func (s *Store) GetDocument(ctx context.Context, id string) (store.Document, error) {
	d, err := s.queryDocument(ctx, "WHERE id = ? AND complete = 1", id)
	if err != nil {
		return store.Document{}, fmt.Errorf("sqlite: get document %s: %w", id, err)
	}
	return d, nil
}

// FindFile returns the document with a file-id in a session; see
// store.Documents.
func (s *Store) FindFile(ctx context.Context, sessionID, fileID string) (store.Document, error) {
	if sessionID == "" || fileID == "" {
		return store.Document{}, fmt.Errorf("sqlite: find file %q of session %q: %w", fileID, sessionID, store.ErrNotFound)
	}
	d, err := s.queryDocument(ctx, "WHERE session_id = ? AND file_id = ? AND complete = 1", sessionID, fileID)
	if err != nil {
		return store.Document{}, fmt.Errorf("sqlite: find file %s of session %s: %w", fileID, sessionID, err)
	}
	return d, nil
}

func (s *Store) queryDocument(ctx context.Context, where string, args ...any) (store.Document, error) {
	if err := s.readable(); err != nil {
		return store.Document{}, err
	}
	d, err := scanDocument(s.rdb.QueryRowContext(ctx, `SELECT `+docColumns+` FROM documents `+where, args...))
	if errors.Is(err, sql.ErrNoRows) {
		err = store.ErrNotFound
	}
	return d, err
}

func scanDocument(row scanner) (store.Document, error) {
	var d store.Document
	var created int64
	err := row.Scan(&d.ID, &d.SessionID, &d.FileID, &d.Owner, &d.Name, &d.ContentType, &d.Size, &d.SHA256, &d.Downloads, &created)
	d.CreatedAt = fromMicros(created)
	return d, err
}

// OpenDocument returns a reader of a document's content; see
// store.Documents.
func (s *Store) OpenDocument(ctx context.Context, id string) (store.Document, io.ReadCloser, error) {
	d, err := s.GetDocument(ctx, id)
	if err != nil {
		return store.Document{}, nil, err
	}
	return d, &chunkReader{s: s, ctx: ctx, id: id, size: d.Size}, nil
}

// chunkReader reads a document one chunk (one query) at a time, so a read
// holds no connection between Read calls.
type chunkReader struct {
	s    *Store
	ctx  context.Context
	id   string
	size int64
	read int64
	seq  int
	cur  []byte
	err  error
}

func (r *chunkReader) Read(p []byte) (int, error) {
	for len(r.cur) == 0 {
		if r.err != nil {
			return 0, r.err
		}
		if r.read >= r.size {
			r.err = io.EOF
			return 0, io.EOF
		}
		if err := r.s.readable(); err != nil {
			r.err = err
			return 0, err
		}
		var data []byte
		err := r.s.rdb.QueryRowContext(r.ctx, `SELECT data FROM document_chunks WHERE document_id = ? AND seq = ?`, r.id, r.seq).Scan(&data)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			r.err = fmt.Errorf("sqlite: read document %s: chunk %d is missing (deleted while read?)", r.id, r.seq)
			return 0, r.err
		case err != nil:
			r.err = fmt.Errorf("sqlite: read document %s: %w", r.id, err)
			return 0, r.err
		}
		r.seq++
		r.cur = data
	}
	n := copy(p, r.cur)
	r.cur = r.cur[n:]
	r.read += int64(n)
	return n, nil
}

func (r *chunkReader) Close() error {
	r.cur, r.err = nil, errors.New("sqlite: read of a closed document")
	return nil
}

// AttachDocument gives a document its session and file-id; see
// store.Documents.
func (s *Store) AttachDocument(ctx context.Context, id, sessionID, fileID, owner string) (store.Document, error) {
	if sessionID == "" || fileID == "" {
		return store.Document{}, fmt.Errorf("sqlite: attach document %s: %w: empty session or file id", id, store.ErrInvalid)
	}
	err := s.do(ctx, "document "+id, func(ctx context.Context, w *writer) error {
		var sid, fid string
		err := w.conn.QueryRowContext(ctx, `SELECT session_id, file_id FROM documents WHERE id = ? AND complete = 1`, id).Scan(&sid, &fid)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return store.ErrNotFound
		case err != nil:
			return err
		case fid != "" || (sid != "" && sid != sessionID):
			return fmt.Errorf("%w: document is attached to a session already", store.ErrConflict)
		}
		_, err = w.conn.ExecContext(ctx, `UPDATE documents SET session_id = ?, file_id = ?, owner = CASE WHEN ? = '' THEN owner ELSE ? END WHERE id = ?`,
			sessionID, fileID, owner, owner, id)
		if err = classify(err); errors.Is(err, store.ErrExists) {
			err = fmt.Errorf("%w: file id %s is taken in the session", store.ErrConflict, fileID)
		}
		return err
	})
	if err != nil {
		return store.Document{}, fmt.Errorf("sqlite: attach document %s to session %s: %w", id, sessionID, err)
	}
	return s.GetDocument(ctx, id)
}

// TakeDownload counts a customer download; see store.Documents.
func (s *Store) TakeDownload(ctx context.Context, id string, max int) (int, error) {
	var used int
	err := s.do(ctx, "document "+id, func(ctx context.Context, w *writer) error {
		var sid string
		var own int
		err := w.conn.QueryRowContext(ctx, `SELECT session_id, downloads FROM documents WHERE id = ? AND complete = 1`, id).Scan(&sid, &own)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return store.ErrNotFound
		case err != nil:
			return err
		}
		used = own
		if sid != "" {
			if err := w.conn.QueryRowContext(ctx, `SELECT coalesce(sum(downloads), 0) FROM documents WHERE session_id = ?`, sid).Scan(&used); err != nil {
				return err
			}
		}
		if used >= max {
			return fmt.Errorf("%w: %d of %d downloads used", store.ErrLimit, used, max)
		}
		used++
		_, err = w.conn.ExecContext(ctx, `UPDATE documents SET downloads = downloads + 1 WHERE id = ?`, id)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("sqlite: take a download of document %s: %w", id, err)
	}
	return used, nil
}

// DeleteDocument removes a document; see store.Documents.
func (s *Store) DeleteDocument(ctx context.Context, id string) error {
	if err := s.deleteOne(ctx, "document", "DELETE FROM documents WHERE id = ?", id); err != nil {
		return fmt.Errorf("sqlite: delete document %s: %w", id, err)
	}
	return nil
}

// ListDocuments lists a session's documents; see store.Documents.
func (s *Store) ListDocuments(ctx context.Context, sessionID string) ([]store.Document, error) {
	if err := s.readable(); err != nil {
		return nil, err
	}
	if sessionID == "" {
		return nil, nil // "" is "not attached", never a session
	}
	rows, err := s.rdb.QueryContext(ctx, `SELECT `+docColumns+`
		FROM documents WHERE session_id = ? AND complete = 1 ORDER BY created_at, id`, sessionID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list documents of session %s: %w", sessionID, err)
	}
	defer rows.Close()
	var out []store.Document
	for rows.Next() {
		d, err := scanDocument(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: list documents of session %s: %w", sessionID, err)
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list documents of session %s: %w", sessionID, err)
	}
	return out, nil
}

// DeleteSessionDocuments removes a session's documents; see
// store.Documents.
func (s *Store) DeleteSessionDocuments(ctx context.Context, sessionID string) (int, error) {
	n, err := s.deleteMany(ctx, "documents of session "+sessionID, `DELETE FROM documents WHERE session_id = ?`, sessionID)
	if err != nil {
		return 0, fmt.Errorf("sqlite: delete documents of session %s: %w", sessionID, err)
	}
	return n, nil
}

// PurgeDocuments removes documents older than a time; see store.Documents.
func (s *Store) PurgeDocuments(ctx context.Context, before time.Time) (int, error) {
	n, err := s.deleteMany(ctx, "old documents", `DELETE FROM documents WHERE created_at < ? AND complete = 1`, micros(before))
	if err != nil {
		return 0, fmt.Errorf("sqlite: purge documents before %s: %w", before.Format(time.RFC3339), err)
	}
	return n, nil
}

func (s *Store) deleteMany(ctx context.Context, what, query string, arg any) (int, error) {
	if sid, ok := arg.(string); ok && sid == "" {
		return 0, nil // "" is "not attached", never a session
	}
	var n int64
	err := s.do(ctx, what, func(ctx context.Context, w *writer) error {
		res, err := w.conn.ExecContext(ctx, query, arg)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), err
}

// DocumentStats counts the stored documents; see store.Documents.
func (s *Store) DocumentStats(ctx context.Context) (store.DocumentStats, error) {
	if err := s.readable(); err != nil {
		return store.DocumentStats{}, err
	}
	var st store.DocumentStats
	err := s.rdb.QueryRowContext(ctx, `SELECT count(*), coalesce(sum(size), 0) FROM documents WHERE complete = 1`).Scan(&st.Count, &st.Bytes)
	if err != nil {
		return store.DocumentStats{}, fmt.Errorf("sqlite: count documents: %w", err)
	}
	return st, nil
}

// dropPartialDocuments removes the documents a crash left half written.
func dropPartialDocuments(ctx context.Context, conn *sql.Conn) error {
	if _, err := conn.ExecContext(ctx, `DELETE FROM documents WHERE complete = 0`); err != nil {
		return fmt.Errorf("remove partial documents: %w", err)
	}
	return nil
}

// PutOutbox stores an outbox item; see store.Outbox.
func (s *Store) PutOutbox(ctx context.Context, it store.OutboxItem) error {
	if it.Kind == "" || it.Key == "" {
		return fmt.Errorf("sqlite: put outbox item %q/%q: %w: empty kind or key", it.Kind, it.Key, store.ErrInvalid)
	}
	if it.UpdatedAt.IsZero() {
		it.UpdatedAt = s.now()
	}
	val := it.Value
	if val == nil {
		val = []byte{}
	}
	err := s.do(ctx, "outbox "+it.Kind+"/"+it.Key, func(ctx context.Context, w *writer) error {
		_, err := w.conn.ExecContext(ctx, `INSERT INTO outbox (kind, key, value, updated_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (kind, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
			it.Kind, it.Key, val, micros(it.UpdatedAt))
		return classify(err)
	})
	if err != nil {
		return fmt.Errorf("sqlite: put outbox item %s/%s: %w", it.Kind, it.Key, err)
	}
	return nil
}

// DeleteOutbox removes an outbox item; see store.Outbox.
func (s *Store) DeleteOutbox(ctx context.Context, kind, key string) error {
	err := s.do(ctx, "outbox "+kind+"/"+key, func(ctx context.Context, w *writer) error {
		_, err := w.conn.ExecContext(ctx, `DELETE FROM outbox WHERE kind = ? AND key = ?`, kind, key)
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: delete outbox item %s/%s: %w", kind, key, err)
	}
	return nil
}

// ListOutbox lists the outbox items of a kind; see store.Outbox.
func (s *Store) ListOutbox(ctx context.Context, kind string) ([]store.OutboxItem, error) {
	if err := s.readable(); err != nil {
		return nil, err
	}
	rows, err := s.rdb.QueryContext(ctx, `SELECT key, value, updated_at FROM outbox WHERE kind = ? ORDER BY key`, kind)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list outbox %s: %w", kind, err)
	}
	defer rows.Close()
	var out []store.OutboxItem
	for rows.Next() {
		it := store.OutboxItem{Kind: kind}
		var upd int64
		if err := rows.Scan(&it.Key, &it.Value, &upd); err != nil {
			return nil, fmt.Errorf("sqlite: list outbox %s: %w", kind, err)
		}
		it.UpdatedAt = fromMicros(upd)
		out = append(out, it)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list outbox %s: %w", kind, err)
	}
	return out, nil
}
