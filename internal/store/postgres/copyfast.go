package postgres

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/confab/confab/internal/store"
)

// The COPY fast path: a batch of events only, every fenced session of it
// trusted (fencetrust.go) and owned by one node, is written by one
// simple-protocol query of up to three statements, which PostgreSQL runs
// and commits as one implicit transaction in one round trip:
//
//	EXECUTE confab_fence_lock('node');       -- the node's fence lock, shared (fencelock.go)
//	EXECUTE confab_fence_check('node', 12);  -- its claim count is still the one read
//	COPY session_events (...) FROM STDIN (FORMAT binary)
//
// COPY inserts the rows with the heap's multi-insert (one WAL record per
// page instead of one per row), with no executor, no arrays to decode, no
// joins and no rows returned; the fence is the same as the pipelined
// statement's for trusted sessions (the lock first, then the counts in a
// later statement: a claim either waits for this batch or has committed
// before the check's snapshot and makes it fail). A batch of epoch-0
// events only is the COPY alone.
//
// Anything the server refuses ends the implicit transaction with nothing
// of the batch written, and the batch is written again the pipelined way
// (pipeline.go), which sorts it out exactly as before: a claim's count
// changed (the check divides by zero) — the pipelined statement reads the
// owner rows and fences what it must; an event already stored (a unique
// violation: a replay or a conflict) — the pipeline is refused as well
// and the statement path compares each stored event with the batch's
// (identical: a replay, done; different: ErrConflict). So the COPY is
// only ever the path of a batch of new events of trusted sessions, and
// the outcome of every other batch is the one the pipeline gave.
//
// The node id is sent as a string literal (quotes doubled; the fast path
// is used only while the connection reports standard_conforming_strings
// on, so a backslash is an ordinary character); the claim count is an
// integer. The two statements are prepared once per connection
// (copyPrepare).

// copyEvents is the COPY statement; the columns are in the order copyPlan
// writes each row's fields.
const copyEvents = `COPY session_events (session_id, position, event_id, at, data) FROM STDIN (FORMAT binary)`

// copyHeader is binary COPY's signature, flags (0) and header extension
// length (0).
var copyHeader = []byte("PGCOPY\n\xff\r\n\x00\x00\x00\x00\x00\x00\x00\x00\x00")

// copyBatch is a batch's COPY query and data.
type copyBatch struct {
	sql  string
	data []byte
	n    int64 // rows
}

// copyPlan builds the COPY fast path of batch, or returns ok false if the
// batch goes the pipelined way: a write other than an event, a fenced
// session not trusted, an event that fails to encode or is invalid (the
// pipeline then fails it alone).
func (w *writer) copyPlan(batch []op) (c copyBatch, ok bool) {
	if w.noCopy || len(batch) == 0 {
		return c, false
	}
	for i := range batch {
		if o := &batch[i]; o.route != nil || o.st != nil || o.fn != nil {
			return c, false
		}
	}
	plan := w.s.trust.plan(batch)
	if len(plan.untrusted) > 0 {
		return c, false
	}
	sql, ok := copySQL(&plan)
	if !ok {
		return c, false
	}
	data := make([]byte, 0, len(copyHeader)+2+len(batch)*(2+5*4+16+3*8+400))
	data = append(data, copyHeader...)
	for i := range batch {
		e := &batch[i].ev
		data = binary.BigEndian.AppendUint16(data, 5)
		data = appendField(data, []byte(e.SessionID))
		data = appendInt8(data, e.Position)
		data = appendInt8(data, e.EventID)
		data = appendInt8(data, micros(e.Time))
		// A deferred event is encoded here, on the writer, straight into
		// the COPY data (store.EventRow.EncodeDataInto): its length first.
		at := len(data)
		data = append(data, 0, 0, 0, 0)
		var err error
		if data, err = e.EncodeDataInto(data); err != nil {
			return c, false
		}
		if err := validEvent(e); err != nil {
			return c, false
		}
		if len(data) == at+4 { // Data was set already: not appended
			data = append(data, e.Data...)
		}
		binary.BigEndian.PutUint32(data[at:], uint32(len(data)-at-4))
	}
	data = binary.BigEndian.AppendUint16(data, 0xffff) // the trailer: -1
	return copyBatch{sql: sql, data: data, n: int64(len(batch))}, true
}

// appendField appends a binary COPY field: its length and bytes.
func appendField(dst, b []byte) []byte {
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(b)))
	return append(dst, b...)
}

// appendInt8 appends a bigint field.
func appendInt8(dst []byte, v int64) []byte {
	dst = binary.BigEndian.AppendUint32(dst, 8)
	return binary.BigEndian.AppendUint64(dst, uint64(v))
}

