package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
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
	dir := t.TempDir()
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
		if _, ok := s.w.recs.get(id); ok {
			t.Errorf("%s: still known after its close", id)
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
	if s.w.recs.nextRid != 0 || len(s.w.recs.byID) != 0 {
		t.Fatalf("after another connection's commit: %d known, next rid %d; want both forgotten", len(s.w.recs.byID), s.w.recs.nextRid)
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
