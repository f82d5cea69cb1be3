package server_test

import (
	"bytes"
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/confab/confab/internal/chat"
	"github.com/confab/confab/internal/clock"
	"github.com/confab/confab/internal/server"
)

// TestRestoreKeepsSessionValues sets a session's own values the way the
// workflow does (IdleControlConfigure: its inactivity timeouts and texts;
// ConfigureSession: its language), restarts the node on the same data
// directory and checks the restored session has them: the values
// themselves, and its inactivity alert coming after the session's timeout
// (not the configured one) in the session's language. Nobody reads the
// record that carries them.
func TestRestoreKeepsSessionValues(t *testing.T) {
	for _, autoSave := range []int{0, 1} {
		t.Run("transcript-auto-save="+strconv.Itoa(autoSave), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			dir := t.TempDir()
			cfg := cfgOf(t, "[settings]\ntranscript-auto-save = "+strconv.Itoa(autoSave)+`
flex-disconnect-timeout = 100000
[inactivity-control]
enabled = true
timeout-alert = 30
timeout-close = 30
message-alert = Are you still there?
[language:french]
language = fr
message-alert = Êtes-vous toujours là ?
`)
			fk := clock.NewFake(time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC))
			startAt := func() *server.Server {
				var out bytes.Buffer
				srv, err := server.New(ctx, server.Options{Config: cfg, DataDir: dir, Listen: "127.0.0.1:0", Clock: fk, Logger: quietLog(), Out: &out})
				if err != nil {
					t.Fatal(err)
				}
				if err := srv.Start(ctx); err != nil {
					t.Fatal(err)
				}
				return srv
			}
			srv := startAt()
			s, c, _ := liveChat(t, ctx, srv.Engine())
			before, _, _, _ := s.Read(c.UserID, 0, nil)
			alert, on := 300*time.Second, true
			if err := s.ConfigureIdle(chat.IdleOverride{Enabled: &on, TimeoutAlert: &alert}, false); err != nil {
				t.Fatal(err)
			}
			if lang, err := s.SelectLanguage("french", ""); err != nil || lang != "french" {
				t.Fatalf("language %q, %v", lang, err)
			}
			if evs, _, _, _ := s.Read(c.UserID, 0, nil); len(evs) != len(before) {
				t.Fatalf("the customer reads %d events after the settings changed, want %d: the record is visible", len(evs), len(before))
			}
			if err := srv.Shutdown(ctx); err != nil {
				t.Fatal(err)
			}

			srv2 := startAt()
			defer srv2.Shutdown(ctx)
			r, err := srv2.Engine().Get(s.ID())
			if err != nil {
				t.Fatalf("session not restored: %v", err)
			}
			got := r.IdleControl()
			if got.TimeoutAlert == nil || *got.TimeoutAlert != alert || got.Enabled == nil || !*got.Enabled {
				t.Fatalf("restored idle control %+v, want timeout-alert %v and enabled", got, alert)
			}
			if l := r.Info().Language; l != "french" {
				t.Fatalf("restored language %q, want french", l)
			}
			// The agent (its connection lost at the restart) joins again:
			// inactivity control runs while a customer and an agent are in.
			if _, rc, err := r.Join(chat.JoinRequest{Nick: "Bob", Type: chat.Agent, Protocol: chat.Basic}); err != nil || rc.Wait(ctx) != nil {
				t.Fatalf("agent joins again: %v", err)
			}
			n0, _, _ := r.ReadAll(0, nil)
			idleAlerts := func() []chat.Event {
				evs, _, _, _ := r.Read(c.UserID, 0, nil)
				var out []chat.Event
				for _, ev := range evs {
					if ev.Kind == chat.Notice && ev.Notice == chat.IdleAlert {
						out = append(out, ev)
					}
				}
				return out
			}
			fk.Advance(60 * time.Second) // past the configured 30 s
			if a := idleAlerts(); len(a) != 0 {
				t.Fatalf("alert after the configured timeout, not the session's: %+v", a)
			}
			fk.Advance(alert)
			deadline := time.Now().Add(10 * time.Second)
			for len(idleAlerts()) == 0 && time.Now().Before(deadline) {
				time.Sleep(5 * time.Millisecond)
			}
			a := idleAlerts()
			if len(a) != 1 || a[0].Text != "Êtes-vous toujours là ?" {
				all, _, _ := r.ReadAll(len(n0), nil)
				t.Fatalf("after the session's timeout: alerts %+v (events since restore %+v); want one in French", a, all)
			}
		})
	}
}
