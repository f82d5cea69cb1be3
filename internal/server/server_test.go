package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/confab/confab/internal/chat"
	"github.com/confab/confab/internal/config"
	"github.com/confab/confab/internal/history"
	"github.com/confab/confab/internal/server"
	"github.com/confab/confab/internal/store"
	"github.com/confab/confab/internal/store/sqlite"
	"github.com/confab/confab/internal/store/sqlite/sqlitetest"
)

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func start(t *testing.T, dir string, cfg *config.Config) *server.Server {
	t.Helper()
	var out bytes.Buffer
	sqlitetest.Seed(t, dir) // an empty store of the current schema unless dir has one: no migrations to run
	srv, err := server.New(context.Background(), server.Options{Config: cfg, DataDir: dir, Listen: "127.0.0.1:0", Logger: quietLog(), Out: &out})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := srv.Start(context.Background()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	if !bytes.Contains(out.Bytes(), []byte("http://127.0.0.1:")) {
		t.Fatalf("start-up output does not list the URLs:\n%s", out.String())
	}
	return srv
}

func get(t *testing.T, url string) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestHealthAndReadiness(t *testing.T) {
	srv := start(t, t.TempDir(), nil)
	base := "http://" + srv.Addr(config.PortHealth)
	if code := get(t, base+"/healthz"); code != http.StatusOK {
		t.Fatalf("/healthz = %d", code)
	}
	if code := get(t, base+"/readyz"); code != http.StatusOK {
		t.Fatalf("/readyz = %d", code)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Fatal("the listener still answers after Shutdown")
	}
}

// TestChatReachesContactHistory runs a chat through the engine of a real
// node with transcript-auto-save=1 and checks the store: the interaction
// record, the contact, the acknowledged intermediate events, and after the
// close the final transcript with every event.
func TestChatReachesContactHistory(t *testing.T) {
	dir := t.TempDir()
	cfg, _, err := config.Parse("test.ini", []byte("[settings]\ntranscript-auto-save = 1\n"))
	if err != nil {
		t.Fatal(err)
	}
	srv := start(t, dir, cfg)
	e := srv.Engine()
	s, client, rc, err := e.Create(chat.CreateRequest{
		Tenant: "1", Endpoint: "default", Queue: "default", Subject: "help",
		UserData: map[string]any{"EmailAddress": "Ann@Example.com", "FirstName": "Ann"},
		Creator:  chat.JoinRequest{Nick: "Ann", Type: chat.Client, Protocol: chat.Flex},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := rc.Wait(ctx); err != nil {
		t.Fatalf("creation not durable: %v", err)
	}
	agent, _, err := s.Join(chat.JoinRequest{Nick: "Bob", Type: chat.Agent, Protocol: chat.Basic})
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range []struct{ from, text string }{{client.UserID, "hello"}, {agent.UserID, "hi Ann"}, {client.UserID, "bye"}} {
		rc, err := s.Send(m.from, chat.Msg{Text: m.text})
		if err != nil {
			t.Fatal(err)
		}
		if err := rc.Wait(ctx); err != nil {
			t.Fatalf("message %d not durable: %v", i, err)
		}
	}
	// Acknowledged events are in the intermediate transcript before the close.
	st := storeOf(t, srv)
	rows, err := st.LoadEvents(ctx, s.ID())
	if err != nil || len(rows) != 5 {
		t.Fatalf("intermediate transcript: %d rows, err %v; want 5 (2 joins, 3 messages)", len(rows), err)
	}
	rc, closed, err := s.Leave(chat.LeaveRequest{UserID: agent.UserID, After: chat.ForceClose})
	if err != nil || !closed {
		t.Fatalf("force close: closed=%v err=%v", closed, err)
	}
	if err := rc.Wait(ctx); err != nil {
		t.Fatalf("close not durable: %v", err)
	}
	in, err := st.GetInteraction(ctx, s.ID())
	if err != nil {
		t.Fatal(err)
	}
	if in.Status != store.StatusClosed || in.ClosedAt.IsZero() || in.ContactID == "" || in.Queue != "default" || in.Subject != "help" {
		t.Fatalf("interaction after close = %+v", in)
	}
	var tr history.Transcript
	if err := json.Unmarshal(in.Transcript, &tr); err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, ev := range tr.Events {
		kinds = append(kinds, ev.Kind+":"+ev.Text)
	}
	want := "[newParty: newParty: message:hello message:hi Ann message:bye partyLeft: partyLeft:]"
	if got := "[" + strings.Join(kinds, " ") + "]"; got != want {
		t.Fatalf("final transcript events = %s\nwant %s", got, want)
	}
	if rows, _ := st.LoadEvents(ctx, s.ID()); len(rows) != 0 {
		t.Fatalf("%d intermediate events kept after the final transcript was written", len(rows))
	}
	c, err := st.GetContact(ctx, in.ContactID)
	if err != nil || c.Attributes["EmailAddress"] != "Ann@Example.com" {
		t.Fatalf("contact = %+v, %v", c, err)
	}
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
}

// storeOf opens a second handle on the node's database for reading.
func storeOf(t *testing.T, srv *server.Server) store.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), srv.DataDir(), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close(context.Background()) })
	return st
}
