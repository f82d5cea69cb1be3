package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/confab/confab/internal/store"
)

// queue runs f on a goroutine of its own and returns once its write is
// queued on the (held) writer, with the channel f's result arrives on.
func queue(s *Store, f func() error) <-chan error {
	done := make(chan error, 1)
	before := s.gc.Stats().Pending
	go func() { done <- f() }()
	for s.gc.Stats().Pending == before {
		runtime.Gosched()
	}
	return done
}

// closedRecord reads back a closed record and checks its transcript.
func closedRecord(t *testing.T, s *Store, id, transcript string) store.Interaction {
	t.Helper()
	in, err := s.GetInteraction(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if in.Status != store.StatusClosed || string(in.Transcript) != transcript || in.ClosedAt.IsZero() {
		t.Fatalf("%s: status %s, transcript %q, closed at %v; want closed with %q", id, in.Status, in.Transcript, in.ClosedAt, transcript)
	}
	return in
}

// TestCloseKnownRecords checks the closes the writer writes by rid (records
// it created) against those it looks up (records of an earlier Open): the
// same record, transcript, statistics, user data and version either way,
// a final row replaced in place when the record had one, and a close in the
// same batch as the create.
func TestCloseKnownRecords(t *testing.T) {
	ctx := context.Background()
	dir := freshDir(t)
	s, err := Open(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Unix(1_800_000_000, 0).UTC()
	for _, id := range []string{"old", "known", "withFinal", "sameBatch"} {
		in := store.Interaction{ID: id, SessionID: id, Queue: "q", State: "queued", UserData: json.RawMessage(`{"a":"1"}`), CreatedAt: at}
		if id == "withFinal" {
			in.Transcript, in.Stats = json.RawMessage(`{"draft":true}`), json.RawMessage(`{"n":0}`)
		}
		if id == "sameBatch" {
			continue
		}
		if err := s.CreateInteraction(ctx, in); err != nil {
			t.Fatal(err)
		}
		if id == "old" { // forgotten by a reopen below
			continue
		}
		if _, ok := s.w.recs.get(id); !ok {
			t.Fatalf("the writer does not know %s, which it created", id)
		}
	}
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if s, err = Open(ctx, dir, Options{}); err != nil {
		t.Fatal(err)
	}
	defer s.Close(ctx)
	if _, ok := s.w.recs.get("old"); ok {
		t.Fatal("a new writer knows a record it did not create")
	}
	// Created again by this writer: "known" and "withFinal" are known
	// once this Open creates them; recreate under new ids.
	for _, id := range []string{"known2", "withFinal2"} {
		in := store.Interaction{ID: id, SessionID: id, Queue: "q", State: "queued", UserData: json.RawMessage(`{"a":"1"}`), CreatedAt: at}
		if id == "withFinal2" {
			in.Transcript, in.Stats = json.RawMessage(`{"draft":true}`), json.RawMessage(`{"n":0}`)
		}
		if err := s.CreateInteraction(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	if ref, ok := s.w.recs.get("withFinal2"); !ok || ref.fid == 0 {
		t.Fatalf("withFinal2: %+v %v, want a known record with its final row", ref, ok)
	}

	release := hold(t, s)
	creates := queue(s, func() error {
		return s.CreateInteraction(ctx, store.Interaction{ID: "sameBatch", SessionID: "sameBatch", Queue: "q", CreatedAt: at})
	})
	var closes []<-chan error
	for _, id := range []string{"old", "known2", "withFinal2", "sameBatch", "missing"} {
		closes = append(closes, queue(s, func() error {
			return s.CloseInteraction(ctx, id, at.Add(time.Minute), store.Bytes(json.RawMessage(`{"final":"`+id+`"}`)),
				json.RawMessage(`{"n":1}`), json.RawMessage(`{"a":"2"}`))
		}))
	}
	release()
	if err := <-creates; err != nil {
		t.Fatal(err)
	}
	for i, c := range closes {
		err := <-c
		if i == len(closes)-1 {
			if !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("close of a missing record: %v, want ErrNotFound", err)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	var finals int
	for _, id := range []string{"old", "known2", "withFinal2", "sameBatch"} {
		in := closedRecord(t, s, id, `{"final":"`+id+`"}`)
		if string(in.Stats) != `{"n":1}` || string(in.UserData) != `{"a":"2"}` || in.Version != 2 {
			t.Errorf("%s: stats %s, user data %s, version %d", id, in.Stats, in.UserData, in.Version)
		}
		if ref, ok := s.w.recs.get(id); !ok || !ref.closed {
			t.Errorf("%s: after its close known %v as %+v, want known closed (for routing's last update)", id, ok, ref)
		}
	}
	// One final row per record: withFinal2's was replaced, not added to.
	if err := s.rdb.QueryRowContext(ctx, "SELECT count(*) FROM interaction_finals").Scan(&finals); err != nil {
		t.Fatal(err)
	}
	if finals != 5 { // withFinal's (never closed) and the four closed records', withFinal2's once
		t.Errorf("%d final rows, want 5", finals)
	}
	var orphans int
	if err := s.rdb.QueryRowContext(ctx, `SELECT count(*) FROM interaction_finals AS f
		WHERE NOT EXISTS (SELECT 1 FROM interactions AS i WHERE i.final_id = f.fid)`).Scan(&orphans); err != nil {
		t.Fatal(err)
	}
	if orphans != 0 {
		t.Errorf("%d final rows no record points to", orphans)
	}
}

// TestRecordsFollowFailedBatches checks that a batch that fails (here an
// environmental failure of another write in it) takes the records it
// created out of the writer's bookkeeping, and that a commit by another
// connection empties it: a close afterwards still finds the right record.
func TestRecordsFollowFailedBatches(t *testing.T) {
	ctx := context.Background()
	s := open(t)
	at := time.Unix(1_800_000_000, 0).UTC()
	create := func(id string) error {
		return s.CreateInteraction(ctx, store.Interaction{ID: id, SessionID: id, Queue: "q", CreatedAt: at})
	}
	release := hold(t, s)
	created := queue(s, func() error { return create("lost") })
	boom := s.gc.Enqueue(ctx, op{what: "boom", fn: func(context.Context, *writer) error { return errors.New("disk on fire") }})
	release()
	if err := <-created; err == nil {
		t.Fatal("the create committed with a failed batch")
	}
	if err := boom.Wait(ctx); err == nil {
		t.Fatal("the failing write succeeded")
	}
	if _, ok := s.w.recs.get("lost"); ok {
		t.Fatal("the writer knows a record whose batch failed")
	}
	if err := s.CloseInteraction(ctx, "lost", at, store.Bytes(json.RawMessage(`{}`)), nil, nil); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("close of a record never committed: %v, want ErrNotFound", err)
	}
	// Created again, numbered after the failed batch's number (a gap).
	if err := create("lost"); err != nil {
		t.Fatal(err)
	}
	if err := create("other"); err != nil {
		t.Fatal(err)
	}

	// Another connection commits: the writer forgets what it knew and
	// reads the next numbers again.
	tool, err := sql.Open("sqlite", "file:"+s.path+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer tool.Close()
	if _, err := tool.ExecContext(ctx, "UPDATE interactions SET subject = 'by a tool' WHERE id = 'other'"); err != nil {
		t.Fatal(err)
	}
	if err := s.CloseInteraction(ctx, "lost", at, store.Bytes(json.RawMessage(`{"t":1}`)), nil, nil); err != nil {
		t.Fatal(err)
	}
	closedRecord(t, s, "lost", `{"t":1}`)
	if ref, ok := s.w.recs.get("lost"); s.w.recs.nextRid != 0 || len(s.w.recs.byID) != 1 || !ok || !ref.closed {
		t.Fatalf("after another connection's commit and a close: %d known (lost: %+v), next rid %d; want only the closed record",
			len(s.w.recs.byID), ref, s.w.recs.nextRid)
	}
	if err := create("third"); err != nil {
		t.Fatal(err)
	}
	var maxRid, thirdRid int64
	if err := s.rdb.QueryRowContext(ctx, "SELECT max(rid), (SELECT rid FROM interactions WHERE id = 'third') FROM interactions").Scan(&maxRid, &thirdRid); err != nil {
		t.Fatal(err)
	}
	if ref, ok := s.w.recs.get("third"); !ok || ref.rid != thirdRid || thirdRid != maxRid {
		t.Fatalf("third: known %v as %+v, stored as rid %d (largest %d)", ok, ref, thirdRid, maxRid)
	}
	if err := s.CloseInteraction(ctx, "other", at, store.Bytes(json.RawMessage(`{"t":2}`)), nil, nil); err != nil {
		t.Fatal(err)
	}
	if in := closedRecord(t, s, "other", `{"t":2}`); in.Subject != "by a tool" {
		t.Fatalf("subject %q", in.Subject)
	}
}

// TestRecordsForgetOldClosed checks that the closed records the writer
// keeps knowing are bounded, the oldest forgotten first, open ones kept,
// and that a rollback restores what a batch's closes changed.
func TestRecordsForgetOldClosed(t *testing.T) {
	var r records
	r.set("open", recRef{rid: 1})
	for i := range maxClosedKnown + 10 {
		id := fmt.Sprint("c", i)
		r.set(id, recRef{rid: int64(i + 2)})
		r.close(id)
	}
	r.committed()
	if n := len(r.byID); n != maxClosedKnown+1 {
		t.Fatalf("%d known, want %d closed and the open one", n, maxClosedKnown)
	}
	if _, ok := r.get("c9"); ok {
		t.Fatal("an old closed record is still known")
	}
	if ref, ok := r.get("open"); !ok || ref.closed {
		t.Fatalf("open record: %+v %v", ref, ok)
	}
	mark := r.mark()
	r.close("open")
	for i := range 20 {
		r.set(fmt.Sprint("n", i), recRef{rid: int64(100000 + i)})
		r.close(fmt.Sprint("n", i))
	}
	if _, ok := r.get("c10"); ok {
		t.Fatal("closes did not forget the oldest")
	}
	r.rollbackTo(mark)
	if ref, ok := r.get("open"); !ok || ref.closed {
		t.Fatalf("after the rollback the open record is %+v %v", ref, ok)
	}
	if _, ok := r.get("c10"); !ok {
		t.Fatal("after the rollback a closed record forgotten by it is still forgotten")
	}
	if len(r.closed)-r.head != maxClosedKnown || r.closed[r.head] != "c10" {
		t.Fatalf("after the rollback the closed list holds %d from %q", len(r.closed)-r.head, r.closed[r.head])
	}
	// The full batch's rollback, after more closes, back to the commit.
	r.close("open")
	r.rollback()
	if ref, _ := r.get("open"); ref.closed || len(r.closed)-r.head != maxClosedKnown {
		t.Fatalf("after the batch's rollback: open %+v, %d closed", ref, len(r.closed)-r.head)
	}
	for i := range 3 * maxClosedKnown {
		id := fmt.Sprint("m", i)
		r.set(id, recRef{rid: int64(200000 + i)})
		r.close(id)
		r.committed()
	}
	if len(r.byID) != maxClosedKnown+1 || cap(r.closed) > 4*maxClosedKnown {
		t.Fatalf("after many batches: %d known, closed list of capacity %d", len(r.byID), cap(r.closed))
	}
	if _, ok := r.get("n0"); ok {
		t.Fatal("after the rollback a record of the batch is known")
	}
}
