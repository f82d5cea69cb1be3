package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/confab/confab/internal/store"
)

// closeComposed closes an interaction with its final transcript composed
// in the backend from the session's stored events (store.FinalEvents):
// the head ($2), then per part ($6–$9, in order: position, event id,
// timeShift, literal) either the literal or the stored event's bytes with
// the timeShift put before its userId, joined with commas, then the end
// ($10). Only the head and the literals travel; the events stay in the
// backend. The record is closed only if every referenced event is stored
// with its event id and has a userId ($11: how many are referenced); else
// nothing is written and the close is written with the whole document.
const closeComposed = `WITH p AS (
		SELECT u.ord, CASE WHEN u.pos < 0 THEN u.lit
			WHEN u.shift = 0 THEN e.data
			ELSE overlay(e.data PLACING convert_to(',"timeShift":' || u.shift::text, 'UTF8')
				FROM position($12::bytea IN e.data) FOR 0) END AS part,
			u.pos >= 0 AND e.data IS NOT NULL AND (u.shift = 0 OR position($12::bytea IN e.data) > 0) AS found
		FROM unnest($6::bigint[], $7::bigint[], $8::bigint[], $9::bytea[]) WITH ORDINALITY AS u(pos, eid, shift, lit, ord)
		LEFT JOIN session_events AS e ON u.pos >= 0 AND e.session_id = $5::text AND e.position = u.pos AND e.event_id = u.eid),
	f AS (SELECT count(*) FILTER (WHERE found) AS n, string_agg(part, '\x2c'::bytea ORDER BY ord) AS evs FROM p),
	c AS (UPDATE interactions SET status = 'closed', closed_at = $1,
		transcript = $2::bytea || coalesce(f.evs, ''::bytea) || $10::bytea, stats = $3, user_data = coalesce($4, user_data), version = version + 1
		FROM f WHERE id = $5 AND f.n = $11::bigint RETURNING id),
	d AS (DELETE FROM session_events WHERE session_id = $5 AND EXISTS (SELECT 1 FROM c))
SELECT 1 FROM c`

// errNotComposed: closeComposed wrote nothing (a referenced event is not
// stored, or no such interaction).
var errNotComposed = errors.New("final transcript not composed from the stored events")

// tryCloseComposed runs closeComposed; done is false when it wrote nothing.
func (s *Store) tryCloseComposed(ctx context.Context, id string, closedAt time.Time, fe *store.FinalEvents, stats, userData []byte) (done bool, err error) {
	n := len(fe.Events)
	pos, eid, shift := make([]int64, n), make([]int64, n), make([]int64, n)
	lit := make([][]byte, n)
	refs := 0
	for i, ev := range fe.Events {
		pos[i], eid[i], shift[i] = ev.Pos, ev.EventID, ev.Shift
		if ev.Pos < 0 {
			lit[i] = ev.Literal
		} else {
			refs++
		}
	}
	head := fe.Head
	if head == nil {
		head = []byte{}
	}
	err = s.doStmt(ctx, "interaction "+id, &stmt{
		build: fixed(closeComposed, micros(closedAt), head, blob(stats), blob(userData), id,
			pos, eid, shift, lit, []byte(store.FinalTail), refs, []byte(store.UserIDField)),
		check: one(errNotComposed),
	})
	if errors.Is(err, errNotComposed) {
		return false, nil
	}
	return err == nil, err
}
