package server_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/confab/confab/internal/chat"
	"github.com/confab/confab/internal/store/sqlite"
)

// TestTranscriptSaveOnError makes the store refuse every new intermediate
// event of a live chat (a trigger on the real SQLite file) and checks
// transcript-save-on-error: with close the session ends, its parties
// removed by the server (reason 5, quit code 5 for the customer); with none
// it goes on.
func TestTranscriptSaveOnError(t *testing.T) {
	for _, mode := range []string{"close", "none"} {
		t.Run(mode, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			dir := t.TempDir()
			srv := start(t, dir, cfgOf(t, "[settings]\ntranscript-auto-save = 1\ntranscript-save-on-error = "+mode+"\n"))
			defer srv.Shutdown(ctx)
			s, c, _ := liveChat(t, ctx, srv.Engine())

			db, err := sql.Open("sqlite", filepath.Join(dir, sqlite.FileName)+"?_pragma=busy_timeout(5000)")
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if _, err := db.ExecContext(ctx, `CREATE TRIGGER refuse_events BEFORE INSERT ON session_events
				BEGIN SELECT RAISE(ABORT, 'the disk says no'); END`); err != nil {
				t.Fatal(err)
			}
			rc, err := s.Send(c.UserID, chat.Msg{Text: "not kept"})
			if err != nil {
				t.Fatal(err)
			}
			if err := rc.Wait(ctx); err == nil {
				t.Fatal("the refused write was acknowledged")
			}
			if mode == "none" {
				if s.State() != chat.Alive {
					t.Fatal("with none the session closed")
				}
				return
			}
			deadline := time.Now().Add(10 * time.Second)
			for s.State() != chat.Closed && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			if s.State() != chat.Closed {
				t.Fatal("with close the session is still alive")
			}
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
