package history_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/confab/confab/internal/chat"
	"github.com/confab/confab/internal/clock"
	"github.com/confab/confab/internal/history"
	"github.com/confab/confab/internal/store/sqlite"
)

// refuser makes a real SQLite store refuse every new intermediate event,
// with a trigger on each table that holds them, until allow.
type refuser struct {
	t  *testing.T
	db *sql.DB
}

func newRefuser(t *testing.T, dir string) *refuser {
	db, err := sql.Open("sqlite", filepath.Join(dir, sqlite.FileName)+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return &refuser{t: t, db: db}
}

func (r *refuser) tables() []string {
	rows, err := r.db.Query(`SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE '%event%' AND name NOT LIKE '%sessions%'`)
	if err != nil {
		r.t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		rows.Scan(&n)
		out = append(out, n)
	}
	if len(out) == 0 {
		r.t.Fatal("no event table found")
	}
	return out
}

func (r *refuser) refuse() {
	for i, tb := range r.tables() {
		if _, err := r.db.Exec(fmt.Sprintf(`CREATE TRIGGER refuse_%d BEFORE INSERT ON %s BEGIN SELECT RAISE(ABORT, 'the disk says no'); END`, i, tb)); err != nil {
			r.t.Fatal(err)
		}
	}
}

func (r *refuser) allow() {
	for i := range r.tables() {
		if _, err := r.db.Exec(fmt.Sprintf(`DROP TRIGGER refuse_%d`, i)); err != nil {
			r.t.Fatal(err)
		}
	}
}

// waitTimers waits (bounded) until the fake clock holds n timers.
func waitTimers(t *testing.T, fk *clock.Fake, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for fk.Pending() != n {
		if time.Now().After(deadline) {
			t.Fatalf("fake clock holds %d timers, want %d", fk.Pending(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

func done(rc chat.Receipt) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	return rc.Wait(ctx) != context.DeadlineExceeded
}

// TestResendFailedEvent checks transcript-resend-attempts and
// transcript-resend-delay against a SQLite store that really refuses
// writes: a failed intermediate event is written again every delay on the
// clock, its sender is acknowledged and its readers see it only once a
// retry has stored it, and when the retries run out the sender gets the
// error, the engine is told, and nobody ever sees the event.
func TestResendFailedEvent(t *testing.T) {
	const delay = 5 * time.Second
	tests := []struct {
		name     string
		attempts int
		recover  int // the store takes writes again before this retry; 0 never
	}{
		{"stored on the second retry", 3, 2},
		{"stored on the last retry", 2, 2},
		{"retries run out", 2, 0},
		{"no retries", 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			dir := t.TempDir()
			st, err := sqlite.Open(ctx, dir, sqlite.Options{})
			if err != nil {
				t.Fatal(err)
			}
			fk := clock.NewFake(time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC))
			j := history.New(history.Options{Store: st, AutoSave: func() int { return 1 }, Clock: fk,
				Resend: func() history.Resend { return history.Resend{Attempts: tt.attempts, Delay: delay} }})
			defer func() { j.Close(ctx); st.Close(ctx) }()
			failed := make(chan int, 4)
			e := chat.New(chat.Options{Clock: fk, Journal: j, OnWriteError: func(_ *chat.Session, pos int, _ error) { failed <- pos }})
			s, c, rc, err := e.Create(chat.CreateRequest{Queue: "q", Creator: chat.JoinRequest{Nick: "c", Type: chat.Client}})
			if err != nil {
				t.Fatal(err)
			}
			a, arc, _ := s.Join(chat.JoinRequest{Nick: "a", Type: chat.Agent, Protocol: chat.Basic})
			if err := rc.Wait(ctx); err != nil {
				t.Fatal(err)
			}
			if err := arc.Wait(ctx); err != nil {
				t.Fatal(err)
			}

			r := newRefuser(t, dir)
			r.refuse()
			msg, err := s.Send(c.UserID, chat.Msg{Text: "hello"})
			if err != nil {
				t.Fatal(err)
			}
			for try := 1; try <= tt.attempts; try++ {
				waitTimers(t, fk, 1) // the retry is due in one delay
				if done(msg) {
					t.Fatalf("before retry %d the send is already answered", try)
				}
				if evs, _, _, _ := s.Read(a.UserID, 0, nil); len(evs) != 2 {
					t.Fatalf("before retry %d the agent sees %d events, want 2 (not the unstored message)", try, len(evs))
				}
				if try == tt.recover {
					r.allow()
				}
				fk.Advance(delay - time.Millisecond)
				if fk.Pending() != 1 {
					t.Fatal("retry made before the delay")
				}
				fk.Advance(time.Millisecond)
				if try == tt.recover {
					break
				}
			}
			err = msg.Wait(ctx)
			stored, _ := st.LoadEvents(ctx, s.ID())
			if tt.recover > 0 {
				if err != nil {
					t.Fatalf("send after the store recovered: %v", err)
				}
				if len(stored) != 3 {
					t.Fatalf("%d events stored, want 3", len(stored))
				}
				if evs, _, _, _ := s.Read(a.UserID, 0, nil); len(evs) != 3 || evs[2].Text != "hello" {
					t.Fatalf("the agent reads %d events after the retry, want the message third", len(evs))
				}
				return
			}
			if err == nil {
				t.Fatal("a send never stored was acknowledged")
			}
			select {
			case pos := <-failed:
				if pos != 2 {
					t.Fatalf("failure reported at %d, want 2", pos)
				}
			case <-ctx.Done():
				t.Fatal("the engine was not told of the failure")
			}
			if len(stored) != 2 {
				t.Fatalf("%d events stored, want 2", len(stored))
			}
			if fk.Pending() != 0 {
				t.Fatalf("%d timers left after the retries ran out", fk.Pending())
			}
			r.allow()
			next, err := s.Send(c.UserID, chat.Msg{Text: "again"})
			if err != nil || next.Wait(ctx) != nil {
				t.Fatalf("the session does not go on: %v", err)
			}
			evs, _, _, _ := s.Read(a.UserID, 0, nil)
			if len(evs) != 3 || evs[2].Text != "again" {
				t.Fatalf("the agent reads %+v; want the two joins and the later message, never the failed one", evs)
			}
		})
	}
}
