package agent_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	wire "github.com/confab/confab/client/agent"
	"github.com/confab/confab/internal/api/agent"
	"github.com/confab/confab/internal/chat"
)

// TestRejoinAsTheSameParty: an agent whose socket ended joins again with
// its party's user id: the join needs no offer, the new socket keeps
// receiving after the replay of its old departure, a send retried with the
// first request id is applied once; another account may not take the user
// id, and a present party cannot be joined twice.
func TestRejoinAsTheSameParty(t *testing.T) {
	e := newEnv(t, chat.Settings{}, nil)
	s, cust := e.customer(t, "q", false)
	ctx := ctxT(t)
	first := e.dial(t, tokAlice)
	j, err := first.Accept(ctx, s.ID(), wire.JoinOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sent, err := first.Do(ctx, wire.Request{ID: "r1", Op: wire.OpSend, SessionID: s.ID(), Text: "m1"})
	if err != nil {
		t.Fatal(err)
	}
	first.Close()
	customerSees(t, s, cust.UserID, func(ev chat.Event) bool { return ev.Kind == chat.PartyLeft && ev.From.UserID == j.UserID })

	bob := e.dial(t, tokBob)
	if _, err := bob.Do(ctx, wire.Request{Op: wire.OpJoin, SessionID: s.ID(), UserID: j.UserID}); codeOf(err) != wire.CodeForbidden {
		t.Fatalf("another account rejoins as alice's party: %v, want forbidden", err)
	}

	again := e.dial(t, tokAlice)
	rj, err := again.Do(ctx, wire.Request{Op: wire.OpJoin, SessionID: s.ID(), UserID: j.UserID})
	if err != nil || rj.UserID != j.UserID {
		t.Fatalf("rejoin: %+v, %v", rj, err)
	}
	if _, err := e.dial(t, tokAlice).Do(ctx, wire.Request{Op: wire.OpJoin, SessionID: s.ID(), UserID: j.UserID}); codeOf(err) != wire.CodeJoined {
		t.Fatalf("rejoin of a present party: %v, want already-joined", err)
	}
	dup, err := again.Do(ctx, wire.Request{ID: "r1", Op: wire.OpSend, SessionID: s.ID(), Text: "m1"})
	if err != nil || *dup.Pos != *sent.Pos {
		t.Fatalf("retried send: %+v, %v; want the first position %d", dup, err, *sent.Pos)
	}
	if _, err := s.Send(cust.UserID, chat.Msg{Text: "after"}); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, again, func(_ string, ev wire.Event) bool { return ev.Text == "after" })
	n := 0
	evs, _, _, _ := s.Read(cust.UserID, 0, nil)
	for _, ev := range evs {
		if ev.Kind == chat.Message && ev.Text == "m1" {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("m1 is %d times in the transcript, want once", n)
	}
}

// TestClientMovesToTheNextNode: two listeners serve one engine (two nodes'
// addresses); the client's first node drops every connection; the client
// moves to the second, joins its session again as the same party, goes on
// from the last event it delivered (no event twice, none missing) and a
// send issued across the move lands once.
func TestClientMovesToTheNextNode(t *testing.T) {
	e := newEnv(t, chat.Settings{}, nil)
	h2 := agent.New(agent.Options{Engine: e.engine, Router: e.router, Agents: testAgents, MaxFrame: func() int { return 4096 }})
	mux := http.NewServeMux()
	h2.Register(mux)
	srv2 := httptest.NewServer(mux)
	defer srv2.Close()
	defer h2.Shutdown(ctxT(t))
	s, cust := e.customer(t, "q", false)
	ctx := ctxT(t)
	c, err := wire.Dial(ctx, e.url, tokAlice, &wire.Options{Nodes: []string{srv2.URL}, FailoverTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Accept(ctx, s.ID(), wire.JoinOptions{}); err != nil {
		t.Fatal(err)
	}
	seen := map[int]int{}
	texts := map[string]int{}
	read := func(until string) {
		t.Helper()
		timeout := time.After(5 * time.Second)
		for texts[until] == 0 {
			select {
			case f := <-c.Frames():
				for _, ev := range f.Events {
					seen[ev.Pos]++
					texts[ev.Text]++
				}
			case <-timeout:
				t.Fatalf("never saw %q; saw %v", until, texts)
			}
		}
	}
	if _, err := s.Send(cust.UserID, chat.Msg{Text: "one"}); err != nil {
		t.Fatal(err)
	}
	read("one")
	e.handler.Shutdown(ctx) // the first node goes away (1001) and takes no sockets
	if c.Hello().Agent == nil {
		t.Fatal("no hello")
	}
	if _, err := c.Send(ctx, s.ID(), wire.Message{Text: "across"}); err != nil {
		t.Fatalf("send across the move: %v", err)
	}
	if _, err := s.Send(cust.UserID, chat.Msg{Text: "two"}); err != nil {
		t.Fatal(err)
	}
	read("two")
	read("across")
	if hits := h2Hits(t, c); hits == "" {
		t.Fatal("the client is not on the second node")
	}
	for pos, n := range seen {
		if n != 1 {
			t.Errorf("event %d delivered %d times", pos, n)
		}
	}
	evs, _, _, _ := s.Read(cust.UserID, 0, nil)
	for _, ev := range evs {
		if ev.Pos < len(evs) && seen[ev.Pos] == 0 && ev.Kind != chat.Notice {
			t.Errorf("event %d (%s %q) never delivered", ev.Pos, ev.Kind, ev.Text)
		}
		if ev.Text == "across" {
			texts["stored-across"]++
		}
	}
	if texts["stored-across"] != 1 {
		t.Errorf("the send across the move is %d times in the transcript", texts["stored-across"])
	}
}

// h2Hits pings through the client: answered only if it moved on.
func h2Hits(t *testing.T, c *wire.Client) string {
	t.Helper()
	f, err := c.Do(ctxT(t), wire.Request{Op: wire.OpPing})
	if err != nil {
		return ""
	}
	return f.Type
}
