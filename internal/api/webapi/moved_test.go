package webapi_test

import (
	"errors"
	"testing"

	"github.com/confab/confab/client/chatv2"
	"github.com/confab/confab/internal/api/webapi"
	"github.com/confab/confab/internal/chat"
)

// TestMovedClosesPushSockets: when the cluster drops a chat from this
// node's engine, Moved closes its push sockets with 4010 and the position
// to resume from (every frame sent before it), and a socket opened after
// the drop is closed the same way at once instead of stalling.
func TestMovedClosesPushSockets(t *testing.T) {
	h := startAPI(t, nil, nil, webapi.Options{})
	ctx := ctxT(t)
	c, s, agent := h.newChat(ctx, "Ann")
	sub, err := c.Subscribe(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	durable(t)(s.Send(agent.UserID, chat.Msg{Text: "before the move"}))
	var seen []chatv2.Message
	for !hasMessage(seen, "before the move") {
		r, err := sub.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		seen = append(seen, r.Messages...)
	}
	want := seen[len(seen)-1].Index + 1
	if n := h.api.Moved("no-such-chat"); n != 0 {
		t.Fatalf("Moved of an unknown chat closed %d sockets", n)
	}
	if !h.engine.Drop(c.ID) {
		t.Fatal("the engine did not hold the chat")
	}
	if n := h.api.Moved(c.ID); n != 1 {
		t.Fatalf("Moved closed %d sockets, want 1", n)
	}
	_, err = sub.Next(ctx)
	var ce *chatv2.ClosedError
	if !errors.As(err, &ce) || ce.Code != int(webapi.CloseMoved) || ce.Resume != want {
		t.Fatalf("after Moved: %v, want close code %d resuming from %d", err, webapi.CloseMoved, want)
	}
}

// TestMovedRacingSubscribe: a socket whose handshake authenticated against
// a session that was dropped before it registered is closed with 4010.
func TestMovedRacingSubscribe(t *testing.T) {
	h := startAPI(t, nil, nil, webapi.Options{})
	ctx := ctxT(t)
	c, s, _ := h.newChat(ctx, "Bob")
	webapi.BeforePushRegister(h.api, func() { h.engine.Drop(s.ID()) })
	sub, err := c.Subscribe(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	_, err = sub.Next(ctx)
	var ce *chatv2.ClosedError
	if !errors.As(err, &ce) || ce.Code != int(webapi.CloseMoved) {
		t.Fatalf("a socket opened while its chat was dropped: %v, want close code %d", err, webapi.CloseMoved)
	}
}
