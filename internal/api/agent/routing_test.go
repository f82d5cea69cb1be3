package agent_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	wire "github.com/confab/confab/client/agent"
	"github.com/confab/confab/internal/api/agent"
	"github.com/confab/confab/internal/chat"
	"github.com/confab/confab/internal/routing"
	"github.com/confab/confab/internal/store"
	"github.com/confab/confab/internal/store/sqlite"
)

// offerOf waits for the offer frame of id.
func offerOf(t *testing.T, c *wire.Client, id string) wire.Frame {
	t.Helper()
	return waitFrame(t, c, func(f wire.Frame) bool { return f.Type == wire.FrameOffer && f.InteractionID == id })
}

// TestRoutingOpErrors sends every routing operation wrongly once: each is
// refused with its documented code and field, and nothing changes.
func TestRoutingOpErrors(t *testing.T) {
	e := newEnv(t, chat.Settings{}, func(o *agent.Options) { o.KnownQueue = func(q string) bool { return q == "q" || q == "other" } })
	ctx := ctxT(t)
	alice := e.dial(t, tokAlice)
	s, _ := e.customer(t, "q", false)
	if _, err := alice.Accept(ctx, s.ID(), wire.JoinOptions{}); err != nil {
		t.Fatal(err)
	}
	sync, _ := e.customer(t, "q", false)
	id := s.ID()
	for _, tt := range []struct {
		name, frame string
		code        int
		field       string
	}{
		{"bad state", `{"id":"r1","op":"state","state":"asleep"}`, wire.CodeBadRequest, "state"},
		{"reason without not-ready", `{"id":"r2","op":"state","state":"ready","reason":"lunch"}`, wire.CodeBadRequest, "reason"},
		{"reject without offer", `{"id":"r3","op":"reject","interactionId":"` + sync.ID() + `"}`, wire.CodeNoOffer, "interactionId"},
		{"reject without id", `{"id":"r4","op":"reject"}`, wire.CodeBadRequest, "interactionId"},
		{"transfer without to", `{"id":"r5","op":"transfer","sessionId":"` + id + `"}`, wire.CodeBadRequest, "to"},
		{"transfer to unknown agent", `{"id":"r6","op":"transfer","sessionId":"` + id + `","to":"zed"}`, wire.CodeBadRequest, "to"},
		{"transfer to unknown queue", `{"id":"r7","op":"transfer","sessionId":"` + id + `","to":"queue:nowhere"}`, wire.CodeBadRequest, "to"},
		{"transfer not in session", `{"id":"r8","op":"transfer","sessionId":"` + sync.ID() + `","to":"bob"}`, wire.CodeNotJoined, "sessionId"},
		{"transfer to offline agent", `{"id":"r9","op":"transfer","sessionId":"` + id + `","to":"bob"}`, wire.CodeUnavailable, "to"},
		{"transfer with visibility", `{"id":"r10","op":"transfer","sessionId":"` + id + `","to":"bob","visibility":"INT"}`, wire.CodeBadRequest, "visibility"},
		{"invite VIP", `{"id":"r11","op":"invite","sessionId":"` + id + `","to":"bob","visibility":"VIP"}`, wire.CodeBadRequest, "visibility"},
		{"monitor by an agent", `{"id":"r12","op":"monitor","sessionId":"` + id + `"}`, wire.CodeForbidden, "op"},
		{"barge-in by an agent", `{"id":"r13","op":"barge-in","sessionId":"` + id + `"}`, wire.CodeForbidden, "op"},
		{"hold of a regular chat", `{"id":"r14","op":"hold","sessionId":"` + id + `"}`, wire.CodeNotAsync, "sessionId"},
		{"hold not in session", `{"id":"r15","op":"hold","sessionId":"` + sync.ID() + `"}`, wire.CodeNotJoined, "sessionId"},
		{"bad workbin", `{"id":"r16","op":"workbin","workbin":"mine"}`, wire.CodeBadRequest, "workbin"},
		{"foreign queue workbin", `{"id":"r17","op":"workbin","workbin":"queue:other"}`, wire.CodeForbidden, "workbin"},
		{"history without session", `{"id":"r18","op":"history"}`, wire.CodeBadRequest, "sessionId"},
		{"history limit", `{"id":"r19","op":"history","sessionId":"` + id + `","limit":1000}`, wire.CodeBadRequest, "limit"},
		{"history limit type", `{"id":"r20","op":"history","sessionId":"` + id + `","limit":"5"}`, wire.CodeBadRequest, "limit"},
		{"history of a stranger's chat", `{"id":"r21","op":"history","sessionId":"` + sync.ID() + `"}`, wire.CodeForbidden, "sessionId"},
		{"join a stranger's chat", `{"id":"r22","op":"join","sessionId":"` + sync.ID() + `"}`, wire.CodeForbidden, "sessionId"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if err := alice.WriteRaw(ctx, []byte(tt.frame), false); err != nil {
				t.Fatal(err)
			}
			f := waitFrame(t, alice, func(f wire.Frame) bool { return f.Type == wire.FrameError })
			if f.Code != tt.code || f.Field != tt.field || f.Error != wire.ErrorNames[tt.code] {
				t.Fatalf("error frame = %+v; want code %d field %q", f, tt.code, tt.field)
			}
		})
	}
	if v, _ := e.router.Get(id); v.State != routing.Assigned || v.AgentID != "alice" {
		t.Fatalf("refused requests changed the interaction: %+v", v)
	}
	// A second socket of the same account has no routing state of its own.
	again := e.dial(t, tokAlice)
	if err := again.SetState(ctx, wire.StateReady, ""); codeOf(err) != wire.CodeLoggedIn {
		t.Fatalf("state on a second socket: %v", err)
	}
	// The supervisor of another queue may not monitor.
	sam := e.dial(t, tokSam)
	if _, err := sam.Monitor(ctx, id); codeOf(err) != wire.CodeForbidden {
		t.Fatalf("monitor by another queue's supervisor: %v", err)
	}
}