// copySQL is the query of a fast-path batch whose trusted nodes and counts
// are those of plan: the fence lock and check when there is a node (the
// connection's prepared statements, copyPrepare), then the COPY. ok is
// false if the batch's sessions are owned by more than one node (claimed
// sessions: the pipelined path fences them) or the node id cannot be sent
// as a literal.
func copySQL(plan *fencePlan) (string, bool) {
	switch len(plan.nodes) {
	case 0:
		return copyEvents, true
	case 1:
	default:
		return "", false
	}
	node := plan.nodes[0]
	if strings.ContainsRune(node, 0) || !utf8.ValidString(node) {
		return "", false
	}
	lit := "'" + strings.ReplaceAll(node, "'", "''") + "'"
	return "EXECUTE confab_fence_lock(" + lit + ");\nEXECUTE confab_fence_check(" + lit + ", " +
		strconv.FormatInt(plan.claims[0], 10) + ");\n" + copyEvents, true
}

// The fast path's fence statements, prepared once per connection (SQL
// PREPARE: EXECUTE in a simple query then reuses the plan). They have no
// FROM list, so their generic plan is as cheap as a custom one and the
// plan cache keeps it: a first version over unnest(...) of arrays was
// planned anew on every batch (GetCachedPlan was a fifth of the backend's
// CPU). The lock is lockOwners' for the trusted node; the check divides by
// zero (SQLSTATE 22012) unless the node's claim count is the one sent,
// which ends the implicit transaction before the COPY.
const (
	prepareFenceLock = `PREPARE confab_fence_lock(text) AS
	SELECT pg_advisory_xact_lock_shared(1181639525, hashtext($1))`
	prepareFenceCheck = `PREPARE confab_fence_check(text, bigint) AS
	SELECT 1 / (coalesce((SELECT claims FROM fence_claims WHERE node_id = $1), 0) = $2)::int`
	copyPrepared = "confab.copyfence" // CustomData key: the connection has them
)

// copyPrepare prepares the fence statements on conn unless it has them.
func copyPrepare(ctx context.Context, conn *pgxpool.Conn) error {
	pc := conn.Conn().PgConn()
	if pc.CustomData()[copyPrepared] != nil {
		return nil
	}
	for _, sql := range []string{prepareFenceLock, prepareFenceCheck} {
		if _, err := pc.Exec(ctx, sql).ReadAll(); err != nil {
			var pe *pgconn.PgError
			if !errors.As(err, &pe) || pe.Code != "42P05" { // duplicate_prepared_statement: it has it
				return fmt.Errorf("postgres: prepare the COPY path's fence: %w", err)
			}
		}
	}
	pc.CustomData()[copyPrepared] = true
	return nil
}

// copyable reports whether conn may run the fast path (node ids as
// literals need standard_conforming_strings).
func copyable(conn *pgxpool.Conn) bool {
	return conn.Conn().PgConn().ParameterStatus("standard_conforming_strings") == "on"
}

// copyRun sends c on conn and waits for its commit.
func copyRun(ctx context.Context, conn *pgxpool.Conn, c *copyBatch) error {
	if c.sql != copyEvents {
		if err := copyPrepare(ctx, conn); err != nil {
			return err
		}
	}
	tag, err := conn.Conn().PgConn().CopyFrom(ctx, bytes.NewReader(c.data), c.sql)
	if err != nil {
		return err
	}
	if n := tag.RowsAffected(); n != c.n {
		return fmt.Errorf("postgres: COPY wrote %d rows of %d", n, c.n)
	}
	return nil
}

// copyEnd is the outcome of a fast-path batch whose query ended with err:
// one the server refused is written again the pipelined way on the same
// connection (and from there, if need be, the statement way).
func (w *writer) copyEnd(ctx context.Context, conn *pgxpool.Conn, batch []op, err error, began time.Time) ([]store.ItemError, error) {
	if err == nil {
		w.syncHist.RecordDuration(time.Since(began))
		w.nCopied.Add(1)
		return nil, nil
	}
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return nil, batchErr(batch, "copy", err)
	}
	w.nCopyFellBack.Add(1)
	if pe.Code == "26000" { // invalid_sql_statement_name: the session lost them (e.g. a pooler between)
		delete(conn.Conn().PgConn().CustomData(), copyPrepared)
	}
	r, p := newPipeline(batch, &w.s.trust)
	began = time.Now()
	return w.pipelineEnd(ctx, conn, batch, r, p.send(ctx, conn), began)
}
