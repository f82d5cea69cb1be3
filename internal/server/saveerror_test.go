package server_test

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/confab/confab/internal/chat"
	"github.com/confab/confab/internal/clock"
	"github.com/confab/confab/internal/server"
	"github.com/confab/confab/internal/store/sqlite"
)

// refuseEvents makes the node's real SQLite file refuse every new
// intermediate event (a trigger on each event table); the returned func
// lifts it.
func refuseEvents(t *testing.T, ctx context.Context, dir string) func() {
	t.Helper()
	db, err := sql.Open("sqlite", filepath.Join(dir, sqlite.FileName)+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	rows, err := db.QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE '%event%' AND name NOT LIKE '%sessions%'`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var n string
		rows.Scan(&n)
		tables = append(tables, n)
	}
	rows.Close()
	for i, tb := range tables {
		if _, err := db.ExecContext(ctx, fmt.Sprintf(`CREATE TRIGGER refuse_events_%d BEFORE INSERT ON %s
			BEGIN SELECT RAISE(ABORT, 'the disk says no'); END`, i, tb)); err != nil {
			t.Fatal(err)
		}
	}
	return func() {
		for i := range tables {
			if _, err := db.ExecContext(ctx, fmt.Sprintf(`DROP TRIGGER refuse_events_%d`, i)); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// advanceUntil moves the fake clock on by step (bounded) until cond holds;
// each step waits for a timer to be pending first, so the clock never runs
// ahead of a retry that is still being armed. (The tests' other timers are
// far off: flex-disconnect-timeout is set high.)
func advanceUntil(t *testing.T, fk *clock.Fake, step time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached")
		}
		if fk.Pending() > 0 {
			fk.Advance(step)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// TestTranscriptSaveOnError makes the store refuse every new intermediate
// event of a live chat (a trigger on the real SQLite file) and checks
// transcript-save-on-error after transcript-resend-attempts retries on the
// node's clock: with close the session ends, its parties removed by the
// server (reason 5, quit code 5 for the customer); with the default (none)
// it goes on without the event, which no party ever sees, and once the
// store takes writes again the chat carries on.
func TestTranscriptSaveOnError(t *testing.T) {
	for _, mode := range []string{"close", "none"} {
		t.Run(mode, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			dir := t.TempDir()
			fk := clock.NewFake(time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC))
			var out bytes.Buffer
			ini := "[settings]\ntranscript-auto-save = 1\ntranscript-resend-attempts = 1\ntranscript-resend-delay = 5\nflex-disconnect-timeout = 100000\n"
			if mode == "close" {
				ini += "transcript-save-on-error = close\n"
			}
			srv, err := server.New(ctx, server.Options{Config: cfgOf(t, ini), DataDir: dir, Listen: "127.0.0.1:0", Clock: fk, Logger: quietLog(), Out: &out})
			if err != nil {
				t.Fatal(err)
			}
			if err := srv.Start(ctx); err != nil {
				t.Fatal(err)
			}
			defer srv.Shutdown(ctx)
			s, c, a := liveChat(t, ctx, srv.Engine())
			seen, _, _, _ := s.Read(a.UserID, 0, nil)

			allow := refuseEvents(t, ctx, dir)
			rc, err := s.Send(c.UserID, chat.Msg{Text: "not kept"})
			if err != nil {
				t.Fatal(err)
			}
			answered := make(chan error, 1)
			go func() { answered <- rc.Wait(ctx) }()
			var sendErr error
			advanceUntil(t, fk, 5*time.Second, func() bool {
				select {
				case sendErr = <-answered:
					return true
				default:
					return false
				}
			})
			if sendErr == nil {
				t.Fatal("the refused write was acknowledged")
			}
			for _, ev := range func() []chat.Event { evs, _, _, _ := s.Read(a.UserID, 0, nil); return evs }() {
				if ev.Text == "not kept" {
					t.Fatal("the agent sees the message that was never stored")
				}
			}
			if mode == "none" {
				if s.State() != chat.Alive {
					t.Fatal("with none the session closed")
				}
				allow()
				rc, err := s.Send(c.UserID, chat.Msg{Text: "kept"})
				if err != nil {
					t.Fatal(err)
				}
				if err := rc.Wait(ctx); err != nil {
					t.Fatalf("after the store recovered: %v", err)
				}
				evs, _, _, _ := s.Read(a.UserID, 0, nil)
				if len(evs) != len(seen)+1 || evs[len(evs)-1].Text != "kept" {
					t.Fatalf("the agent reads %d events ending %q; want %d ending with the later message", len(evs), evs[len(evs)-1].Text, len(seen)+1)
				}
				return
			}
			// The close's own events meet the same refusal and retries.
			advanceUntil(t, fk, 5*time.Second, func() bool { return s.State() == chat.Closed })
			evs, _, _ := s.ReadAll(0, nil)
			var reason5 bool
			for _, ev := range evs {
				if ev.Kind == chat.PartyLeft && ev.From.UserID == c.UserID && ev.Reason == chat.RemovedByServer &&
					ev.Attrs.Sub(chat.KeySystem).String("quit-reason-code") == "5" {
					reason5 = true
				}
			}
			if !reason5 {
				t.Fatalf("the customer was not removed with reason 5: %+v", evs[len(evs)-1])
			}
		})
	}
}
