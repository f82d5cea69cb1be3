package agent_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	wire "github.com/confab/confab/client/agent"
	"github.com/confab/confab/internal/api/agent"
	"github.com/confab/confab/internal/chat"
	"github.com/confab/confab/internal/routing"
)

// heldMessages is a journal whose messages become durable only when
// released; other events are durable at once.
type heldMessages struct {
	release chan struct{}
}

type heldWaiter struct{ release chan struct{} }

func (w heldWaiter) Wait(ctx context.Context) error {
	select {
	case <-w.release:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (j heldMessages) SessionCreated(*chat.Info) chat.Waiter { return nil }
func (j heldMessages) SessionUpdated(*chat.Info) chat.Waiter { return nil }
func (j heldMessages) SessionClosed(*chat.Final) chat.Waiter { return nil }
func (j heldMessages) EventAppended(_ string, ev *chat.Event) chat.Waiter {
	if ev.Kind == chat.Message {
		return heldWaiter{j.release}
	}
	return nil
}

// TestAnswersInOrderPastADurableWait: a ping sent after a message whose
// store write is still pending is answered after it, although the ping
// itself waits for nothing (the read loop answers such a request at once
// only while no earlier answer is pending).
func TestAnswersInOrderPastADurableWait(t *testing.T) {
	held := heldMessages{release: make(chan struct{})}
	var journals chat.Journals
	engine := chat.New(chat.Options{Journal: &journals, Settings: chat.DefaultSettings})
	router := routing.New(routing.Options{Engine: engine})
	journals = append(journals, held, router)
	pinged := make(chan struct{}, 4) // a ping handled (its answer queued or pending)
	h := agent.New(agent.Options{Engine: engine, Router: router, Agents: testAgents, MaxFrame: func() int { return 4096 },
		Frame: func(op string, _ time.Duration, _ bool) {
			if op == wire.OpPing {
				pinged <- struct{}{}
			}
		}})
	mux := http.NewServeMux()
	h.Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		h.Shutdown(ctx)
		srv.Close()
		router.Flush(ctx)
	})
	e := &env{engine: engine, router: router, handler: h, srv: srv, url: srv.URL}
	s, _ := e.customer(t, "default", false)

	ctx := ctxT(t)
	ws, _, err := websocket.Dial(ctx, strings.Replace(srv.URL, "http", "ws", 1)+wire.Path,
		&websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + tokAlice}}})
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	ws.SetReadLimit(1 << 20)
	send := func(frame string) {
		t.Helper()
		if err := ws.Write(ctx, websocket.MessageText, []byte(frame)); err != nil {
			t.Fatal(err)
		}
	}
	// results reads frames until it has the result or error frames of n
	// requests, and returns their ids in the order they came.
	results := func(n int) []string {
		t.Helper()
		var ids []string
		for len(ids) < n {
			_, b, err := ws.Read(ctx)
			if err != nil {
				t.Fatalf("read: %v (answers so far %v)", err, ids)
			}
			var f wire.Frame
			if err := json.Unmarshal(b, &f); err != nil {
				t.Fatal(err)
			}
			if f.Type == wire.FrameResult || f.Type == wire.FrameError {
				if f.Type == wire.FrameError {
					t.Fatalf("request %s: %s", f.ID, b)
				}
				ids = append(ids, f.ID)
			}
		}
		return ids
	}
	send(`{"id":"j1","op":"accept","interactionId":"` + s.ID() + `"}`)
	if got := results(1); got[0] != "j1" {
		t.Fatalf("answers %v", got)
	}
	send(`{"id":"s1","op":"send","sessionId":"` + s.ID() + `","text":"held"}`)
	send(`{"id":"p1","op":"ping"}`)
	select {
	case <-pinged:
	case <-ctx.Done():
		t.Fatal("the ping was not handled")
	}
	close(held.release) // the ping has been handled; now the message is durable
	if got := results(2); got[0] != "s1" || got[1] != "p1" {
		t.Fatalf("answers in the order %v, want [s1 p1]", got)
	}
	// With nothing pending, a ping is answered at once.
	send(`{"id":"p2","op":"ping"}`)
	if got := results(1); got[0] != "p2" {
		t.Fatalf("answers %v", got)
	}
}
