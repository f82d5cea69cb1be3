package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/confab/confab/internal/chat"
	"github.com/confab/confab/internal/config"
	"github.com/confab/confab/internal/server"
	"github.com/confab/confab/internal/store"
)

func cfgOf(t *testing.T, ini string) *config.Config {
	t.Helper()
	cfg, _, err := config.Parse("test.ini", []byte(ini))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// liveChat creates a chat with a customer (holding a secure key) and an
// agent, and three acknowledged messages.
func liveChat(t *testing.T, ctx context.Context, e *chat.Engine) (*chat.Session, chat.Participant, chat.Participant) {
	t.Helper()
	s, c, rc, err := e.Create(chat.CreateRequest{Tenant: "1", Endpoint: "default", Queue: "default", Service: "customer-support",
		UserData: map[string]any{"FirstName": "Ann"},
		Creator:  chat.JoinRequest{Nick: "Ann", Type: chat.Client, Protocol: chat.Flex, Secret: "secure-key-1"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := rc.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	a, _, err := s.Join(chat.JoinRequest{Nick: "Bob", Type: chat.Agent, Protocol: chat.Basic})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []struct{ from, text string }{{c.UserID, "hello"}, {a.UserID, "hi Ann"}, {c.UserID, "my order"}} {
		rc, err := s.Send(m.from, chat.Msg{Text: m.text})
		if err != nil {
			t.Fatal(err)
		}
		if err := rc.Wait(ctx); err != nil {
			t.Fatal(err)
		}
	}
	return s, c, a
}

// TestRestoreAfterGracefulShutdown checks both transcript-auto-save
// settings: a session live at a clean shutdown is back after the restart
// with the same id, positions and customer credential, the agent (its
// connection lost) removed with reason 8, and marked restored.
func TestRestoreAfterGracefulShutdown(t *testing.T) {
	for _, autoSave := range []int{0, 1} {
		t.Run("transcript-auto-save="+strconv.Itoa(autoSave), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			dir := t.TempDir()
			cfg := cfgOf(t, "[settings]\ntranscript-auto-save = "+strconv.Itoa(autoSave)+"\n")
			srv := start(t, dir, cfg)
			s, c, a := liveChat(t, ctx, srv.Engine())
			before, _, _ := s.ReadAll(0, nil)
			if err := srv.Shutdown(ctx); err != nil {
				t.Fatal(err)
			}

			srv2 := start(t, dir, cfg)
			defer srv2.Shutdown(ctx)
			r, err := srv2.Engine().Get(s.ID())
			if err != nil {
				t.Fatalf("session not restored: %v", err)
			}
			info := r.Info()
			if !info.Restored || info.State != chat.Alive {
				t.Fatalf("restored %v, state %s", info.Restored, info.State)
			}
			after, _, _ := r.ReadAll(0, nil)
			if len(after) != len(before)+1 {
				t.Fatalf("%d events after restore, want %d and the agent's departure", len(after), len(before))
			}
			for i := range before {
				if after[i].Pos != before[i].Pos || after[i].Kind != before[i].Kind || after[i].Text != before[i].Text || after[i].From.UserID != before[i].From.UserID {
					t.Fatalf("event %d differs: %+v, was %+v", i, after[i], before[i])
				}
			}
			if l := after[len(after)-1]; l.Kind != chat.PartyLeft || l.From.UserID != a.UserID || l.Reason != chat.RemovedRestore {
				t.Fatalf("last event %+v, want the agent leaving with reason 8", l)
			}
			p, err := r.Participant(c.UserID)
			if err != nil || p.Left || p.Secret != "secure-key-1" {
				t.Fatalf("customer %+v, %v", p, err)
			}
			if _, err := r.Send(c.UserID, chat.Msg{Text: "still there?"}); err != nil {
				t.Fatalf("the chat does not go on: %v", err)
			}
			if r.Service() != "customer-support" {
				t.Errorf("restored under service %q, want customer-support: its keys would work under any name", r.Service())
			}
		})
	}
}

// TestRestorationModeNone checks session-restoration-mode=none closes the
// sessions found live at start: the record is closed with the transcript
// and IsOnline=0, and no intermediate event is left.
func TestRestorationModeNone(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dir := t.TempDir()
	srv := start(t, dir, nil)
	s, _, _ := liveChat(t, ctx, srv.Engine())
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	srv2 := start(t, dir, cfgOf(t, "[settings]\nsession-restoration-mode = none\n"))
	if r, err := srv2.Engine().Get(s.ID()); err == nil && r.State() == chat.Alive {
		t.Fatal("the session is live with session-restoration-mode=none")
	}
	if err := srv2.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	st := storeOf(t, srv2)
	in, err := st.GetInteraction(ctx, s.ID())
	if err != nil {
		t.Fatal(err)
	}
	var ud map[string]any
	json.Unmarshal(in.UserData, &ud)
	if in.Status != store.StatusClosed || ud["IsOnline"] != "0" || !bytes.Contains(in.Transcript, []byte("my order")) {
		t.Fatalf("record after refusal: status %s, user data %s, transcript %s", in.Status, in.UserData, in.Transcript)
	}
	if rows, _ := st.LoadEvents(ctx, s.ID()); len(rows) != 0 {
		t.Fatalf("%d intermediate events left", len(rows))
	}
}

// TestClosedRecordIsComplete checks the closing transaction writes the
// routing keys with IsOnline=0 together with the final transcript.
func TestClosedRecordIsComplete(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	srv := start(t, t.TempDir(), nil)
	s, c, _ := liveChat(t, ctx, srv.Engine())
	rc, _, err := s.Leave(chat.LeaveRequest{UserID: c.UserID, After: chat.ForceClose})
	if err != nil {
		t.Fatal(err)
	}
	if err := rc.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	st := storeOf(t, srv)
	in, err := st.GetInteraction(ctx, s.ID())
	if err != nil {
		t.Fatal(err)
	}
	var ud map[string]any
	json.Unmarshal(in.UserData, &ud)
	if in.Status != store.StatusClosed || ud["IsOnline"] != "0" || ud["ChatServerSessionId"] != s.ID() {
		t.Fatalf("closed record: status %s, user data %s", in.Status, in.UserData)
	}
	srv.Shutdown(ctx)
}

// TestSecondServerRefusesDataDir checks one owner per data directory: a
// second node on the same directory refuses to start, naming it and the
// holder's pid, and starts once the first has shut down.
func TestSecondServerRefusesDataDir(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dir := t.TempDir()
	srv := start(t, dir, nil)
	_, err := server.New(ctx, server.Options{DataDir: dir, Listen: "127.0.0.1:0", Logger: quietLog(), Out: &bytes.Buffer{}})
	if err == nil {
		t.Fatal("a second server opened the same data directory")
	}
	abs, _ := filepath.Abs(dir)
	for _, want := range []string{abs, "pid " + strconv.Itoa(os.Getpid())} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	srv2 := start(t, dir, nil)
	srv2.Shutdown(ctx)
}