// TestHoldWorkbinAndHistoryOverTheSocket holds an async chat, lists the
// workbin, wakes the chat with a customer message, and pages the
// contact's history from the store.
func TestHoldWorkbinAndHistoryOverTheSocket(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, t.TempDir(), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close(ctx)
	contact, _, err := st.IdentifyContact(ctx, map[string]string{store.AttrEmailAddress: "kim@example.com"}, []string{store.AttrEmailAddress}, true)
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, chat.Settings{}, func(o *agent.Options) { o.History = st })
	s, cust := e.customer(t, "q", true)
	// Three earlier chats of the same contact, and the live one's record.
	for i, id := range []string{"old-1", "old-2", "old-3"} {
		if err := st.CreateInteraction(ctx, store.Interaction{ID: id, ContactID: contact, Queue: "q", CreatedAt: time.Unix(int64(1000+i), 0)}); err != nil {
			t.Fatal(err)
		}
		if err := st.CloseInteraction(ctx, id, time.Unix(int64(2000+i), 0), store.Bytes(json.RawMessage(`{"sessionId":"`+id+`"}`)), nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.CreateInteraction(ctx, store.Interaction{ID: s.ID(), ContactID: contact, Queue: "q", CreatedAt: s.CreatedAt()}); err != nil {
		t.Fatal(err)
	}
	c := ctxT(t)
	alice := e.dial(t, tokAlice)
	if err := alice.SetState(c, wire.StateReady, ""); err != nil {
		t.Fatal(err)
	}
	offerOf(t, alice, s.ID())
	if _, err := alice.Accept(c, s.ID(), wire.JoinOptions{}); err != nil {
		t.Fatal(err)
	}
	page, err := alice.History(c, s.ID(), 2, "")
	if err != nil || page.ContactID != contact || len(page.Entries) != 2 || page.Entries[0].ID != "old-1" || page.NextAfter != "old-2" ||
		string(page.Entries[0].Transcript) != `{"sessionId":"old-1"}` {
		t.Fatalf("history page 1 = %+v, %v", page, err)
	}
	page, err = alice.History(c, s.ID(), 2, page.NextAfter)
	if err != nil || len(page.Entries) != 1 || page.Entries[0].ID != "old-3" || page.NextAfter != "" {
		t.Fatalf("history page 2 = %+v, %v", page, err)
	}
	if _, err := alice.History(c, s.ID(), 2, "no-such"); codeOf(err) != wire.CodeBadRequest {
		t.Fatalf("history after an unknown id: %v", err)
	}

	ix, err := alice.Hold(c, s.ID(), "")
	if err != nil || ix.State != "held" || ix.AsyncStatus != routing.AsyncOnHold {
		t.Fatalf("hold = %+v, %v", ix, err)
	}
	bin, err := alice.Workbin(c, "")
	if err != nil || len(bin) != 1 || bin[0].ID != s.ID() {
		t.Fatalf("workbin = %+v, %v", bin, err)
	}
	if _, err := alice.Send(c, s.ID(), wire.Message{Text: "x"}); codeOf(err) != wire.CodeNotJoined {
		t.Fatalf("send after hold: %v", err)
	}
	// The customer writes: the chat is offered to alice again (wake).
	if _, err := s.Send(cust.UserID, chat.Msg{Text: "I am back"}); err != nil {
		t.Fatal(err)
	}
	if f := offerOf(t, alice, s.ID()); f.OfferKind != wire.OfferWake || f.Interaction.AsyncStatus != routing.AsyncCustomerReplied {
		t.Fatalf("wake offer %+v", f)
	}
	if _, err := alice.Join(c, s.ID(), wire.JoinOptions{}); err != nil { // joining an offered chat accepts it
		t.Fatalf("join of the offered chat: %v", err)
	}
	if bin, _ := alice.Workbin(c, ""); len(bin) != 0 {
		t.Fatalf("workbin after the wake: %+v", bin)
	}
}
